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

test("forget drops idle instances at once, and those with requests in flight when the last one ends", () => {
  const registry = new InstanceStatsRegistry();
  registry.observe(["idle", "busy"]);
  const busy = registry.get("busy");
  busy.inFlight = 2;
  registry.forget(["idle", "busy", "never-seen"]);
  assert.equal(registry.peek("idle"), undefined);
  assert.equal(registry.peek("busy")?.inFlight, 2);
  assert.equal(registry.size, 1);
  busy.inFlight -= 1;
  registry.release(busy);
  assert.equal(registry.size, 1, "one request still in flight");
  busy.inFlight -= 1;
  registry.release(busy);
  assert.equal(registry.size, 0);
});

test("a lookup of an instance that left does not bring its record back", () => {
  const registry = new InstanceStatsRegistry();
  registry.observe(["gone"]);
  registry.forget(["gone"]);
  const stale = registry.get("gone");
  stale.inFlight += 1;
  stale.inFlight -= 1;
  registry.release(stale);
  assert.equal(registry.peek("gone"), undefined);
  assert.equal(registry.size, 0);
});

test("an instance that comes back while requests to its old self are in flight keeps its record", () => {
  const registry = new InstanceStatsRegistry();
  registry.observe(["flap"]);
  const record = registry.get("flap");
  record.inFlight = 1;
  registry.forget(["flap"]);
  registry.observe(["flap"]);
  record.inFlight = 0;
  registry.release(record);
  assert.equal(registry.peek("flap"), record);
});

test("observe marks the records it creates as warm-up exempt when asked, and leaves existing ones alone", () => {
  const registry = new InstanceStatsRegistry();
  registry.observe(["old"], { warmUpExempt: true });
  registry.observe(["old", "new"]);
  assert.equal(registry.get("old").warmUpExempt, true);
  assert.equal(registry.get("new").warmUpExempt, false);
  assert.equal(registry.get("new").currentWeight, 0);
});
