import { test } from "node:test";
import assert from "node:assert/strict";
import { InstanceStatsRegistry } from "../../src/routing/instance-stats.js";

test("a record is created once per id and keeps its first-seen time", () => {
  let now = 1000;
  const registry = new InstanceStatsRegistry(() => now);
  registry.observe(["a"]);
  now = 5000;
  registry.observe(["a", "b"]);
  assert.equal(registry.get("a").firstSeenAt, 1000);
  assert.equal(registry.get("b").firstSeenAt, 5000);
  assert.equal(registry.get("a"), registry.get("a"));
});

test("forget drops idle instances but keeps those with requests in flight", () => {
  const registry = new InstanceStatsRegistry();
  registry.get("idle");
  registry.get("busy").inFlight = 2;
  registry.forget(["idle", "busy", "never-seen"]);
  assert.equal(registry.peek("idle"), undefined);
  assert.equal(registry.peek("busy")?.inFlight, 2);
});

test("observe marks the records it creates as warm-up exempt when asked, and leaves existing ones alone", () => {
  const registry = new InstanceStatsRegistry();
  registry.observe(["old"], { warmUpExempt: true });
  registry.observe(["old", "new"]);
  assert.equal(registry.get("old").warmUpExempt, true);
  assert.equal(registry.get("new").warmUpExempt, false);
  assert.equal(registry.get("lazy").warmUpExempt, false);
  assert.equal(registry.get("new").currentWeight, 0);
});
