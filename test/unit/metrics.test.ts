import { test } from "node:test";
import assert from "node:assert/strict";
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { GatewayMetrics, statusClass, type FinishedRequest } from "../../src/observability/metrics.js";
import { TableChangeLog } from "../../src/observability/table-change-log.js";
import { RouteStore } from "../../src/routing/route-store.js";
import { RouteTable } from "../../src/routing/route-table.js";
import type { Instance } from "../../src/discovery/instance.js";
import { instance } from "../support/instances.js";

const web = (id: string): Instance => instance(id, { address: "10.0.0.1", port: 80 });

function setup(restarts = 0) {
  const store = new RouteStore();
  store.swap(RouteTable.EMPTY.withService("web", [web("web-1"), web("web-2")], "5", 1_700_000_000_000));
  const events = new TableChangeLog();
  const metrics = new GatewayMetrics({ store, events, watcherRestarts: () => restarts, outliers: () => ({ ejected: 0, panic: false }) });
  const finish = (request: Partial<FinishedRequest>): void => {
    metrics.requestStarted();
    metrics.requestFinished({ service: "web", instance: "web-1", status: 200, upstreamSeconds: 0.01, errorCode: undefined, retries: 0, ejections: [], ...request });
  };
  return { store, events, metrics, finish };
}

