import { test } from "node:test";
import assert from "node:assert/strict";
import { warmUpFactor } from "../../src/routing/warm-up.js";
import type { BalancerName } from "../../src/balancer-options.js";
import { createBalancer } from "../../src/routing/balancers/index.js";
import { InstanceStatsRegistry } from "../../src/routing/instance-stats.js";
import { TrafficWeights } from "../../src/routing/traffic-weights.js";
import type { PickRequest } from "../../src/routing/balancers/balancer.js";
import { counts, instance, seededRandom } from "../support/instances.js";

const WINDOW = 60_000;
const request: PickRequest = { headers: {}, clientAddress: "192.0.2.1" };
const list = Object.freeze([instance("old-1"), instance("old-2"), instance("young")]);

/** Two instances known from the start (exempt) and one that arrives at `now` = 0, with a clock the test moves. */
function setup(name: BalancerName) {
  let now = 0;
  const stats = new InstanceStatsRegistry(() => now);
  stats.observe(["old-1", "old-2"], { warmUpExempt: true });
  stats.observe(["young"]);
  const weights = new TrafficWeights(stats, { warmUpMs: WINDOW, warningWeightPercent: 10 });
  const balancer = createBalancer(name, { stats, weights, hashKey: { source: "client-address" }, random: seededRandom(7) });
  return {
    weights,
    at(ms: number) {
      now = ms;
    },
    tally: (n: number) => counts(() => balancer.pick("web", list, request), n),
  };
}

test("the warm-up factor starts at 10% and rises linearly to full over the window; 0 turns it off", () => {
  assert.equal(warmUpFactor(0, WINDOW), 0.1);
  assert.equal(warmUpFactor(WINDOW / 2, WINDOW), 0.55);
  assert.equal(warmUpFactor(WINDOW, WINDOW), 1);
  assert.equal(warmUpFactor(10 * WINDOW, WINDOW), 1);
  assert.equal(warmUpFactor(0, 0), 1);
});

test("instances known when the service was first seen are exempt; a later one warms up", () => {
  const { weights, at } = setup("round-robin");
  at(0);
  assert.equal(weights.warmUp(instance("old-1")), 1);
  assert.equal(weights.warmUp(instance("young")), 0.1);
  at(WINDOW / 4);
  assert.equal(weights.warmUp(instance("young")), 0.1 + 0.9 / 4);
});

test("round-robin: a new instance's share ramps 0.1/2.1 → 0.55/2.55 → even over the window", () => {
  const { at, tally } = setup("round-robin");
  at(0);
  // Weights 1, 1, 0.1: one pick in 21 goes to the young instance (±1 for floating-point ties).
  const start = tally(210);
  assert.ok(Math.abs(start.young! - 10) <= 1, `start: ${JSON.stringify(start)}`);
  at(WINDOW / 2);
  const middle = tally(255);
  assert.ok(Math.abs(middle.young! - 55) <= 1, `middle: ${JSON.stringify(middle)}`);
  at(WINDOW);
  const end = tally(300);
  for (const id of ["old-1", "old-2", "young"]) assert.ok(Math.abs(end[id]! - 100) <= 1, `end: ${JSON.stringify(end)}`);
});

test("random: a new instance gets about a tenth of an old one's share at first", () => {
  const { at, tally } = setup("random");
  at(0);
  const c = tally(4200);
  // p = 0.1/2.1 ≈ 0.048, n = 4200: expected 200, one standard deviation ~14; ±70 is 5 sigma.
  assert.ok(Math.abs(c.young! - 200) < 70, JSON.stringify(c));
});

test("least-request at rest: a new instance is drawn in proportion to its reduced weight", () => {
  const { at, tally } = setup("least-request");
  at(0);
  const c = tally(4200);
  // At rest the first draw wins: p = 0.1/2.1, n = 4200: expected 200, one standard deviation ~14; ±70 is 5 sigma.
  assert.ok(Math.abs(c.young! - 200) < 70, JSON.stringify(c));
});

test("weighted: warm-up scales the registered weight", () => {
  let now = 0;
  const stats = new InstanceStatsRegistry(() => now);
  stats.observe(["old"], { warmUpExempt: true });
  stats.observe(["young"]);
  const weights = new TrafficWeights(stats, { warmUpMs: WINDOW, warningWeightPercent: 10 });
  // Registered 10 and 20: at the start the young one counts 2, at the end 20.
  assert.equal(weights.weight(instance("young", { weights: { passing: 20, warning: 1 } })), 2);
  now = WINDOW;
  assert.equal(weights.weight(instance("young", { weights: { passing: 20, warning: 1 } })), 20);
  assert.equal(weights.weight(instance("old", { weights: { passing: 10, warning: 1 } })), 10);
});
