import { test } from "node:test";
import assert from "node:assert/strict";
import { TableUpdater } from "../../src/routing/table-updater.js";
import { InstanceStatsRegistry } from "../../src/routing/instance-stats.js";
import { RouteStore } from "../../src/routing/route-store.js";
import type { RouteTable } from "../../src/routing/route-table.js";
import { instance } from "../support/instances.js";

function setup(coalesceMs: number) {
  const store = new RouteStore();
  const swaps: RouteTable[] = [];
  const updater = new TableUpdater(store, new InstanceStatsRegistry(), coalesceMs, (table) => swaps.push(table));
  return { store, swaps, updater };
}

test("the first change is applied at once; a burst that follows within the window becomes one swap holding the latest list of each service", (t) => {
  t.mock.timers.enable({ apis: ["setTimeout"] });
  const { store, swaps, updater } = setup(30);
  updater.apply({ type: "service", service: "web", index: "1", instances: [instance("w1")] });
  assert.equal(swaps.length, 1, "the first change does not wait");
  assert.deepEqual(store.current.get("web")!.instances.map((i) => i.id), ["w1"]);
  for (let i = 2; i <= 5; i++) updater.apply({ type: "service", service: "web", index: String(i), instances: [instance(`w${i}`)] });
  updater.apply({ type: "service", service: "api", index: "9", instances: [instance("a1")] });
  updater.apply({ type: "catalog", index: "9", services: ["web", "api"], tags: {} });
  t.mock.timers.tick(29);
  assert.equal(swaps.length, 1, "what follows waits for the window's end");
  t.mock.timers.tick(1);
  assert.equal(swaps.length, 2);
  assert.deepEqual(store.current.get("web")!.instances.map((i) => i.id), ["w5"]);
  assert.equal(store.current.get("web")!.index, "5");
  assert.deepEqual(store.current.get("api")!.instances.map((i) => i.id), ["a1"]);
  assert.ok(store.current.catalog!.services.has("api"));
  updater.stop();
});

test("a window that applied a burst opens the next one; after a quiet window the next change is applied at once again", (t) => {
  t.mock.timers.enable({ apis: ["setTimeout"] });
  const { swaps, updater } = setup(30);
  updater.apply({ type: "service", service: "web", index: "1", instances: [] });
  updater.apply({ type: "service", service: "web", index: "2", instances: [] });
  t.mock.timers.tick(30);
  assert.equal(swaps.length, 2);
  // Still within the window the burst's swap opened: this one waits too.
  updater.apply({ type: "service", service: "web", index: "3", instances: [] });
  assert.equal(swaps.length, 2);
  t.mock.timers.tick(30);
  assert.equal(swaps.length, 3);
  // That window closes with nothing pending; the next window closes quiet too.
  t.mock.timers.tick(30);
  updater.apply({ type: "service", service: "web", index: "4", instances: [] });
  assert.equal(swaps.length, 4, "after a quiet window the change is applied at once");
  updater.stop();
});

test("stop() drops the open window: nothing is applied after it", (t) => {
  t.mock.timers.enable({ apis: ["setTimeout"] });
  const { swaps, updater } = setup(30);
  updater.apply({ type: "service", service: "web", index: "1", instances: [] });
  updater.apply({ type: "service", service: "web", index: "2", instances: [] });
  updater.stop();
  t.mock.timers.tick(100);
  assert.equal(swaps.length, 1);
});

test("with a window of 0 each message is its own swap", () => {
  const { swaps, updater } = setup(0);
  updater.apply({ type: "service", service: "web", index: "1", instances: [] });
  updater.apply({ type: "service", service: "web", index: "2", instances: [instance("w")] });
  assert.equal(swaps.length, 2);
});

test("a watch error changes nothing: the last known routes stay", () => {
  const { store, swaps, updater } = setup(0);
  updater.apply({ type: "service", service: "web", index: "1", instances: [instance("w")] });
  updater.apply({ type: "watch-error", service: "web", message: "connect ECONNREFUSED" });
  assert.equal(swaps.length, 1);
  assert.deepEqual(store.current.get("web")!.instances.map((i) => i.id), ["w"]);
});

test("a service's first list marks its instances warm-up exempt; instances that arrive later are not", () => {
  let now = 1000;
  const stats = new InstanceStatsRegistry(() => now);
  const updater = new TableUpdater(new RouteStore(), stats, 0);
  updater.apply({ type: "service", service: "web", index: "1", instances: [instance("a"), instance("b")] });
  now = 2000;
  updater.apply({ type: "service", service: "web", index: "2", instances: [instance("a"), instance("b"), instance("c")] });
  assert.equal(stats.get("a").warmUpExempt, true);
  assert.equal(stats.get("a").firstSeenAt, 1000);
  assert.equal(stats.get("c").warmUpExempt, false);
  assert.equal(stats.get("c").firstSeenAt, 2000);
});

test("a service whose first list is empty warms up its first instances: they are new, not merely new to us", () => {
  const stats = new InstanceStatsRegistry();
  const updater = new TableUpdater(new RouteStore(), stats, 0);
  updater.apply({ type: "service", service: "web", index: "1", instances: [] });
  updater.apply({ type: "service", service: "web", index: "2", instances: [instance("a")] });
  assert.equal(stats.get("a").warmUpExempt, false);
});

test("a catalog message carries the services' tags into the table", () => {
  const store = new RouteStore();
  new TableUpdater(store, new InstanceStatsRegistry(), 0).apply({ type: "catalog", index: "4", services: ["web"], tags: { web: ["urlprefix-/w"] } });
  assert.deepEqual(store.current.catalog!.tags.get("web"), ["urlprefix-/w"]);
});
