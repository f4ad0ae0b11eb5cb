import { test } from "node:test";
import assert from "node:assert/strict";
import { readiness } from "../../src/admin/readiness.js";
import { instanceView, tableView } from "../../src/admin/table-view.js";
import { formatRoutesTable } from "../../src/admin/routes-cli.js";
import { InstanceStatsRegistry } from "../../src/routing/instance-stats.js";
import { RouteTable } from "../../src/routing/route-table.js";
import type { Instance } from "../../src/discovery/instance.js";
import { instance } from "../support/instances.js";

const web = (id: string, tags: string[] = [], overrides: Partial<Instance> = {}): Instance => instance(id, { address: "10.0.0.1", port: 8080, tags, meta: { zone: "a" }, ...overrides });
/** GATEWAY_WARMUP_MS and GATEWAY_WARNING_WEIGHT_PERCENT at their defaults. */
const policy = { warmUpMs: 30_000, warningWeightPercent: 10 };

test("ready once the watcher runs, the catalog answered and every configured service has its list", () => {
  const loaded = RouteTable.EMPTY.withCatalog(["web"], "1").withService("web", [], "2");
  assert.deepEqual(readiness({ watcherRunning: true, table: loaded, services: ["web"], draining: false }), { ready: true, reasons: [] });
  assert.deepEqual(readiness({ watcherRunning: false, table: RouteTable.EMPTY, services: ["web", "api"], draining: true }), {
    ready: false,
    reasons: [
      "the gateway is shutting down and draining the requests in flight",
      "the watcher child is not running (it is being restarted)",
      "no answer from the registry's catalog yet",
      "no instance list for web from the registry yet",
      "no instance list for api from the registry yet",
    ],
  });
});

test("an instance's view joins the table's facts and its live counters; the error rate counts both kinds of error", () => {
  const stats = new InstanceStatsRegistry(() => Date.UTC(2025, 0, 1));
  Object.assign(stats.get("web-1"), { requests: 8, failures: 1, serverErrors: 1, inFlight: 2 });
  assert.deepEqual(instanceView(web("web-1", ["v1"]), stats.peek("web-1"), { policy, now: Date.UTC(2025, 0, 1, 1) }), {
    id: "web-1",
    address: "10.0.0.1",
    port: 8080,
    tags: ["v1"],
    meta: { zone: "a" },
    health: "passing",
    registeredWeight: 1,
    weight: 1,
    warmUp: 1,
    firstSeenAt: "2025-01-01T00:00:00.000Z",
    inFlight: 2,
    requests: 8,
    failures: 1,
    serverErrors: 1,
    errorRate: 0.25,
    outlier: { ejected: false, ejectedUntil: null, consecutiveFailures: 0, ejections: 0 },
  });
  const idle = instanceView(web("web-9"), undefined, { policy });
  assert.equal(idle.errorRate, null);
  assert.equal(idle.firstSeenAt, null);
  assert.deepEqual(idle.outlier, { ejected: false, ejectedUntil: null, consecutiveFailures: 0, ejections: 0 });
});

test("an instance's view shows its passive health: ejected until when, failures in a row, ejections", () => {
  const now = Date.UTC(2025, 0, 1, 12, 0, 0);
  const stats = new InstanceStatsRegistry(() => now);
  stats.get("web-1").outlier = { consecutiveFailures: 0, ejectedUntil: now + 10_000, ejections: 2 };
  stats.get("web-2").outlier = { consecutiveFailures: 2, ejectedUntil: now - 1, ejections: 0 };
  assert.deepEqual(instanceView(web("web-1"), stats.peek("web-1"), { policy, now }).outlier, { ejected: true, ejectedUntil: "2025-01-01T12:00:10.000Z", consecutiveFailures: 0, ejections: 2 });
  // An ejection that is over no longer shows: the instance is back in rotation.
  assert.deepEqual(instanceView(web("web-2"), stats.peek("web-2"), { policy, now }).outlier, { ejected: false, ejectedUntil: null, consecutiveFailures: 2, ejections: 0 });
  const table = RouteTable.EMPTY.withService("web", [web("web-2"), web("web-1")], "3");
  assert.deepEqual(tableView(table, stats, { policy, now }).services[0]!.instances.map((i) => [i.id, i.outlier.ejected]), [["web-1", true], ["web-2", false]]);
});

test("an instance's view shows its health, the weight its registration asks for, and the weight it takes now", () => {
  const now = Date.UTC(2025, 0, 1, 12, 0, 0);
  const stats = new InstanceStatsRegistry(() => now);
  stats.observe(["old"], { warmUpExempt: true });
  stats.get("new");
  stats.get("warning");
  const view = (i: Instance, at = now) => {
    const { health, registeredWeight, weight, warmUp } = instanceView(i, stats.peek(i.id), { policy, now: at });
    return { health, registeredWeight, weight, warmUp };
  };
  // There when its service was first heard of: full weight at once. Its meta key asks for 3.
  assert.deepEqual(view(web("old", [], { meta: { "gateway-weight": "3" } })), { health: "passing", registeredWeight: 3, weight: 3, warmUp: 1 });
  // New: 10% at first, halfway through the 30 s window 55%, then full.
  assert.deepEqual(view(web("new", [], { weights: { passing: 2, warning: 2 } })), { health: "passing", registeredWeight: 2, weight: 0.2, warmUp: 0.1 });
  assert.deepEqual(view(web("new", [], { weights: { passing: 2, warning: 2 } }), now + 15_000), { health: "passing", registeredWeight: 2, weight: 1.1, warmUp: 0.55 });
  assert.deepEqual(view(web("new"), now + 30_000).warmUp, 1);
  // Warning: GATEWAY_WARNING_WEIGHT_PERCENT of its passing weight, after warm-up.
  assert.deepEqual(view(web("warning", [], { health: "warning" }), now + 60_000), { health: "warning", registeredWeight: 1, weight: 0.1, warmUp: 1 });
});

test("GET /routes lists services by name and instances by id, whatever order the registry answered in", () => {
  const table = RouteTable.EMPTY.withCatalog(["web", "api", "consul"], "4").withService("web", [web("b"), web("a")], "7", 0).withService("api", [], "8", 0);
  const view = tableView(table, new InstanceStatsRegistry(), { policy });
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
  const view = tableView(table, stats, { policy });
  assert.equal(
    formatRoutesTable(view.services, view.catalog, now),
    [
      "SERVICE  INSTANCE               ADDRESS        TAGS     IN-FLIGHT  REQUESTS  ERRORS  ERROR RATE  INDEX  CHANGED",
      "api      (no healthy instance)                                                                       9  10m ago",
      "web      web-1                  10.0.0.1:8080  v1,blue          0      1200       3        0.3%     17  5s ago",
      "web      web-22                 10.0.0.1:8080  -                0         0       0           -     17  5s ago",
      "",
      "2 services, 2 healthy instances; catalog index 4 (2 services in the registry)",
      "",
    ].join("\n"),
  );
  assert.equal(formatRoutesTable([], null), "no service in the route table yet\n0 services, 0 healthy instances; the registry's catalog not loaded yet\n");
});
