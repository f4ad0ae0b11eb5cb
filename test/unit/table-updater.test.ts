import { test } from "node:test";
import assert from "node:assert/strict";
import { SWAPS_AT_ONCE_PER_WINDOW, TableUpdater } from "../../src/routing/table-updater.js";
import { ExposurePolicy } from "../../src/routing/exposure.js";
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

test("changes are applied at once until a burst: past SWAPS_AT_ONCE_PER_WINDOW within the window, the rest waits for one swap holding the latest list of each service", (t) => {
  t.mock.timers.enable({ apis: ["setTimeout"] });
  const { store, swaps, updater } = setup(30);
  updater.apply({ type: "catalog", index: "1", services: ["web"], tags: {} });
  updater.apply({ type: "service", service: "web", index: "1", instances: [instance("w1")] });
  assert.equal(swaps.length, 2, "a lone change (catalog and service list) does not wait");
  assert.deepEqual(store.current.get("web")!.instances.map((i) => i.id), ["w1"]);
  for (let i = 2; i <= 9; i++) updater.apply({ type: "service", service: "web", index: String(i), instances: [instance(`w${i}`)] });
  updater.apply({ type: "service", service: "api", index: "9", instances: [instance("a1")] });
  updater.apply({ type: "catalog", index: "9", services: ["web", "api"], tags: {} });
  assert.equal(swaps.length, SWAPS_AT_ONCE_PER_WINDOW, "past the budget, messages wait");
  t.mock.timers.tick(29);
  assert.equal(swaps.length, SWAPS_AT_ONCE_PER_WINDOW);
  t.mock.timers.tick(1);
  assert.equal(swaps.length, SWAPS_AT_ONCE_PER_WINDOW + 1, "the rest of the burst is one swap");
  assert.deepEqual(store.current.get("web")!.instances.map((i) => i.id), ["w9"]);
  assert.equal(store.current.get("web")!.index, "9");
  assert.deepEqual(store.current.get("api")!.instances.map((i) => i.id), ["a1"]);
  assert.ok(store.current.catalog!.services.has("api"));
  updater.stop();
});

test("a window that closed with a swap opens the next one, with that swap counted; a quiet window ends the burst", (t) => {
  t.mock.timers.enable({ apis: ["setTimeout"] });
  const { swaps, updater } = setup(30);
  const change = (index: number): void => updater.apply({ type: "service", service: "web", index: String(index), instances: [] });
  for (let i = 1; i <= SWAPS_AT_ONCE_PER_WINDOW + 1; i++) change(i);
  t.mock.timers.tick(30);
  assert.equal(swaps.length, SWAPS_AT_ONCE_PER_WINDOW + 1);
  // The next window holds the closing swap: SWAPS_AT_ONCE_PER_WINDOW - 1 more at once, then waiting again.
  for (let i = 1; i <= SWAPS_AT_ONCE_PER_WINDOW; i++) change(100 + i);
  assert.equal(swaps.length, 2 * SWAPS_AT_ONCE_PER_WINDOW);
  t.mock.timers.tick(30);
  assert.equal(swaps.length, 2 * SWAPS_AT_ONCE_PER_WINDOW + 1);
  // That window closes with nothing pending, and so does the one it opened.
  t.mock.timers.tick(60);
  for (let i = 1; i <= SWAPS_AT_ONCE_PER_WINDOW; i++) change(200 + i);
  assert.equal(swaps.length, 3 * SWAPS_AT_ONCE_PER_WINDOW + 1, "after a quiet window changes are applied at once again");
  updater.stop();
});

test("stop() drops the open window: nothing is applied after it", (t) => {
  t.mock.timers.enable({ apis: ["setTimeout"] });
  const { swaps, updater } = setup(30);
  for (let i = 1; i <= SWAPS_AT_ONCE_PER_WINDOW + 2; i++) updater.apply({ type: "service", service: "web", index: String(i), instances: [] });
  updater.stop();
  t.mock.timers.tick(100);
  assert.equal(swaps.length, SWAPS_AT_ONCE_PER_WINDOW);
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

test("the exposure policy: a hidden service leaves the catalog and the table, and its late lists are ignored", () => {
  const store = new RouteStore();
  const updater = new TableUpdater(store, new InstanceStatsRegistry(), 0, () => {}, ExposurePolicy.ALL);
  updater.apply({ type: "service", service: "vault", index: "1", instances: [instance("v1")] });
  updater.apply({ type: "catalog", index: "2", services: ["web", "vault"], tags: { web: [], vault: ["gateway.enable=false", "urlprefix-/v"] } });
  assert.deepEqual([...store.current.catalog!.services], ["web"]);
  assert.equal(store.current.catalog!.tags.get("vault"), undefined, "no prefix route of a hidden service");
  assert.equal(store.current.get("vault"), undefined);
  assert.deepEqual([...updater.hidden], ["vault"]);
  updater.apply({ type: "service", service: "vault", index: "3", instances: [instance("v1")] });
  assert.equal(store.current.get("vault"), undefined);
  // Exposed again: it is an ordinary service once more.
  updater.apply({ type: "catalog", index: "4", services: ["web", "vault"], tags: { web: [], vault: [] } });
  updater.apply({ type: "service", service: "vault", index: "5", instances: [instance("v1")] });
  assert.equal(store.current.get("vault")?.instances.length, 1);
  assert.equal(updater.hidden.size, 0);
});
