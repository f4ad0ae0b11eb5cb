import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes, createHash } from "node:crypto";
import superagent from "superagent";
import { ConsulAgent } from "../support/consul.js";
import { startBackend, type Backend } from "../support/backends.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";
import { freePort } from "../support/ports.js";

/** superagent treats 4xx/5xx as errors; these tests assert on them, so keep the response. */
async function send(request: superagent.SuperAgentRequest): Promise<superagent.Response> {
  return request.ok(() => true);
}

describe("forwarding: bodies, paths, headers and statuses pass through", () => {
  let consul: ConsulAgent;
  let backend: Backend;
  let gateway: TestGateway;

  before(async () => {
    consul = await ConsulAgent.start();
    backend = await startBackend("echo-1");
    await consul.register({ ID: "echo-1", Name: "service-web", Address: "127.0.0.1", Port: backend.port, Check: { TTL: "1h", Status: "passing" } });
    gateway = await startTestGateway(consul.address, { GATEWAY_SERVICES: "service-web" });
  });

  after(async () => {
    await gateway?.close();
    await backend?.close();
    await consul?.destroy();
  });

  test("a 5 MB POST body is streamed through and echoed byte for byte", async () => {
    const body = randomBytes(5 * 1024 * 1024);
    const res = await superagent
      .post(`${gateway.url}/service-web/echo/upload`)
      .set("content-type", "application/octet-stream")
      .buffer(true)
      .parse((response, done) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () => done(null, Buffer.concat(chunks)));
      })
      .send(body);
    assert.equal(res.status, 200);
    assert.equal(res.headers["x-echo-method"], "POST");
    const echoed = res.body as Buffer;
    assert.equal(echoed.length, body.length);
    assert.equal(createHash("sha256").update(echoed).digest("hex"), createHash("sha256").update(body).digest("hex"));
  });

  test("an instance that answers before reading the request body: the answer still arrives, nothing stalls", async () => {
    // /inspect never reads the body; a forwarder that waits for the upload to finish would stall here.
    const res = await superagent.post(`${gateway.url}/service-web/inspect/early`).set("content-type", "application/octet-stream").send(randomBytes(5 * 1024 * 1024));
    assert.equal(res.status, 200);
    assert.equal((res.body as { method: string }).method, "POST");
    const after = await superagent.get(`${gateway.url}/service-web/getRemoteIp`);
    assert.equal((after.body as { id: string }).id, "echo-1");
  });

  test("query strings and encoded paths arrive unchanged", async () => {
    const path = "/inspect/a%2Fb/%20c/%C3%A9?x=1&y=%2F&z=a+b&x=2";
    const res = await superagent.get(`${gateway.url}/service-web${path}`);
    assert.equal((res.body as { url: string }).url, path);
  });

  test("a bare service path or a query without a path reaches the instance's root", async () => {
    const bare = await send(superagent.get(`${gateway.url}/service-web/inspect`));
    assert.equal((bare.body as { url: string }).url, "/inspect");
    const queryOnly = await send(superagent.get(`${gateway.url}/service-web?q=1`));
    // service-web has no route at "/", so its own 404 comes back through the gateway untouched.
    assert.equal(queryOnly.status, 404);
    assert.equal(queryOnly.headers["content-type"], "text/plain; charset=utf-8");
  });

  test("methods pass through", async () => {
    for (const method of ["PUT", "PATCH", "DELETE", "OPTIONS"] as const) {
      const res = await superagent(method, `${gateway.url}/service-web/inspect/m`);
      assert.equal((res.body as { method: string }).method, method);
    }
    const head = await superagent.head(`${gateway.url}/service-web/inspect/m`);
    assert.equal(head.status, 200);
  });

  test("request headers: end-to-end ones pass, hop-by-hop ones are stripped, X-Forwarded-* are set", async () => {
    const res = await superagent
      .get(`${gateway.url}/service-web/inspect/h`)
      .set("x-custom", "kept")
      .set("connection", "keep-alive, x-hop")
      .set("x-hop", "must not pass")
      .set("keep-alive", "timeout=5")
      .set("x-forwarded-for", "203.0.113.7");
    const seen = (res.body as { headers: Record<string, string> }).headers;
    assert.equal(seen["x-custom"], "kept");
    assert.equal(seen["x-hop"], undefined);
    assert.equal(seen["keep-alive"], undefined);
    // The client is no trusted proxy (GATEWAY_TRUSTED_PROXIES is empty): its X-Forwarded-For is replaced.
    assert.equal(seen["x-forwarded-for"], "127.0.0.1");
    assert.equal(seen["x-forwarded-proto"], "http");
    assert.equal(seen["x-forwarded-host"], `127.0.0.1:${gateway.port}`);
    // The instance sees its own address as Host, not the gateway's.
    assert.equal(seen["host"], `127.0.0.1:${backend.port}`);
  });

  test("response status and headers pass through, repeated ones (set-cookie) included", async () => {
    const res = await send(superagent.get(`${gateway.url}/service-web/status/418`));
    assert.equal(res.status, 418);
    assert.equal(res.headers["x-service-web-id"], "echo-1");
    assert.deepEqual(res.headers["set-cookie"], ["a=1; Path=/", "b=2; Path=/"]);
    assert.deepEqual(res.body, { status: 418, id: "echo-1" });
  });
});

