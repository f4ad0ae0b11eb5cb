/**
 * The admin API, metrics, request ids and the access log, against a real
 * Consul and real backends, as an operator sees them over HTTP.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import superagent from "superagent";
import { ConsulAgent } from "../support/consul.js";
import { httpCheckedRegistration as registration, startBackend, type Backend } from "../support/backends.js";
import { countHits, startTestGateway, type TestGateway } from "../support/gateway.js";
import { freePort } from "../support/ports.js";
import { openSse, type SseStream } from "../support/sse.js";
import { eventually } from "../support/wait.js";
import type { DashboardSnapshot, TableChange, RoutesView, ServiceView } from "../../src/admin/view-types.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A sample line of the exposition format: its value, or undefined when the series is absent. */
function sample(metrics: string, series: string): number | undefined {
  const line = metrics.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe("the admin API, metrics, request ids and the access log", () => {
  let consul: ConsulAgent;
  const backends: Backend[] = [];
  let gateway: TestGateway;
  let logDir: string;
  let logFile: string;
  const streams: SseStream[] = [];

  before(async () => {
    consul = await ConsulAgent.start();
    for (const id of ["web-1", "web-2"]) {
      const backend = await startBackend(id);
      backends.push(backend);
      await consul.register({ ...registration(backend), Tags: ["v1", `zone-${id}`] });
    }
    // An instance that passes in Consul (no check of its own) but refuses connections.
    await consul.register({ ID: "dead-1", Name: "dead", Address: "127.0.0.1", Port: await freePort() });
    // A service with one such instance beside a live one, and one with two dead ones: retries and ejections.
    await consul.register({ ID: "mixed-dead", Name: "mixed", Address: "127.0.0.1", Port: await freePort() });
    await consul.register({ ID: "mixed-live", Name: "mixed", Address: "127.0.0.1", Port: backends[0]!.port });
    for (const id of ["both-dead-1", "both-dead-2"]) await consul.register({ ID: id, Name: "both-dead", Address: "127.0.0.1", Port: await freePort() });
    logDir = mkdtempSync(join(tmpdir(), "kcg-access-"));
    logFile = join(logDir, "logs", "access.log");
    gateway = await startTestGateway(consul.address, {
      GATEWAY_SERVICES: "service-web",
      GATEWAY_BALANCER: "round-robin",
      GATEWAY_ACCESS_LOG: logFile,
      // One failed connection ejects, for longer than any test runs.
      GATEWAY_OUTLIER_FAILURES: "1",
      GATEWAY_OUTLIER_EJECTION_MS: "3600000",
      GATEWAY_OUTLIER_MAX_EJECTION_MS: "3600000",
    });
    await eventually(() => gateway.store.current.get("service-web")?.instances.length === 2, 10_000, "two instances");
  });

  after(async () => {
    for (const stream of streams) stream.close();
    await gateway?.close();
    await Promise.all(backends.map((b) => b.close()));
    await consul?.destroy();
    rmSync(logDir, { recursive: true, force: true });
  });

  test("GET /health answers 200 while the process runs; /ready answers 200 once the table is loaded", async () => {
    const health = await superagent.get(`${gateway.adminUrl}/health`);
    assert.equal(health.status, 200);
    assert.equal(health.body.status, "ok");
    const ready = await superagent.get(`${gateway.adminUrl}/ready`);
    assert.deepEqual(ready.body, { ready: true, reasons: [] });
  });

  test("GET /ready answers 503 with the reason while the registry has never answered", async () => {
    const nowhere = await startTestGateway(`127.0.0.1:${await freePort()}`, { GATEWAY_SERVICES: "service-web" });
    try {
      const res = await superagent.get(`${nowhere.adminUrl}/ready`).ok(() => true);
      assert.equal(res.status, 503);
      assert.equal(res.body.ready, false);
      assert.ok(res.body.reasons.includes("no answer from the registry's catalog yet"), JSON.stringify(res.body));
      assert.ok(res.body.reasons.includes("no instance list for service-web from the registry yet"), JSON.stringify(res.body));
      // Alive all the same: /health does not depend on Consul.
      assert.equal((await superagent.get(`${nowhere.adminUrl}/health`)).status, 200);
    } finally {
      await nowhere.close();
    }
  });

  test("GET /routes shows each instance with address, tags, health and live counts; errors count into the error rate", async () => {
    await countHits(gateway.url, 4);
    // web-1 or web-2 answers 500 itself: a server error of that instance, not a gateway failure.
    const failed = await superagent.get(`${gateway.url}/service-web/status/500`).ok(() => true);
    assert.equal(failed.status, 500);

    const res = await superagent.get(`${gateway.adminUrl}/routes`);
    const view = res.body as RoutesView;
    assert.ok(view.catalog !== null && Number(view.catalog.index) > 0);
    const web = view.services.find((s) => s.name === "service-web")!;
    assert.match(web.index, /^\d+$/);
    assert.ok(!Number.isNaN(Date.parse(web.updatedAt)));
    assert.deepEqual(web.instances.map((i) => i.id), ["web-1", "web-2"]);
    const first = web.instances[0]!;
    assert.equal(first.address, "127.0.0.1");
    assert.equal(first.port, backends[0]!.port);
    assert.deepEqual(first.tags, ["v1", "zone-web-1"]);
    assert.equal(first.health, "passing");
    assert.equal(first.inFlight, 0);
    assert.deepEqual(first.outlier, { ejected: false, ejectedUntil: null, consecutiveFailures: 0, ejections: 0 });
    assert.equal(web.instances.reduce((n, i) => n + i.requests, 0), 5);
    const erring = web.instances.find((i) => i.serverErrors === 1)!;
    assert.ok(erring, JSON.stringify(web.instances));
    assert.equal(erring.errorRate, Math.round((1 / erring.requests) * 10_000) / 10_000);
  });

  test("GET /routes/<service> shows one service; an unknown or invalid name gets the gateway's JSON error", async () => {
    const one = (await superagent.get(`${gateway.adminUrl}/routes/service-web`)).body as ServiceView;
    assert.equal(one.name, "service-web");
    assert.equal(one.instances.length, 2);

    const missing = await superagent.get(`${gateway.adminUrl}/routes/nothing-here`).ok(() => true);
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error.code, "UNKNOWN_SERVICE");
    const invalid = await superagent.get(`${gateway.adminUrl}/routes/bad%20name`).ok(() => true);
    assert.equal(invalid.status, 400);
    assert.equal(invalid.body.error.code, "INVALID_SERVICE_NAME");
    const elsewhere = await superagent.get(`${gateway.adminUrl}/nope`).ok(() => true);
    assert.equal(elsewhere.status, 404);
    assert.equal(elsewhere.body.error.code, "ROUTE_NOT_FOUND");
  });

  test("GET /metrics counts requests by service, instance and status class, upstream errors by code, with bounded labels", async () => {
    const before = await superagent.get(`${gateway.adminUrl}/metrics`).buffer(true);
    assert.match(before.headers["content-type"]!, /^text\/plain; version=0\.0\.4/);
    const okBefore = sample(before.text, 'gateway_requests_total{service="service-web",instance="web-1",status_class="2xx"}') ?? 0;

    await countHits(gateway.url, 2);
    const unreachable = await superagent.get(`${gateway.url}/dead/x`).ok(() => true);
    assert.equal(unreachable.status, 502);
    // Random names a client makes up: none may become a label value.
    for (let i = 0; i < 3; i++) await superagent.get(`${gateway.url}/made-up-${i}/secret/path-${i}`).ok(() => true);

    const text = (await superagent.get(`${gateway.adminUrl}/metrics`).buffer(true)).text;
    assert.equal(sample(text, 'gateway_requests_total{service="service-web",instance="web-1",status_class="2xx"}'), okBefore + 1);
    assert.equal(sample(text, 'gateway_requests_total{service="dead",instance="dead-1",status_class="5xx"}'), 1);
    assert.equal(sample(text, 'gateway_upstream_errors_total{service="dead",code="UPSTREAM_UNREACHABLE"}'), 1);
    assert.equal(sample(text, 'gateway_requests_total{service="",instance="",status_class="4xx"}'), 3);
    assert.doesNotMatch(text, /made-up|secret/);
    assert.ok(sample(text, 'gateway_upstream_duration_seconds_count{service="service-web"}')! >= 2);
    assert.equal(sample(text, 'gateway_route_instances{service="service-web"}'), 2);
    assert.ok(sample(text, 'gateway_route_updates_total{service="service-web"}')! >= 1);
    const changedAt = sample(text, 'gateway_route_last_update_timestamp_seconds{service="service-web"}')!;
    assert.ok(Math.abs(changedAt - gateway.store.current.get("service-web")!.updatedAt / 1000) < 0.001);
    assert.equal(sample(text, "gateway_watcher_restarts_total"), 0);
    assert.equal(sample(text, 'gateway_registry_request_errors_total{registry="consul",watch="service"}'), 0);
    assert.equal(sample(text, "gateway_in_flight_requests"), 0);
  });

  test("an instance that leaves the table leaves the metrics too", async () => {
    const extra = await startBackend("web-3");
    backends.push(extra);
    await consul.register(registration(extra));
    await eventually(async () => (await countHits(gateway.url, 3)).has("web-3"), 10_000, "traffic to web-3");
    const series = 'gateway_requests_total{service="service-web",instance="web-3",status_class="2xx"}';
    assert.ok(sample((await superagent.get(`${gateway.adminUrl}/metrics`).buffer(true)).text, series)! >= 1);

    await consul.deregister("web-3");
    await eventually(() => gateway.store.current.get("service-web")!.instances.every((i) => i.id !== "web-3"), 5_000, "web-3 gone");
    assert.equal(sample((await superagent.get(`${gateway.adminUrl}/metrics`).buffer(true)).text, series), undefined);
  });

  test("X-Request-Id: generated when absent, kept when given, replaced when unusable; sent upstream and returned", async () => {
    const fresh = await superagent.get(`${gateway.url}/service-web/inspect/a`);
    const id = fresh.headers["x-request-id"]!;
    assert.match(id, UUID);
    assert.equal(fresh.body.headers["x-request-id"], id);

    const given = await superagent.get(`${gateway.url}/service-web/inspect/b`).set("X-Request-Id", "trace-42");
    assert.equal(given.headers["x-request-id"], "trace-42");
    assert.equal(given.body.headers["x-request-id"], "trace-42");

    const forged = await superagent.get(`${gateway.url}/service-web/inspect/c`).set("X-Request-Id", "two words");
    assert.match(forged.headers["x-request-id"]!, UUID);
    assert.equal(forged.body.headers["x-request-id"], forged.headers["x-request-id"]);

    const error = await superagent.get(`${gateway.url}/no-such-service/x`).ok(() => true);
    assert.equal(error.status, 404);
    assert.match(error.headers["x-request-id"]!, UUID);
  });

  test("the access log has one JSON line per request with its id, service, instance, status, bytes and retries", async () => {
    const ok = await superagent.get(`${gateway.url}/service-web/getRemoteIp?token=hidden`).set("X-Request-Id", "log-ok");
    await superagent.get(`${gateway.url}/dead/y`).set("X-Request-Id", "log-dead").ok(() => true);
    const lines = await eventually(() => {
      const entries = readFileSync(logFile, "utf8").trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
      return entries.some((e) => e.requestId === "log-dead") ? entries : undefined;
    }, 5_000, "the access log lines");
    const entry = lines.find((e) => e.requestId === "log-ok")!;
    assert.equal(entry.method, "GET");
    assert.equal(entry.path, "/service-web/getRemoteIp");
    assert.equal(entry.service, "service-web");
    assert.match(String(entry.instance), /^web-[12]$/);
    assert.equal(entry.status, 200);
    assert.equal(entry.bytes, Buffer.byteLength(ok.text));
    assert.equal(entry.retries, 0);
    assert.equal(entry.aborted, false);
    assert.equal(typeof entry.durationMs, "number");
    assert.ok(!Number.isNaN(Date.parse(String(entry.time))));
    assert.doesNotMatch(JSON.stringify(lines), /hidden/);

    const dead = lines.find((e) => e.requestId === "log-dead")!;
    assert.equal(dead.status, 502);
    assert.equal(dead.error, "UPSTREAM_UNREACHABLE");
    assert.equal(dead.instance, "dead-1");
    assert.ok((dead.bytes as number) > 0);
  });

  test("a retry on another instance and the ejections behind it reach the metrics, the access log and /routes", async () => {
    // Round-robin in id order: mixed-dead first; refused, it is ejected and the request goes on to mixed-live.
    const retried = await superagent.get(`${gateway.url}/mixed/getRemoteIp`).set("X-Request-Id", "log-retried");
    assert.equal(retried.status, 200);
    // Both instances refuse: two attempts, two ejections, and the request fails all the same.
    const failed = await superagent.get(`${gateway.url}/both-dead/x`).set("X-Request-Id", "log-retried-failed").ok(() => true);
    assert.equal(failed.status, 502);

    const text = (await superagent.get(`${gateway.adminUrl}/metrics`).buffer(true)).text;
    assert.equal(sample(text, 'gateway_retries_total{service="mixed"}'), 1);
    assert.equal(sample(text, 'gateway_outlier_ejections_total{service="mixed"}'), 1);
    assert.equal(sample(text, 'gateway_requests_total{service="mixed",instance="mixed-live",status_class="2xx"}'), 1);
    assert.equal(sample(text, 'gateway_retries_total{service="both-dead"}'), 1, "a request that failed after a retry counts it");
    assert.equal(sample(text, 'gateway_outlier_ejections_total{service="both-dead"}'), 2);
    assert.equal(sample(text, 'gateway_upstream_errors_total{service="both-dead",code="UPSTREAM_UNREACHABLE"}'), 1);

    const lines = await eventually(() => {
      const entries = readFileSync(logFile, "utf8").trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
      return entries.some((e) => e.requestId === "log-retried-failed") ? entries : undefined;
    }, 5_000, "the access log lines");
    const ok = lines.find((e) => e.requestId === "log-retried")!;
    assert.deepEqual([ok.status, ok.instance, ok.retries], [200, "mixed-live", 1]);
    const bad = lines.find((e) => e.requestId === "log-retried-failed")!;
    assert.deepEqual([bad.status, bad.error, bad.retries], [502, "UPSTREAM_UNREACHABLE", 1]);

    const mixed = (await superagent.get(`${gateway.adminUrl}/routes/mixed`)).body as ServiceView;
    const [dead, live] = mixed.instances;
    assert.equal(dead!.id, "mixed-dead");
    assert.equal(dead!.outlier.ejected, true);
    assert.equal(dead!.outlier.ejections, 1);
    assert.ok(Date.parse(dead!.outlier.ejectedUntil!) > Date.now());
    assert.equal(dead!.failures, 1);
    assert.deepEqual(live!.outlier, { ejected: false, ejectedUntil: null, consecutiveFailures: 0, ejections: 0 });
    assert.equal(live!.requests, 1);
  });

  test("GET /events streams a snapshot, then each change notification as Consul reports it", async () => {
    const stream = await openSse(`${gateway.adminUrl}/events`);
    streams.push(stream);
    assert.equal(stream.status, 200);
    const first = JSON.parse((await stream.waitFor((e) => e.event === "snapshot")).data) as DashboardSnapshot;
    assert.equal(first.readiness.ready, true);
    assert.ok(first.routes.services.some((s) => s.name === "service-web"));
    await stream.waitFor((e) => e.event === "history");

    const fourth = await startBackend("web-4");
    backends.push(fourth);
    await consul.register(registration(fourth));
    const joined = await stream.waitFor((e) => e.event === "change" && (JSON.parse(e.data) as TableChange).summary.includes("+web-4"), 10_000, "the change notification for web-4");
    const change = JSON.parse(joined.data) as Extract<TableChange, { type: "service" }>;
    assert.equal(change.service, "service-web");
    assert.deepEqual(change.added, ["web-4"]);
    await stream.waitFor((e) => e.event === "snapshot" && e.data.includes('"id":"web-4"'), 5_000, "a snapshot with web-4");

    await consul.deregister("web-4");
    await stream.waitFor((e) => e.event === "change" && (JSON.parse(e.data) as TableChange).summary.includes("-web-4"), 10_000, "web-4 leaving");
  });
});
