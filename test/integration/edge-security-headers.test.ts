/**
 * The small leaks of an edge: forwarded headers from untrusted and trusted
 * peers, the gateway's own headers against a client's Connection header, tag
 * selection by header, CONNECT and TRACE, 100-continue before a refusal, an
 * instance's oversized response headers, instance ids in error bodies, and
 * the admin API's token. Each probe asserts what the instance received (a
 * recording instance) as well as what the client got.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import superagent from "superagent";
import { ConsulAgent } from "../support/consul.js";
import { startTrapListener, type TrapListener } from "../support/trap-listener.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";
import { freePort } from "../support/ports.js";
import { startRecordingInstance, type RecordingInstance } from "../support/recording-instance.js";
import { errorCodeOf, rawRequest } from "../support/raw-http.js";
import { eventually } from "../support/wait.js";

const ADMIN_TOKEN = "s3cret-admin-token";

/** Headers a client sends to pass itself off as someone else, dashes and underscores. */
const SPOOFED: Record<string, string> = {
  "X-Forwarded-For": "1.2.3.4",
  "X-Forwarded-Proto": "https",
  "X-Forwarded-Host": "evil.example",
  "X-Forwarded-Port": "443",
  "X-Forwarded-Prefix": "/admin",
  "X-Forwarded-Server": "evil",
  Forwarded: "for=1.2.3.4;host=evil.example;proto=https",
  "X-Real-IP": "1.2.3.4",
  X_Forwarded_For: "5.6.7.8",
  "X-Forwarded_Host": "evil-underscore.example",
  X_Real_IP: "5.6.7.8",
};

function rawGet(path: string, headers: Record<string, string>): string {
  return `GET ${path} HTTP/1.1\r\nHost: gw.example\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join("")}Connection: close\r\n\r\n`;
}

