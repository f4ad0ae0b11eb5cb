import { test } from "node:test";
import assert from "node:assert/strict";
import { RandomBalancer } from "../../src/routing/balancers/random.js";
import { RoundRobinBalancer } from "../../src/routing/balancers/round-robin.js";
import { createBalancer } from "../../src/routing/balancers/index.js";
import type { Instance } from "../../src/routing/instance.js";

const instance = (id: string): Instance => ({ id, address: "127.0.0.1", port: 1, tags: [], meta: {} });
const three = Object.freeze([instance("c"), instance("a"), instance("b")]);

function counts(pick: () => Instance, n: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const id = pick().id;
    out[id] = (out[id] ?? 0) + 1;
  }
  return out;
}

test("round-robin visits every instance once per cycle, in id order", () => {
  const rr = new RoundRobinBalancer();
  assert.deepEqual(
    Array.from({ length: 6 }, () => rr.pick("web", three).id),
    ["a", "b", "c", "a", "b", "c"],
  );
});

test("round-robin keeps separate turns per service", () => {
  const rr = new RoundRobinBalancer();
  rr.pick("web", three);
  assert.equal(rr.pick("api", three).id, "a");
  assert.equal(rr.pick("web", three).id, "b");
});

test("round-robin stays even when the list is replaced by a reordered copy", () => {
  const rr = new RoundRobinBalancer();
  const reordered = Object.freeze([instance("b"), instance("c"), instance("a")]);
  const seen = [rr.pick("web", three).id, rr.pick("web", reordered).id, rr.pick("web", three).id];
  assert.deepEqual(seen.sort(), ["a", "b", "c"]);
});

test("round-robin over a shrunk list still picks only existing instances", () => {
  const rr = new RoundRobinBalancer();
  for (let i = 0; i < 5; i++) rr.pick("web", three);
  const two = Object.freeze([instance("a"), instance("b")]);
  const c = counts(() => rr.pick("web", two), 10);
  assert.deepEqual(c, { a: 5, b: 5 });
});

test("random maps the random number onto the list (deterministic source)", () => {
  const values = [0, 0.34, 0.99];
  let i = 0;
  const random = new RandomBalancer(() => values[i++]!);
  assert.deepEqual([random.pick("web", three).id, random.pick("web", three).id, random.pick("web", three).id], ["c", "a", "b"]);
});

test("random spreads 3000 picks over three instances, each within 25% of even", () => {
  // With p = 1/3 and n = 3000, one standard deviation is ~26 picks; ±250 is ~10 sigma.
  const c = counts(() => createBalancer("random").pick("web", three), 3000);
  for (const id of ["a", "b", "c"]) assert.ok(Math.abs(c[id]! - 1000) < 250, `${id}: ${c[id]}`);
});
