import { test } from "node:test";
import assert from "node:assert/strict";
import { RandomBalancer } from "../../src/routing/balancers/random.js";
import type { BalancerName } from "../../src/balancer-options.js";
import { createBalancer, ServiceBalancers } from "../../src/routing/balancers/index.js";
import type { PickRequest } from "../../src/routing/balancers/balancer.js";
import { InstanceStatsRegistry } from "../../src/routing/instance-stats.js";
import { TrafficWeights } from "../../src/routing/traffic-weights.js";
import type { Instance } from "../../src/discovery/instance.js";
import { counts, instance, seededRandom } from "../support/instances.js";

const request: PickRequest = { headers: {}, clientAddress: "192.0.2.1" };
const three = Object.freeze([instance("c"), instance("a"), instance("b")]);

/** Balancers over a fresh stats registry, warm-up off unless asked. */
function setup(random?: () => number) {
  const stats = new InstanceStatsRegistry();
  const weights = new TrafficWeights(stats, { warmUpMs: 0, warningWeightPercent: 10 });
  const deps = { stats, weights, hashKey: { source: "client-address" } as const, ...(random ? { random } : {}) };
  return { stats, weights, deps, make: (name: BalancerName) => createBalancer(name, deps) };
}

const picks = (balancer: { pick: (s: string, i: readonly Instance[], r: PickRequest) => Instance }, instances: readonly Instance[], n: number, service = "web") =>
  Array.from({ length: n }, () => balancer.pick(service, instances, request).id);

test("round-robin visits every instance once per cycle, in id order", () => {
  assert.deepEqual(picks(setup().make("round-robin"), three, 6), ["a", "b", "c", "a", "b", "c"]);
});

test("round-robin keeps separate turns per service (its state is per instance)", () => {
  const rr = setup().make("round-robin");
  const web = [instance("web-1"), instance("web-2"), instance("web-3")];
  const api = [instance("api-1"), instance("api-2")];
  const seen = [rr.pick("web", web, request).id, rr.pick("api", api, request).id, rr.pick("web", web, request).id, rr.pick("api", api, request).id, rr.pick("api", api, request).id];
  assert.deepEqual(seen, ["web-1", "api-1", "web-2", "api-2", "api-1"]);
});

test("round-robin keeps its place when the list is replaced by a reordered copy (a table swap)", () => {
  const rr = setup().make("round-robin");
  const reordered = Object.freeze([instance("b"), instance("c"), instance("a")]);
  const seen = [rr.pick("web", three, request).id, rr.pick("web", reordered, request).id, rr.pick("web", three, request).id];
  assert.deepEqual(seen, ["a", "b", "c"]);
});

test("round-robin over a shrunk list still picks only existing instances, evenly", () => {
  const rr = setup().make("round-robin");
  picks(rr, three, 5);
  const two = Object.freeze([instance("a"), instance("b")]);
  assert.deepEqual(counts(() => rr.pick("web", two, request), 10), { a: 5, b: 5 });
});

test("round-robin treats instances as equals whatever their Consul weights", () => {
  const weighted = [instance("a", { weights: { passing: 5, warning: 1 } }), instance("b"), instance("c")];
  const rr = setup().make("round-robin");
  assert.deepEqual(counts(() => rr.pick("web", weighted, request), 30), { a: 10, b: 10, c: 10 });
});

test("weighted: smooth weighted round-robin interleaves a 5/1/1 cycle exactly as nginx does", () => {
  const list = [instance("a", { weights: { passing: 5, warning: 1 } }), instance("b"), instance("c")];
  const balancer = setup().make("weighted");
  assert.deepEqual(picks(balancer, list, 7), ["a", "a", "b", "a", "c", "a", "a"]);
  // Every full cycle (7 picks) gives each instance exactly its weight.
  assert.deepEqual(counts(() => balancer.pick("web", list, request), 70), { a: 50, b: 10, c: 10 });
});

test("weighted: the gateway-weight meta key sets the weight when the registration cannot set Consul's Weights", () => {
  const list = [instance("a", { meta: { "gateway-weight": "3" } }), instance("b"), instance("c", { meta: { "gateway-weight": "nonsense" } })];
  const balancer = setup().make("weighted");
  assert.deepEqual(counts(() => balancer.pick("web", list, request), 50), { a: 30, b: 10, c: 10 });
});

test("weighted: a table swap that keeps the instances keeps the cycle exact", () => {
  const { make } = setup();
  const balancer = make("weighted");
  const before = Object.freeze([instance("a", { weights: { passing: 3, warning: 1 } }), instance("b", { weights: { passing: 2, warning: 1 } })]);
  const after = Object.freeze([...before].reverse().map((i) => ({ ...i })));
  const seen = [...picks(balancer, before, 2), ...picks(balancer, after, 3)];
  assert.deepEqual(seen.sort(), ["a", "a", "a", "b", "b"]);
});