describe("edge headers, methods and leaks", () => {
  let consul: ConsulAgent;
  let stable: RecordingInstance;
  let canary: RecordingInstance;
  /** Defaults, an admin token, an access log and a 1 KiB body limit. */
  let plain: TestGateway;
  /** Trusts loopback peers, emits Forwarded, allows the tag header for `canary` only, takes 64 KiB response headers. */
  let tuned: TestGateway;
  let logDir: string;
  let logFile: string;
  let trap: TrapListener | undefined;
  let trapPort = 0;
  let deadPort = 0;

  const allReceived = (): number => stable.received.length + canary.received.length;
  /** What the instance that got the latest request received. */
  async function sendAndRecord(gateway: TestGateway, request: string) {
    const before = [stable.received.length, canary.received.length];
    const response = await rawRequest(gateway.port, request);
    const got = stable.received.length > before[0]! ? stable.received.at(-1) : canary.received.length > before[1]! ? canary.received.at(-1) : undefined;
    return { response, got };
  }
  const logEntries = (): Record<string, unknown>[] =>
    readFileSync(logFile, "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);

  before(async () => {
    trap = await startTrapListener();
    trapPort = trap.port;
    consul = await ConsulAgent.start();
    stable = await startRecordingInstance("stable-1");
    canary = await startRecordingInstance("canary-1");
    await consul.register({ ID: "stable-1", Name: "svc", Address: "127.0.0.1", Port: stable.port, Tags: ["internal"], Check: { TTL: "1h", Status: "passing" } });
    await consul.register({ ID: "canary-1", Name: "svc", Address: "127.0.0.1", Port: canary.port, Tags: ["canary"], Check: { TTL: "1h", Status: "passing" } });
    deadPort = await freePort();
    await consul.register({ ID: "dead-secret-7", Name: "dead", Address: "127.0.0.1", Port: deadPort });
    logDir = mkdtempSync(join(tmpdir(), "kcg-edge-"));
    logFile = join(logDir, "access.log");
    plain = await startTestGateway(consul.address, {
      GATEWAY_SERVICES: "svc",
      GATEWAY_BALANCER: "round-robin",
      GATEWAY_MAX_BODY_BYTES: "1024",
      GATEWAY_ACCESS_LOG: logFile,
      GATEWAY_ADMIN_TOKEN: ADMIN_TOKEN,
    });
    tuned = await startTestGateway(consul.address, {
      GATEWAY_SERVICES: "svc",
      GATEWAY_BALANCER: "round-robin",
      GATEWAY_TRUSTED_PROXIES: "10.0.0.0/8, 127.0.0.0/8, ::1/128",
      GATEWAY_FORWARDED: "true",
      GATEWAY_TAG_HEADER: "X-Gateway-Tag",
      GATEWAY_TAG_HEADER_ALLOW: "canary",
      GATEWAY_MAX_RESPONSE_HEADER_BYTES: "65536",
    });
    for (const gateway of [plain, tuned]) {
      await eventually(() => gateway.store.current.get("svc")?.instances.length === 2, 30_000, "two svc instances");
    }
  });

  after(async () => {
    await Promise.all([plain?.close(), tuned?.close()]);
    await Promise.all([stable?.close(), canary?.close()]);
    await consul?.destroy();
    trap?.close();
    if (logDir) rmSync(logDir, { recursive: true, force: true });
  });

  test("from an untrusted peer, every forwarded header the client sent is replaced by what the gateway saw", async () => {
    const { response, got } = await sendAndRecord(plain, rawGet("/svc/inspect", SPOOFED));
    assert.equal(response.status, 200, response.body);
    assert.ok(got);
    assert.deepEqual(got.headers.get("x-forwarded-for"), ["127.0.0.1"]);
    assert.deepEqual(got.headers.get("x-forwarded-proto"), ["http"]);
    assert.deepEqual(got.headers.get("x-forwarded-host"), ["gw.example"]);
    assert.deepEqual(got.headers.get("x-forwarded-port"), [String(plain.port)]);
    assert.deepEqual(got.headers.get("x-real-ip"), ["127.0.0.1"]);
    for (const name of ["forwarded", "x-forwarded-prefix", "x-forwarded-server", "x_forwarded_for", "x-forwarded_host", "x_real_ip"]) {
      assert.equal(got.headers.get(name), undefined, `${name} reached the instance`);
    }
  });

  test("from a trusted peer, X-Forwarded-For is extended and the other forwarded headers are kept", async () => {
    const { response, got } = await sendAndRecord(tuned, rawGet("/svc/inspect", SPOOFED));
    assert.equal(response.status, 200, response.body);
    assert.ok(got);
    assert.deepEqual(got.headers.get("x-forwarded-for"), ["1.2.3.4, 127.0.0.1"]);
    assert.deepEqual(got.headers.get("x-forwarded-proto"), ["https"]);
    assert.deepEqual(got.headers.get("x-forwarded-host"), ["evil.example"]);
    assert.deepEqual(got.headers.get("x-forwarded-port"), ["443"]);
    assert.deepEqual(got.headers.get("x-forwarded-prefix"), ["/admin"]);
    assert.deepEqual(got.headers.get("x-real-ip"), ["1.2.3.4"]);
    // RFC 7239: the gateway appends its own element to the trusted chain.
    assert.deepEqual(got.headers.get("forwarded"), ["for=1.2.3.4;host=evil.example;proto=https, for=127.0.0.1;host=gw.example;proto=http"]);
    // Underscore variants are dropped whoever sends them: servers that fold '_' into '-' would read them as the real ones.
    for (const name of ["x_forwarded_for", "x-forwarded_host", "x_real_ip"]) assert.equal(got.headers.get(name), undefined, name);
  });

  test("a trusted peer that sends no forwarded headers gets the gateway's own", async () => {
    const { got } = await sendAndRecord(tuned, rawGet("/svc/inspect", {}));
    assert.ok(got);
    assert.deepEqual(got.headers.get("x-forwarded-for"), ["127.0.0.1"]);
    assert.deepEqual(got.headers.get("x-forwarded-proto"), ["http"]);
    assert.deepEqual(got.headers.get("forwarded"), ["for=127.0.0.1;host=gw.example;proto=http"]);
  });

  test("Connection cannot strip the gateway's own headers (X-Request-Id, X-Forwarded-*)", async () => {
    const given = await sendAndRecord(plain, rawGet("/svc/inspect", { "X-Request-Id": "trace-abc" }).replace("Connection: close", "Connection: close, x-request-id"));
    assert.ok(given.got);
    assert.deepEqual(given.got.headers.get("x-request-id"), ["trace-abc"]);
    assert.match(given.response.headers, /\r\nx-request-id: trace-abc/i);
    const made = await sendAndRecord(plain, rawGet("/svc/inspect", {}).replace("Connection: close", "Connection: close, X-Request-Id, X-Forwarded-For, X-Forwarded-Proto, X-Forwarded-Host"));
    assert.ok(made.got);
    const id = /\r\nx-request-id: ([^\r]+)/i.exec(made.response.headers)?.[1];
    assert.ok(id);
    assert.deepEqual(made.got.headers.get("x-request-id"), [id]);
    assert.deepEqual(made.got.headers.get("x-forwarded-for"), ["127.0.0.1"]);
    assert.deepEqual(made.got.headers.get("x-forwarded-proto"), ["http"]);
    assert.deepEqual(made.got.headers.get("x-forwarded-host"), ["gw.example"]);
  });

  test("by default a client cannot choose instances by tag", async () => {
    const ids = new Set<string>();
    for (let i = 0; i < 6; i++) {
      const res = await superagent.get(`${plain.url}/svc/inspect`).set("X-Gateway-Tag", "canary");
      ids.add((res.body as { id: string }).id);
    }
    assert.deepEqual([...ids].sort(), ["canary-1", "stable-1"]);
  });

  test("with a tag header and an allow-list, only the listed tags may be asked for", async () => {
    for (let i = 0; i < 4; i++) {
      const res = await superagent.get(`${tuned.url}/svc/inspect`).set("X-Gateway-Tag", "canary");
      assert.equal((res.body as { id: string }).id, "canary-1");
    }
    const before = allReceived();
    const refused = await superagent.get(`${tuned.url}/svc/inspect`).set("X-Gateway-Tag", "internal").ok(() => true);
    assert.equal(refused.status, 400, JSON.stringify(refused.body));
    assert.equal((refused.body as { error: { code: string } }).error.code, "TAG_NOT_ALLOWED");
    assert.equal(allReceived(), before);
  });

  test("CONNECT and TRACE get a JSON 405 and a log line, and contact nothing", async () => {
    const connect = await rawRequest(plain.port, `CONNECT 127.0.0.1:${trapPort} HTTP/1.1\r\nHost: 127.0.0.1:${trapPort}\r\n\r\n`);
    assert.equal(connect.status, 405, connect.all || "no answer at all");
    assert.match(connect.headers, /content-type: application\/json/i);
    assert.equal(errorCodeOf(connect.body), "METHOD_NOT_ALLOWED");
    const before = allReceived();
    const trace = await rawRequest(plain.port, rawGet("/svc/inspect", {}).replace(/^GET/, "TRACE"));
    assert.equal(trace.status, 405, trace.all);
    assert.equal(errorCodeOf(trace.body), "METHOD_NOT_ALLOWED");
    assert.equal(allReceived(), before, "TRACE reached an instance");
    assert.equal(trap?.connections, 0);
    await eventually(() => logEntries().some((e) => e.method === "CONNECT" && e.status === 405 && e.error === "METHOD_NOT_ALLOWED"), 10_000, "CONNECT in the access log");
  });

  test("100 Continue only for a routable request within limits", async () => {
    const expectContinue = (path: string, length: number): string =>
      `POST ${path} HTTP/1.1\r\nHost: gw\r\nExpect: 100-continue\r\nContent-Length: ${length}\r\nConnection: close\r\n\r\n`;
    const unknown = await rawRequest(plain.port, expectContinue("/no-such-service/x", 10));
    assert.match(unknown.all, /^HTTP\/1\.1 404 /, unknown.all.slice(0, 40));
    const tooBig = await rawRequest(plain.port, expectContinue("/svc/inspect", 5000));
    assert.match(tooBig.all, /^HTTP\/1\.1 413 /, tooBig.all.slice(0, 40));
    assert.equal(errorCodeOf(tooBig.body), "PAYLOAD_TOO_LARGE");
    const badPath = await rawRequest(plain.port, expectContinue("/svc/../../x", 10));
    assert.match(badPath.all, /^HTTP\/1\.1 400 /, badPath.all.slice(0, 40));
    // A routable request within limits still gets its 100 Continue, then its answer once the body is sent.
    const { connect } = await import("node:net");
    const socket = connect(plain.port, "127.0.0.1");
    await once(socket, "connect");
    let data = "";
    socket.on("data", (chunk: Buffer) => (data += chunk.toString("latin1")));
    socket.write(expectContinue("/svc/inspect", 5));
    await eventually(() => data.startsWith("HTTP/1.1 100 Continue"), 10_000, "100 Continue");
    socket.write("hello");
    await eventually(() => /HTTP\/1\.1 200 /.test(data), 10_000, "200 after the body");
    socket.destroy();
  });

  test("an instance's response headers over the limit give 502 UPSTREAM_HEADERS_TOO_LARGE, counted in metrics", async () => {
    const res = await superagent.get(`${plain.url}/svc/big-header/20000`).ok(() => true);
    assert.equal(res.status, 502);
    assert.equal((res.body as { error: { code: string } }).error.code, "UPSTREAM_HEADERS_TOO_LARGE");
    const metrics = await superagent.get(`${plain.adminUrl}/metrics`).set("Authorization", `Bearer ${ADMIN_TOKEN}`).buffer(true);
    assert.match(metrics.text, /gateway_upstream_errors_total\{service="svc",code="UPSTREAM_HEADERS_TOO_LARGE"\} [1-9]/);
    // Read raw: Node's own client stops at 16 KiB of headers too.
    const raised = await rawRequest(tuned.port, rawGet("/svc/big-header/20000", {}));
    assert.equal(raised.status, 200, raised.headers.slice(0, 200));
    assert.equal(/\r\nx-big: (b+)/i.exec(raised.headers)?.[1]?.length, 20000);
  });

  test("error bodies name the service, never an instance id or address; the access log keeps them", async () => {
    const res = await superagent.get(`${plain.url}/dead/x`).ok(() => true);
    assert.equal(res.status, 502);
    const error = (res.body as { error: { code: string; service: string } }).error;
    assert.equal(error.code, "UPSTREAM_UNREACHABLE");
    assert.equal(error.service, "dead");
    for (const secret of ["dead-secret-7", "127.0.0.1", String(deadPort)]) {
      assert.ok(!res.text.includes(secret), `the error body gives away ${secret}: ${res.text}`);
    }
    const entry = await eventually(() => logEntries().find((e) => e.service === "dead" && String(e.instance).endsWith("/dead-secret-7")), 10_000, "the instance in the access log");
    assert.match(String(entry.detail), new RegExp(`dead-secret-7 at 127\\.0\\.0\\.1:${deadPort}`));
  });

  test("GATEWAY_ADMIN_TOKEN: the admin API asks for the bearer token; health probes stay open", async () => {
    for (const auth of [undefined, "Bearer wrong-token", `Basic ${Buffer.from(`x:${ADMIN_TOKEN}`).toString("base64")}`, ADMIN_TOKEN]) {
      const request = superagent.get(`${plain.adminUrl}/routes`).ok(() => true);
      const res = await (auth === undefined ? request : request.set("Authorization", auth));
      assert.equal(res.status, 401, `${auth}: ${res.status}`);
      assert.equal((res.body as { error: { code: string } }).error.code, "UNAUTHORIZED");
      assert.match(res.headers["www-authenticate"] ?? "", /^Bearer/);
    }
    const ok = await superagent.get(`${plain.adminUrl}/routes`).set("Authorization", `Bearer ${ADMIN_TOKEN}`);
    assert.equal(ok.status, 200);
    assert.equal((await superagent.get(`${plain.adminUrl}/health`)).status, 200);
    // A gateway without the setting is open, as before.
    assert.equal((await superagent.get(`${tuned.adminUrl}/routes`)).status, 200);
  });
});
