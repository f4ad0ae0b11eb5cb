import { test } from "node:test";
import assert from "node:assert/strict";
import { TableChangeLog, diffInstances } from "../../src/observability/table-change-log.js";
import { RouteTable } from "../../src/routing/route-table.js";
import type { Instance } from "../../src/discovery/instance.js";
import type { WatcherMessage } from "../../src/discovery/messages.js";
import type { TableChange } from "../../src/admin/view-types.js";
import { instance } from "../support/instances.js";

const web = (id: string, port = 80, tags: string[] = []): Instance => instance(id, { address: "10.0.0.1", port, tags });

/** Applies a message the way table-updater.ts does and tells the change log, as gateway.ts does. */
function apply(events: TableChangeLog, table: RouteTable, message: WatcherMessage): RouteTable {
  if (message.type === "watch-error") {
    events.watchError(message);
    return table;
  }
  const after = message.type === "service" ? table.withService(message.service, message.instances, message.index) : table.withCatalog(message.services, message.index);
  events.tableSwapped(after);
  return after;
}

test("diffInstances tells joined, left and changed instances apart, in id order", () => {
  const diff = diffInstances([web("b"), web("a"), web("c", 80)], [web("d"), web("c", 81), web("a")]);
  assert.deepEqual(diff, { added: ["d"], removed: ["b"], changed: ["c"] });
  assert.deepEqual(diffInstances([web("a", 80, ["x", "y"])], [web("a", 80, ["y", "x"])]), { added: [], removed: [], changed: [] });
});

test("a service update becomes a notification naming what joined and left, and is counted", () => {
  const events = new TableChangeLog({ now: () => Date.UTC(2025, 0, 1, 12, 0, 0) });
  let table = apply(events, RouteTable.EMPTY, { type: "service", service: "web", index: "7", instances: [web("web-1"), web("web-2")] });
  table = apply(events, table, { type: "service", service: "web", index: "9", instances: [web("web-2"), web("web-3")] });
  const [first, second] = events.recent() as Extract<TableChange, { type: "service" }>[];
  assert.equal(first!.summary, "web: +web-1 +web-2; 2 healthy (index 7)");
  assert.equal(second!.summary, "web: +web-3 -web-1; 2 healthy (index 9)");
  assert.deepEqual([second!.added, second!.removed, second!.instances, second!.at], [["web-3"], ["web-1"], 2, "2025-01-01T12:00:00.000Z"]);
  assert.equal(events.updates.get("web"), 2);
});

test("catalog changes and registry errors are notifications too; errors are counted by kind of watch", () => {
  const events = new TableChangeLog();
  let table = apply(events, RouteTable.EMPTY, { type: "catalog", index: "3", services: ["consul", "web"], tags: {} });
  table = apply(events, table, { type: "catalog", index: "4", services: ["api", "consul"], tags: {} });
  apply(events, table, { type: "watch-error", service: null, message: "connect ECONNREFUSED" });
  apply(events, table, { type: "watch-error", service: "web", message: "socket hang up" });
  assert.deepEqual(events.recent().map((c) => c.summary), [
    "catalog: +consul +web; 2 services (index 3)",
    "catalog: +api -web; 2 services (index 4)",
    "Consul request failed (catalog): connect ECONNREFUSED; last known routes kept",
    "Consul request failed (web): socket hang up; last known routes kept",
  ]);
  assert.deepEqual(events.registryErrors, { catalog: 1, service: 1 });
  assert.equal(events.totalRegistryErrors, 2);
});

test("error notifications name the registry the watcher reads", () => {
  const events = new TableChangeLog({ registry: "zookeeper" });
  events.watchError({ type: "watch-error", service: "web", message: "CONNECTION_LOSS" });
  assert.equal(events.recent()[0]!.summary, "ZooKeeper request failed (web): CONNECTION_LOSS; last known routes kept");
  assert.equal(events.registry, "zookeeper");
});

test("subscribers get each change live; the history is bounded; a failing subscriber is dropped, not propagated", () => {
  const events = new TableChangeLog({ keep: 3 });
  const seen: string[] = [];
  const stop = events.subscribe((change) => seen.push(change.summary));
  events.subscribe(() => {
    throw new Error("a broken dashboard");
  });
  let table = RouteTable.EMPTY;
  for (let i = 1; i <= 5; i++) table = apply(events, table, { type: "service", service: "web", index: String(i), instances: [web(`web-${i}`)] });
  assert.equal(seen.length, 5);
  assert.deepEqual(events.recent().map((c) => (c as { index: string }).index), ["3", "4", "5"]);
  stop();
  apply(events, table, { type: "service", service: "web", index: "6", instances: [] });
  assert.equal(seen.length, 5);
});

test("a swap that carries several changes (coalesced updates) gives one notification per changed service, none for the others", () => {
  const events = new TableChangeLog();
  const first = RouteTable.EMPTY.withService("web", [web("web-1")], "1").withService("api", [web("api-1")], "1").withService("db", [web("db-1")], "1");
  events.tableSwapped(first);
  events.tableSwapped(first.withService("web", [web("web-1"), web("web-2")], "4").withService("api", [], "4"));
  assert.deepEqual(events.recent().slice(3).map((c) => c.summary), ["api: -api-1; 0 healthy (index 4)", "web: +web-2; 2 healthy (index 4)"]);
  assert.deepEqual(Object.fromEntries(events.updates), { api: 2, db: 1, web: 2 });
});
