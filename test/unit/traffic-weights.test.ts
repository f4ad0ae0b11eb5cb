import { test } from "node:test";
import assert from "node:assert/strict";
import { healthWeight, registeredWeight, TrafficWeights } from "../../src/routing/traffic-weights.js";
import { InstanceStatsRegistry } from "../../src/routing/instance-stats.js";
import { instance } from "../support/instances.js";

test("the registered weight is Consul's Weights.Passing, or the gateway-weight meta key when it is a positive integer", () => {
  assert.equal(registeredWeight(instance("a", { weights: { passing: 4, warning: 1 } })), 4);
  assert.equal(registeredWeight(instance("a", { meta: { "gateway-weight": "7" } })), 7);
  for (const bad of ["0", "-3", "1.5", "", "lots"]) assert.equal(registeredWeight(instance("a", { meta: { "gateway-weight": bad } })), 1, bad);
});

test("a warning instance weighs the configured percentage of its passing weight (Consul's default Weights)", () => {
  const warning = instance("a", { health: "warning", weights: { passing: 1, warning: 1 } });
  assert.equal(healthWeight(warning, 10), 0.1);
  assert.equal(healthWeight(instance("b", { health: "warning", weights: { passing: 10, warning: 10 } }), 50), 5);
});

test("a warning instance whose registration chose a lower Weights.Warning gets exactly that", () => {
  assert.equal(healthWeight(instance("a", { health: "warning", weights: { passing: 10, warning: 3 } }), 10), 3);
  // While passing, Weights.Warning plays no part.
  assert.equal(healthWeight(instance("a", { weights: { passing: 10, warning: 3 } }), 10), 10);
});

test("share is the weight relative to the instance's own registered weight, for balancers that treat instances as equals", () => {
  const weights = new TrafficWeights(new InstanceStatsRegistry(), { warmUpMs: 0, warningWeightPercent: 25 });
  assert.equal(weights.share(instance("a", { weights: { passing: 8, warning: 8 } })), 1);
  assert.equal(weights.share(instance("b", { health: "warning", weights: { passing: 8, warning: 8 } })), 0.25);
  assert.equal(weights.share(instance("c", { health: "warning", weights: { passing: 8, warning: 2 } })), 0.25);
  assert.equal(weights.weight(instance("d", { health: "warning", weights: { passing: 8, warning: 2 } })), 2);
});