describe("errors: one JSON shape with a stable code", () => {
  let consul: ConsulAgent;
  let backend: Backend;
  let gateway: TestGateway;

  before(async () => {
    consul = await ConsulAgent.start();
    backend = await startBackend("slow-1");
    await consul.register({ ID: "slow-1", Name: "slow", Address: "127.0.0.1", Port: backend.port, Check: { TTL: "1h", Status: "passing" } });
    await consul.register({ ID: "sick-1", Name: "sick", Address: "127.0.0.1", Port: backend.port, Check: { TTL: "1h", Status: "critical" } });
    const closedPort = await freePort();
    await consul.register({ ID: "gone-1", Name: "gone", Address: "127.0.0.1", Port: closedPort, Check: { TTL: "1h", Status: "passing" } });
    gateway = await startTestGateway(consul.address, { GATEWAY_UPSTREAM_TIMEOUT_MS: "300" });
  });

  after(async () => {
    await gateway?.close();
    await backend?.close();
    await consul?.destroy();
  });

  const cases: { name: string; path: string; status: number; code: string; service?: string }[] = [
    { name: "an invalid service name", path: "/bad%20name/x", status: 400, code: "INVALID_SERVICE_NAME", service: "bad%20name" },
    { name: "a path that climbs above the root", path: "/../x", status: 400, code: "INVALID_PATH" },
    { name: "no service at all", path: "/", status: 404, code: "ROUTE_NOT_FOUND" },
    { name: "a service Consul does not know", path: "/nosuch/x", status: 404, code: "UNKNOWN_SERVICE", service: "nosuch" },
    { name: "a known service with no passing instance", path: "/sick/x", status: 503, code: "NO_HEALTHY_INSTANCE", service: "sick" },
    { name: "an instance that refuses connections", path: "/gone/x", status: 502, code: "UPSTREAM_UNREACHABLE", service: "gone" },
    { name: "an instance slower than the upstream timeout", path: "/slow/slow?ms=2000", status: 504, code: "UPSTREAM_TIMEOUT", service: "slow" },
  ];

  for (const c of cases) {
    test(`${c.name} → ${c.status} ${c.code}`, async () => {
      const res = await send(superagent.get(gateway.url + c.path));
      assert.equal(res.status, c.status);
      assert.match(res.headers["content-type"] ?? "", /^application\/json/);
      const error = (res.body as { error: { code: string; message: string; service?: string } }).error;
      assert.equal(error.code, c.code);
      assert.ok(error.message.length > 0);
      if (c.service !== undefined) assert.equal(error.service, c.service);
    });
  }

  test("per-instance counters: requests and gateway failures counted, nothing left in flight", async () => {
    const gone = gateway.stats.peek(`${consul.node}/gone-1`)!;
    const slow = gateway.stats.peek(`${consul.node}/slow-1`)!;
    assert.ok(gone.requests >= 1 && gone.failures === gone.requests, `gone-1: ${JSON.stringify(gone)}`);
    assert.ok(slow.failures >= 1, `slow-1: ${JSON.stringify(slow)}`);
    assert.equal(gone.inFlight, 0);
    assert.equal(slow.inFlight, 0);
  });

  test("the gateway still serves after every error above", async () => {
    const res = await superagent.get(`${gateway.url}/slow/getRemoteIp`);
    assert.equal((res.body as { id: string }).id, "slow-1");
  });

  test("a service whose discovery never answers → 503 DISCOVERY_TIMEOUT", async () => {
    const nowhere = await freePort();
    const blind = await startTestGateway(`127.0.0.1:${nowhere}`, { GATEWAY_DISCOVERY_TIMEOUT_MS: "300" });
    try {
      const res = await send(superagent.get(`${blind.url}/service-web/getRemoteIp`));
      assert.equal(res.status, 503);
      assert.equal((res.body as { error: { code: string } }).error.code, "DISCOVERY_TIMEOUT");
    } finally {
      await blind.close();
    }
  });
});