test("random maps the random number onto the list (deterministic source)", () => {
  const values = [0, 0.34, 0.99];
  let i = 0;
  const { weights } = setup();
  const random = new RandomBalancer((x) => weights.share(x), () => values[i++]!);
  assert.deepEqual(picks(random, three, 3), ["c", "a", "b"]);
});

test("random spreads 3000 picks over three instances, each within 25% of even, Consul weights aside", () => {
  // With p = 1/3 and n = 3000, one standard deviation is ~26 picks; ±250 is ~10 sigma.
  const list = [instance("a", { weights: { passing: 5, warning: 1 } }), instance("b"), instance("c")];
  const random = setup().make("random");
  const c = counts(() => random.pick("web", list, request), 3000);
  for (const id of ["a", "b", "c"]) assert.ok(Math.abs(c[id]! - 1000) < 250, `${id}: ${c[id]}`);
});

test("least-request never picks an instance that has more requests in flight than all the others", () => {
  // Two distinct candidates are compared, so the busiest instance loses every pair it is in.
  const { stats, make } = setup(seededRandom(1));
  stats.get("c").inFlight = 5;
  const c = counts(() => make("least-request").pick("web", three, request), 3000);
  assert.equal(c.c, undefined);
  // a and b each win their pair with c, and half of their pair with each other: 1/2 each.
  // n = 3000, p = 1/2: one standard deviation is ~27; ±150 is ~5.5 sigma.
  for (const id of ["a", "b"]) assert.ok(Math.abs(c[id]! - 1500) < 150, `${id}: ${c[id]}`);
});

test("least-request compares requests in flight per unit of weight", () => {
  const { stats, make } = setup(seededRandom(2));
  const list = [instance("big", { weights: { passing: 4, warning: 1 } }), instance("small")];
  stats.get("big").inFlight = 2; // 0.5 per unit of weight
  stats.get("small").inFlight = 1; // 1 per unit of weight
  assert.deepEqual(counts(() => make("least-request").pick("web", list, request), 100), { big: 100 });
});

test("least-request at rest follows the weights (the first draw wins a tie)", () => {
  const { make } = setup(seededRandom(3));
  const list = [instance("a", { weights: { passing: 3, warning: 1 } }), instance("b")];
  const c = counts(() => make("least-request").pick("web", list, request), 4000);
  // p = 3/4, n = 4000: one standard deviation is ~27; ±150 is ~5.5 sigma.
  assert.ok(Math.abs(c.a! - 3000) < 150, `a: ${c.a}`);
});

test("least-request with one instance picks it", () => {
  assert.equal(setup().make("least-request").pick("web", [instance("only")], request).id, "only");
});

test("per-service choice: the config map first, then the services' gateway-balancer meta (majority), then the default", () => {
  const { deps } = setup();
  const balancers = new ServiceBalancers({ defaultBalancer: "random", serviceBalancers: new Map([["pinned", "round-robin"]]) }, deps);
  const metaWeighted = Object.freeze([
    instance("a", { meta: { "gateway-balancer": "weighted" }, weights: { passing: 2, warning: 1 } }),
    instance("b", { meta: { "gateway-balancer": "weighted" } }),
    instance("c", { meta: { "gateway-balancer": "hash" } }),
  ]);
  // The majority says weighted: a 2/1/1 cycle, exactly.
  assert.deepEqual(counts(() => balancers.pick("svc", metaWeighted, request), 40), { a: 20, b: 10, c: 10 });
  // The config map overrides the meta: round-robin ignores the weights.
  const pinned = Object.freeze(metaWeighted.map((i) => ({ ...i, id: `p-${i.id}` })));
  assert.deepEqual(counts(() => balancers.pick("pinned", pinned, request), 30), { "p-a": 10, "p-b": 10, "p-c": 10 });
  // An unknown meta value is ignored: the default applies.
  const unknown = Object.freeze([instance("u", { meta: { "gateway-balancer": "fastest" } })]);
  assert.equal(balancers.balancerFor("other", unknown), balancers.balancerFor("other2", Object.freeze([instance("v")])));
});

test("per-service choice: a service can pick its hash key in meta", () => {
  const { deps } = setup();
  const balancers = new ServiceBalancers({ defaultBalancer: "random", serviceBalancers: new Map() }, deps);
  const list = Object.freeze(
    ["a", "b", "c", "d"].map((id) => instance(id, { meta: { "gateway-balancer": "hash", "gateway-hash-key": "header:X-User" } })),
  );
  for (const user of ["u1", "u2", "u3", "u4", "u5"]) {
    const chosen = new Set(Array.from({ length: 5 }, (_, i) => balancers.pick("svc", list, { headers: { "x-user": user }, clientAddress: `10.0.0.${i}` }).id));
    assert.equal(chosen.size, 1, `user ${user} spread over ${[...chosen].join(", ")}`);
  }
});
