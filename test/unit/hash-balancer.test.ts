import { test } from "node:test";
import assert from "node:assert/strict";
import { HashBalancer } from "../../src/routing/balancers/hash.js";
import { parseHashKey, type HashKey } from "../../src/balancer-options.js";
import { requestHashKey } from "../../src/routing/balancers/hash-key.js";
import type { PickRequest } from "../../src/routing/balancers/balancer.js";
import type { Instance } from "../../src/discovery/instance.js";
import { instance } from "../support/instances.js";

const byHeader: HashKey = { source: "header", name: "x-user" };
const equal = (): number => 1;
const userRequest = (user: string): PickRequest => ({ headers: { "x-user": user }, clientAddress: "192.0.2.1" });
const users = Array.from({ length: 3000 }, (_, i) => `user-${i}`);

/** Which instance each user lands on. */
function assignment(balancer: HashBalancer, instances: readonly Instance[]): Map<string, string> {
  return new Map(users.map((user) => [user, balancer.pick("web", instances, userRequest(user)).id]));
}

test("hash: the same key always lands on the same instance, whatever the list order", () => {
  const balancer = new HashBalancer(equal, byHeader);
  const list = [instance("a"), instance("b"), instance("c")];
  const first = balancer.pick("web", list, userRequest("alice")).id;
  for (let i = 0; i < 20; i++) assert.equal(balancer.pick("web", [...list].reverse(), userRequest("alice")).id, first);
});

test("hash: 3000 keys spread evenly over three instances", () => {
  const counts = new Map<string, number>();
  for (const id of assignment(new HashBalancer(equal, byHeader), [instance("a"), instance("b"), instance("c")]).values()) counts.set(id, (counts.get(id) ?? 0) + 1);
  // A well-mixed hash behaves like independent draws: p = 1/3, n = 3000, one standard deviation ~26; ±150 is ~5.8 sigma.
  for (const id of ["a", "b", "c"]) assert.ok(Math.abs((counts.get(id) ?? 0) - 1000) < 150, `${id}: ${counts.get(id)}`);
});

test("hash: when an instance leaves, only its keys move", () => {
  const balancer = new HashBalancer(equal, byHeader);
  const before = assignment(balancer, [instance("a"), instance("b"), instance("c")]);
  const after = assignment(balancer, [instance("a"), instance("b")]);
  for (const user of users) {
    if (before.get(user) !== "c") assert.equal(after.get(user), before.get(user), `${user} moved from ${before.get(user)}`);
  }
});

test("hash: when an instance arrives, keys move only to it, about 1/n of them", () => {
  const balancer = new HashBalancer(equal, byHeader);
  const before = assignment(balancer, [instance("a"), instance("b"), instance("c")]);
  const after = assignment(balancer, [instance("a"), instance("b"), instance("c"), instance("d")]);
  let moved = 0;
  for (const user of users) {
    if (after.get(user) === before.get(user)) continue;
    assert.equal(after.get(user), "d", `${user} moved between old instances`);
    moved += 1;
  }
  // p = 1/4, n = 3000: expected 750, one standard deviation ~24; ±120 is 5 sigma.
  assert.ok(Math.abs(moved - 750) < 120, `moved: ${moved}`);
});

test("hash: weights divide the keys (weighted rendezvous)", () => {
  const weights = new Map([["heavy", 3], ["light", 1]]);
  const balancer = new HashBalancer((i) => weights.get(i.id)!, byHeader);
  const heavy = [...assignment(balancer, [instance("heavy"), instance("light")]).values()].filter((id) => id === "heavy").length;
  // p = 3/4, n = 3000: one standard deviation ~24; ±120 is 5 sigma.
  assert.ok(Math.abs(heavy - 2250) < 120, `heavy: ${heavy}`);
});

test("hash: a rising weight (warm-up) only ever pulls keys towards that instance", () => {
  let youngWeight = 0.1;
  const balancer = new HashBalancer((i) => (i.id === "young" ? youngWeight : 1), byHeader);
  const list = [instance("a"), instance("b"), instance("young")];
  let previous = assignment(balancer, list);
  for (const weight of [0.4, 0.7, 1]) {
    youngWeight = weight;
    const next = assignment(balancer, list);
    for (const user of users) {
      if (next.get(user) !== previous.get(user)) assert.equal(next.get(user), "young", `${user} moved ${previous.get(user)} → ${next.get(user)}`);
      if (previous.get(user) === "young") assert.equal(next.get(user), "young");
    }
    previous = next;
  }
});

test("hash keys: header, cookie, client address, and the client-address fallback", () => {
  assert.deepEqual(parseHashKey("header:X-User-Id"), { source: "header", name: "x-user-id" });
  assert.deepEqual(parseHashKey("cookie:Session"), { source: "cookie", name: "Session" });
  assert.deepEqual(parseHashKey("client-address"), { source: "client-address" });
  for (const bad of ["", "header:", "cookie:a b", "query:x", "header"]) assert.equal(parseHashKey(bad), undefined, bad);

  const request: PickRequest = { headers: { "x-user-id": "42", cookie: "theme=dark; Session=abc=1" }, clientAddress: "198.51.100.7" };
  assert.equal(requestHashKey(request, parseHashKey("header:X-User-Id")!), "header:42");
  assert.equal(requestHashKey(request, parseHashKey("cookie:Session")!), "cookie:abc=1");
  assert.equal(requestHashKey(request, parseHashKey("client-address")!), "client-address:198.51.100.7");
  assert.equal(requestHashKey(request, parseHashKey("header:X-Missing")!), "client-address:198.51.100.7");
  assert.equal(requestHashKey(request, parseHashKey("cookie:missing")!), "client-address:198.51.100.7");
});
