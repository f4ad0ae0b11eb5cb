import { test } from "node:test";
import assert from "node:assert/strict";
import { applyWatcherMessage } from "../../src/gateway/route-updates.js";
import { InstanceStatsRegistry } from "../../src/routing/instance-stats.js";
import { RouteStore } from "../../src/routing/route-store.js";
import { instance } from "../support/instances.js";

test("a service's first list marks its instances warm-up exempt; instances that arrive later are not", () => {
  let now = 1000;
  const store = new RouteStore();
  const stats = new InstanceStatsRegistry(() => now);
  applyWatcherMessage(store, stats, { type: "service", service: "web", index: "1", instances: [instance("a"), instance("b")] });
  now = 2000;
  applyWatcherMessage(store, stats, { type: "service", service: "web", index: "2", instances: [instance("a"), instance("b"), instance("c")] });
  assert.equal(stats.get("a").warmUpExempt, true);
  assert.equal(stats.get("a").firstSeenAt, 1000);
  assert.equal(stats.get("c").warmUpExempt, false);
  assert.equal(stats.get("c").firstSeenAt, 2000);
});

test("an instance that leaves and comes back warms up again (cold caches after a restart or a failed check)", () => {
  const store = new RouteStore();
  const stats = new InstanceStatsRegistry();
  applyWatcherMessage(store, stats, { type: "service", service: "web", index: "1", instances: [instance("a"), instance("b")] });
  applyWatcherMessage(store, stats, { type: "service", service: "web", index: "2", instances: [instance("a")] });
  applyWatcherMessage(store, stats, { type: "service", service: "web", index: "3", instances: [instance("a"), instance("b")] });
  assert.equal(stats.get("b").warmUpExempt, false);
});

test("a service whose first list is empty warms up its first instances: they are new, not merely new to us", () => {
  const store = new RouteStore();
  const stats = new InstanceStatsRegistry();
  applyWatcherMessage(store, stats, { type: "service", service: "web", index: "1", instances: [] });
  applyWatcherMessage(store, stats, { type: "service", service: "web", index: "2", instances: [instance("a")] });
  assert.equal(stats.get("a").warmUpExempt, false);
});

test("a catalog message carries the services' tags into the table", () => {
  const store = new RouteStore();
  applyWatcherMessage(store, new InstanceStatsRegistry(), { type: "catalog", index: "4", services: ["web"], tags: { web: ["urlprefix-/w"] } });
  assert.deepEqual(store.current.catalog!.tags.get("web"), ["urlprefix-/w"]);
});
