import { test } from "node:test";
import assert from "node:assert/strict";
import { readiness } from "../../src/admin/readiness.js";
import { instanceView, routesView } from "../../src/admin/routes-view.js";
import { formatRoutesTable } from "../../src/admin/routes-cli.js";
import { InstanceStatsRegistry } from "../../src/routing/instance-stats.js";
import { RouteTable } from "../../src/routing/route-table.js";
import type { Instance } from "../../src/routing/instance.js";

const web = (id: string, tags: string[] = []): Instance => ({ id, address: "10.0.0.1", port: 8080, tags, meta: { zone: "a" } });

test("ready once the watcher runs, the catalog answered and every configured service has its list", () => {
  const loaded = RouteTable.EMPTY.withCatalog(["web"], "1").withService("web", [], "2");
  assert.deepEqual(readiness({ watcherRunning: true, table: loaded, services: ["web"] }), { ready: true, reasons: [] });
  assert.deepEqual(readiness({ watcherRunning: false, table: RouteTable.EMPTY, services: ["web", "api"] }), {
    ready: false,
    reasons: [
      "the watcher child is not running (it is being restarted)",
      "no answer from Consul's catalog yet",
      "no instance list for web from Consul yet",
      "no instance list for api from Consul yet",
    ],
  });
});

test("an instance's view joins the table's facts and its live counters; the error rate counts both kinds of error", () => {
  const stats = new InstanceStatsRegistry(() => Date.UTC(2025, 0, 1));
  Object.assign(stats.get("web-1"), { requests: 8, failures: 1, serverErrors: 1, inFlight: 2 });
  assert.deepEqual(instanceView(web("web-1", ["v1"]), stats.peek("web-1")), {
    id: "web-1",
    address: "10.0.0.1",
    port: 8080,
    tags: ["v1"],
    meta: { zone: "a" },
    health: "passing",
    firstSeenAt: "2025-01-01T00:00:00.000Z",
    inFlight: 2,
    requests: 8,
    failures: 1,
    serverErrors: 1,
    errorRate: 0.25,
  });
  const idle = instanceView(web("web-9"), undefined);
  assert.equal(idle.errorRate, null);
  assert.equal(idle.firstSeenAt, null);
});

test("GET /routes lists services by name and instances by id, whatever order Consul answered in", () => {
  const table = RouteTable.EMPTY.withCatalog(["web", "api", "consul"], "4").withService("web", [web("b"), web("a")], "7", 0).withService("api", [], "8", 0);
  const view = routesView(table, new InstanceStatsRegistry());
  assert.deepEqual(view.catalog, { index: "4", services: 3 });
  assert.deepEqual(view.services.map((s) => [s.name, s.index, s.updatedAt, s.instances.map((i) => i.id)]), [
    ["api", "8", "1970-01-01T00:00:00.000Z", []],
    ["web", "7", "1970-01-01T00:00:00.000Z", ["a", "b"]],
  ]);
});

test("the CLI's table: aligned columns, counts right-aligned, a row for a service without instances", () => {
  const stats = new InstanceStatsRegistry();
  Object.assign(stats.get("web-1"), { requests: 1200, failures: 3 });
  const now = 1_000_000;
  const table = RouteTable.EMPTY.withCatalog(["web", "api"], "4").withService("web", [web("web-1", ["v1", "blue"]), web("web-22")], "17", now - 5_000).withService("api", [], "9", now - 600_000);
  const view = routesView(table, stats);
  assert.equal(
    formatRoutesTable(view.services, view.catalog, now),
    [
      "SERVICE  INSTANCE               ADDRESS        TAGS     IN-FLIGHT  REQUESTS  ERRORS  ERROR RATE  INDEX  CHANGED",
      "api      (no healthy instance)                                                                       9  10m ago",
      "web      web-1                  10.0.0.1:8080  v1,blue          0      1200       3        0.3%     17  5s ago",
      "web      web-22                 10.0.0.1:8080  -                0         0       0           -     17  5s ago",
      "",
      "2 services, 2 healthy instances; catalog index 4 (2 services in Consul)",
      "",
    ].join("\n"),
  );
  assert.equal(formatRoutesTable([], null), "no service in the route table yet\n0 services, 0 healthy instances; Consul's catalog not loaded yet\n");
});