function sample(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

test("status classes are 1xx-5xx; anything else counts as 5xx", () => {
  assert.deepEqual([101, 200, 304, 404, 503, 0, 999].map(statusClass), ["1xx", "2xx", "3xx", "4xx", "5xx", "5xx", "5xx"]);
});

test("every metric docs/operations.md lists is exposed, with the gateway_ prefix and _total on counters", async () => {
  const { metrics, finish } = setup();
  finish({ ejections: ["consecutive_gateway_failures"] });
  const text = await metrics.exposition();
  const types = new Map([...text.matchAll(/^# TYPE (gateway_\w+) (\w+)$/gm)].map((m) => [m[1]!, m[2]!]));
  assert.deepEqual([...types.keys()].sort(), [
    "gateway_in_flight_requests",
    "gateway_outlier_ejected_instances",
    "gateway_outlier_ejections_total",
    "gateway_outlier_panic",
    "gateway_registry_request_errors_total",
    "gateway_requests_total",
    "gateway_retries_total",
    "gateway_route_instances",
    "gateway_route_last_update_timestamp_seconds",
    "gateway_route_updates_total",
    "gateway_upstream_duration_seconds",
    "gateway_upstream_errors_total",
    "gateway_watcher_restarts_total",
  ]);
  for (const [name, type] of types) assert.equal(type === "counter", name.endsWith("_total"), `${name} is a ${type}`);
  assert.match(text, /^process_cpu_seconds_total /m, "Node's default process metrics are included");
});

test("requests are counted by service, instance and status class; retries and upstream errors by service", async () => {
  const { metrics, finish } = setup();
  finish({});
  finish({});
  finish({ status: 502, errorCode: "UPSTREAM_UNREACHABLE", retries: 2, ejections: ["consecutive_5xx"] });
  finish({ status: 503, instance: undefined, upstreamSeconds: undefined, errorCode: "NO_HEALTHY_INSTANCE" });
  const text = await metrics.exposition();
  assert.equal(sample(text, 'gateway_requests_total{service="web",instance="web-1",status_class="2xx"}'), 2);
  assert.equal(sample(text, 'gateway_requests_total{service="web",instance="web-1",status_class="5xx"}'), 1);
  assert.equal(sample(text, 'gateway_requests_total{service="web",instance="",status_class="5xx"}'), 1);
  assert.equal(sample(text, 'gateway_upstream_errors_total{service="web",code="UPSTREAM_UNREACHABLE"}'), 1);
  assert.doesNotMatch(text, /NO_HEALTHY_INSTANCE/, "only failures to reach an instance are upstream errors");
  assert.equal(sample(text, 'gateway_retries_total{service="web"}'), 2);
  assert.equal(sample(text, 'gateway_outlier_ejections_total{service="web",reason="consecutive_5xx"}'), 1);
  assert.equal(sample(text, 'gateway_upstream_duration_seconds_count{service="web"}'), 3);
  assert.equal(sample(text, "gateway_in_flight_requests"), 0);
});

test("a service the route table does not hold is never a label value, nor are its instances", async () => {
  const { metrics, finish } = setup();
  for (let i = 0; i < 5; i++) finish({ service: `random-${i}`, instance: `x-${i}`, status: 404 });
  const text = await metrics.exposition();
  assert.equal(sample(text, 'gateway_requests_total{service="",instance="",status_class="4xx"}'), 5);
  assert.doesNotMatch(text, /random-|x-\d/);
});

test("an instance's series disappear once it has left the route table", async () => {
  const { store, metrics, finish } = setup();
  finish({ instance: "web-2" });
  assert.equal(sample(await metrics.exposition(), 'gateway_requests_total{service="web",instance="web-2",status_class="2xx"}'), 1);
  store.swap(store.current.withService("web", [web("web-1")], "6"));
  const text = await metrics.exposition();
  assert.equal(sample(text, 'gateway_requests_total{service="web",instance="web-2",status_class="2xx"}'), undefined);
});

test("route and watcher figures are read at scrape time from what holds them", async () => {
  const { store, events, metrics } = setup(3);
  events.tableSwapped(store.current);
  events.watchError({ type: "watch-error", service: null, message: "refused" });
  const text = await metrics.exposition();
  assert.equal(sample(text, 'gateway_route_updates_total{service="web"}'), 1);
  assert.equal(sample(text, 'gateway_route_instances{service="web"}'), 2);
  assert.equal(sample(text, 'gateway_route_last_update_timestamp_seconds{service="web"}'), 1_700_000_000);
  assert.equal(sample(text, "gateway_watcher_restarts_total"), 3);
  assert.equal(sample(text, 'gateway_registry_request_errors_total{registry="consul",watch="catalog"}'), 1);
  assert.equal(sample(text, 'gateway_registry_request_errors_total{registry="consul",watch="service"}'), 0);
});

test("the upstream duration histogram writes the series prom-client's own Histogram writes for the same observations", async () => {
  const { metrics, finish } = setup();
  const durations = [0.0004, 0.001, 0.003, 0.02, 0.02, 0.7, 12, 45];
  for (const upstreamSeconds of durations) finish({ upstreamSeconds });
  const reference = new Registry();
  const histogram = new Histogram({ name: "gateway_upstream_duration_seconds", help: "x", labelNames: ["service"], buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers: [reference] });
  for (const seconds of durations) histogram.observe({ service: "web" }, seconds);
  const series = (text: string): string[] => text.split("\n").filter((line) => line.startsWith("gateway_upstream_duration_seconds"));
  const expected = series(await reference.metrics());
  assert.equal(expected.length, 17, "15 buckets, _sum and _count");
  assert.deepEqual(series(await metrics.exposition()), expected);
});

test("counting is cheap on the request path: finishing a request calls no prom-client method", async () => {
  const { metrics, finish } = setup();
  const calls: string[] = [];
  const restore: (() => void)[] = [];
  for (const proto of [Counter.prototype, Gauge.prototype, Histogram.prototype] as unknown as Record<string, (...args: unknown[]) => unknown>[]) {
    for (const method of ["inc", "dec", "set", "observe"]) {
      const original = proto[method];
      if (original === undefined) continue;
      proto[method] = function (this: unknown, ...args: unknown[]) {
        calls.push(method);
        return original.apply(this, args);
      };
      restore.push(() => void (proto[method] = original));
    }
  }
  try {
    for (let i = 0; i < 10; i++) finish({ retries: 1, ejections: ["consecutive_gateway_failures"], status: 502, errorCode: "UPSTREAM_ERROR" });
    assert.deepEqual(calls, [], "prom-client is only read at scrape time");
    const text = await metrics.exposition();
    assert.equal(sample(text, 'gateway_requests_total{service="web",instance="web-1",status_class="5xx"}'), 10);
    assert.equal(sample(text, 'gateway_upstream_errors_total{service="web",code="UPSTREAM_ERROR"}'), 10);
  } finally {
    for (const undo of restore) undo();
  }
});
