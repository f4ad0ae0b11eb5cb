import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import Koa from "koa";
import superagent from "superagent";
import { openAccessLog } from "../../src/observability/access-log.js";
import { GatewayMetrics } from "../../src/observability/metrics.js";
import { requestObserver } from "../../src/observability/request-observer.js";
import type { ProxyRequestState } from "../../src/observability/request-state.js";
import { TableChangeLog } from "../../src/observability/table-change-log.js";
import { RouteStore } from "../../src/routing/route-store.js";
import { RouteTable } from "../../src/routing/route-table.js";
import { instance } from "../support/instances.js";

test("the observer reads what the proxy handler leaves in ctx.state: the retry loop's attempts become retries", async () => {
  const dir = mkdtempSync(join(tmpdir(), "kcg-observer-"));
  const store = new RouteStore();
  store.swap(RouteTable.EMPTY.withService("web", [instance("web-2")], "1"));
  const metrics = new GatewayMetrics({ store, events: new TableChangeLog(), watcherRestarts: () => 0 });
  const accessLog = openAccessLog({ kind: "file", path: join(dir, "access.log") })!;
  const app = new Koa();
  app.use(requestObserver({ metrics, accessLog }));
  app.use((ctx) => {
    // What a proxy handler that retried twice leaves behind: service, the last instance, three attempts, one ejection.
    Object.assign(ctx.state as ProxyRequestState, { service: "web", instance: "web-2", attempts: 3, ejections: 1, upstreamStartedAt: performance.now() });
    ctx.body = "hello";
  });
  const server = createServer(app.callback()).listen(0, "127.0.0.1");
  try {
    await once(server, "listening");
    const res = await superagent.get(`http://127.0.0.1:${(server.address() as AddressInfo).port}/web/x?q=1`);
    assert.equal(res.text, "hello");
    const text = await metrics.exposition();
    assert.match(text, /^gateway_retries_total\{service="web"\} 2$/m);
    assert.match(text, /^gateway_outlier_ejections_total\{service="web"\} 1$/m);
    assert.match(text, /^gateway_requests_total\{service="web",instance="web-2",status_class="2xx"\} 1$/m);
    await accessLog.close();
    const entry = JSON.parse(readFileSync(join(dir, "access.log"), "utf8")) as Record<string, unknown>;
    assert.deepEqual(
      { retries: entry.retries, instance: entry.instance, path: entry.path, status: entry.status, bytes: entry.bytes, requestId: entry.requestId },
      { retries: 2, instance: "web-2", path: "/web/x", status: 200, bytes: 5, requestId: res.headers["x-request-id"] },
    );
  } finally {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
