/**
 * HTTP/2 to clients: by ALPN on the HTTPS port and with prior knowledge on
 * the plain port (GATEWAY_H2C=true), with the routing, retries, limits,
 * metrics and error shapes of HTTP/1.1; pseudo-headers mapped for HTTP/1.1
 * instances; hostile clients refused without harm to the next request.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { connect, constants, createServer as createH2cServer, type ClientHttp2Session, type Http2Server } from "node:http2";
import { once } from "node:events";
import { connect as netConnect, type AddressInfo } from "node:net";
import { randomBytes, createHash } from "node:crypto";
import { ConsulAgent } from "../support/consul.js";
import { startBackend, type Backend } from "../support/backends.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";
import { curl, h2Request, rawH2Request } from "../support/h2.js";
import { freePort } from "../support/ports.js";
import { TestCertificates } from "../support/test-certificates.js";
import { eventually, within } from "../support/wait.js";

interface Inspected {
  id: string;
  method: string;
  url: string;
  headers: Record<string, string>;
  rawHeaders: string[];
}

describe("HTTP/2 to clients: h2c on the plain port and h2 by ALPN on HTTPS", () => {
  let consul: ConsulAgent;
  let backend: Backend;
  let hopBackend: Server;
  let trailersBackend: Http2Server;
  let certs: TestCertificates;
  let gateway: TestGateway;
  let h2c: string;
  let https: string;
  let backendHits = 0;

  before(async () => {
    certs = TestCertificates.create();
    const leaf = certs.issue(["localhost"]);
    consul = await ConsulAgent.start();
    backend = await startBackend("h2-1");
    backend.server.on("request", () => backendHits++);
    // An HTTP/1.1 instance that answers with connection-specific headers, which HTTP/2 forbids.
    hopBackend = createServer((_req, res) => {
      res.writeHead(200, { connection: "keep-alive, x-hop", "keep-alive": "timeout=5", "x-hop": "1", "x-kept": "yes", "content-type": "text/plain" });
      res.end("hop");
    });
    hopBackend.listen(0, "127.0.0.1");
    await once(hopBackend, "listening");
    // An h2c instance that reports the request trailers it got and answers with trailers of its own.
    trailersBackend = createH2cServer((req, res) => {
      req.resume();
      req.on("end", () => {
        res.writeHead(200, { "content-type": "application/json" });
        res.addTrailers({ "x-answer-trailer": "done" });
        res.end(JSON.stringify({ trailers: req.trailers, te: req.headers.te ?? null }));
      });
    });
    trailersBackend.listen(0, "127.0.0.1");
    await once(trailersBackend, "listening");
    await consul.register({ ID: "trailers-1", Name: "trailers", Address: "127.0.0.1", Port: (trailersBackend.address() as AddressInfo).port, Meta: { "gateway-protocol": "h2c" }, Check: { TTL: "1h", Status: "passing" } });
    const dead = await freePort();
    await consul.register({ ID: "h2-1", Name: "service-web", Address: "127.0.0.1", Port: backend.port, Check: { TTL: "1h", Status: "passing" } });
    await consul.register({ ID: "hop-1", Name: "hop", Address: "127.0.0.1", Port: (hopBackend.address() as AddressInfo).port, Check: { TTL: "1h", Status: "passing" } });
    // Half of "flaky" refuses connections: every request must still succeed by a retry on the other.
    await consul.register({ ID: "flaky-dead", Name: "flaky", Address: "127.0.0.1", Port: dead, Check: { TTL: "1h", Status: "passing" } });
    await consul.register({ ID: "flaky-live", Name: "flaky", Address: "127.0.0.1", Port: backend.port, Check: { TTL: "1h", Status: "passing" } });
    gateway = await startTestGateway(consul.address, {
      GATEWAY_SERVICES: "service-web,hop,flaky,trailers",
      GATEWAY_H2C: "true",
      GATEWAY_HTTPS_PORT: "0",
      GATEWAY_TLS_CERT: leaf.certFile,
      GATEWAY_TLS_KEY: leaf.keyFile,
      GATEWAY_MAX_HEADER_COUNT: "50",
      GATEWAY_MAX_HEADER_BYTES: "8192",
      GATEWAY_OUTLIER_FAILURES: "0",
      GATEWAY_RETRY_ATTEMPTS: "2",
      // Well under Node's HTTP/1.1 default (5 s), so that the test below tells the setting from the default.
      GATEWAY_CLIENT_IDLE_TIMEOUT_MS: "1000",
    });
    h2c = `http://127.0.0.1:${gateway.port}`;
    https = `https://127.0.0.1:${gateway.httpsPort}`;
  });

  after(async () => {
    await gateway?.close();
    await backend?.close();
    if (hopBackend) await new Promise((resolve) => hopBackend.close(resolve));
    if (trailersBackend) await new Promise((resolve) => trailersBackend.close(resolve));
    await consul?.destroy();
    certs?.destroy();
  });

  test("curl with prior knowledge and curl with HTTP/1.1 share the plain port", async () => {
    const h2 = await curl(["--http2-prior-knowledge", "-o", "/dev/null", "-w", "%{http_version} %{http_code}", `${h2c}/service-web/getRemoteIp`]);
    assert.equal(h2.stdout, "2 200", h2.stderr);
    const h1 = await curl(["--http1.1", "-o", "/dev/null", "-w", "%{http_version} %{http_code}", `${h2c}/service-web/getRemoteIp`]);
    assert.equal(h1.stdout, "1.1 200", h1.stderr);
    // curl --http2 on http:// asks for an Upgrade to h2c (dropped by RFC 9113): answered over HTTP/1.1.
    const upgrade = await curl(["--http2", "-o", "/dev/null", "-w", "%{http_version} %{http_code}", `${h2c}/service-web/getRemoteIp`]);
    assert.equal(upgrade.stdout, "1.1 200", upgrade.stderr);
  });

  test("curl over HTTPS gets HTTP/2 by ALPN, or HTTP/1.1 when it asks for it", async () => {
    const h2 = await curl(["--http2", "--cacert", certs.caFile, "-o", "/dev/null", "-w", "%{http_version} %{http_code}", `https://localhost:${gateway.httpsPort}/service-web/getRemoteIp`]);
    assert.equal(h2.stdout, "2 200", h2.stderr);
    const h1 = await curl(["--http1.1", "-k", "-o", "/dev/null", "-w", "%{http_version} %{http_code}", `${https}/service-web/getRemoteIp`]);
    assert.equal(h1.stdout, "1.1 200", h1.stderr);
  });

  test("X-Forwarded-Proto comes from the connection: https on the TLS port, http on the plain one, whatever the client claims", async () => {
    const viaTls = await h2Request(https, "/service-web/inspect/p", { "x-forwarded-proto": "http" }, undefined, { ca: certs.ca, servername: "localhost" });
    assert.equal(viaTls.json<Inspected>().headers["x-forwarded-proto"], "https");
    const viaH2c = await h2Request(h2c, "/service-web/inspect/p", { "x-forwarded-proto": "https" });
    assert.equal(viaH2c.json<Inspected>().headers["x-forwarded-proto"], "http");
    const viaTlsH1 = await curl(["--http1.1", "-k", `${https}/service-web/inspect/p`]);
    assert.equal((JSON.parse(viaTlsH1.stdout) as Inspected).headers["x-forwarded-proto"], "https");
  });

  test(":authority becomes the forwarded host; no pseudo-header reaches the HTTP/1.1 instance; split cookies are joined", async () => {
    const res = await h2Request(h2c, "/service-web/inspect/a?q=1", { ":authority": "api.example.test", cookie: ["a=1", "b=2"], "x-custom": "kept" });
    assert.equal(res.status, 200);
    const seen = res.json<Inspected>();
    assert.equal(seen.url, "/inspect/a?q=1");
    assert.equal(seen.headers["x-forwarded-host"], "api.example.test");
    assert.equal(seen.headers["x-custom"], "kept");
    assert.equal(seen.headers.cookie, "a=1; b=2");
    const names = seen.rawHeaders.filter((_, i) => i % 2 === 0);
    assert.deepEqual(names.filter((name) => name.startsWith(":")), []);
    assert.equal(names.filter((name) => name.toLowerCase() === "cookie").length, 1);
  });

  test("GATEWAY_PRESERVE_HOST is not needed for the instance to see a Host: without it, the instance's own address", async () => {
    const res = await h2Request(h2c, "/service-web/inspect/h", { ":authority": "api.example.test" });
    assert.equal(res.json<Inspected>().headers.host, `127.0.0.1:${backend.port}`);
  });

  test("a body without Content-Length is streamed to the instance and echoed byte for byte", async () => {
    const body = randomBytes(3 * 1024 * 1024);
    const session = connect(h2c);
    try {
      const stream = session.request({ ":method": "POST", ":path": "/service-web/echo/up", "content-type": "application/octet-stream" });
      const chunks: Buffer[] = [];
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      // Written in pieces, no length declared: only END_STREAM says where the body ends.
      for (let offset = 0; offset < body.length; offset += 256 * 1024) stream.write(body.subarray(offset, offset + 256 * 1024));
      const ended = once(stream, "end");
      stream.end();
      const [headers] = (await once(stream, "response")) as [Record<string, string | number>];
      await ended;
      assert.equal(headers[":status"], 200);
      const echoed = Buffer.concat(chunks);
      assert.equal(echoed.length, body.length);
      assert.equal(createHash("sha256").update(echoed).digest("hex"), createHash("sha256").update(body).digest("hex"));
    } finally {
      session.close();
    }
  });

  test("connection-specific headers of an HTTP/1.1 instance are not sent on HTTP/2; the rest are", async () => {
    for (const authority of [h2c, https]) {
      const res = await h2Request(authority, "/hop/x", {}, undefined, { ca: certs.ca, servername: "localhost" });
      assert.equal(res.status, 200);
      assert.equal(res.body.toString(), "hop");
      assert.equal(res.headers["x-kept"], "yes");
      for (const name of ["connection", "keep-alive", "x-hop", "transfer-encoding"]) assert.equal(res.headers[name], undefined, name);
    }
  });

  test("trailers both ways with an h2c instance: announced request trailers reach it, TE: trailers is kept, its trailers come back", async () => {
    const session = connect(h2c);
    try {
      const stream = session.request({ ":method": "POST", ":path": "/trailers/x", te: "trailers", trailer: "x-request-trailer" }, { waitForTrailers: true });
      stream.on("wantTrailers", () => stream.sendTrailers({ "x-request-trailer": "sent" }));
      const chunks: Buffer[] = [];
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      const trailers = once(stream, "trailers") as Promise<[Record<string, string>]>;
      const ended = once(stream, "end");
      stream.end("body");
      const [answerTrailers] = await within(trailers, 15_000, "the answer's trailers");
      await within(ended, 15_000, "the end of the answer");
      const seen = JSON.parse(Buffer.concat(chunks).toString()) as { trailers: Record<string, string>; te: string | null };
      assert.equal(seen.trailers["x-request-trailer"], "sent");
      assert.equal(seen.te, "trailers");
      assert.equal(answerTrailers["x-answer-trailer"], "done");
    } finally {
      session.close();
    }
  });

  test("errors are answered as over HTTP/1.1, same status and JSON: an unknown service, a bad service name, no service", async () => {
    for (const path of ["/no-such-service/x", "/bad%20name/x", "/"]) {
      const overH1 = await fetch(`${h2c}${path}`);
      const h1Body = (await overH1.json()) as { error: { code: string } };
      assert.ok(overH1.status >= 400, path);
      for (const authority of [h2c, https]) {
        const overH2 = await h2Request(authority, path, {}, undefined, { ca: certs.ca, servername: "localhost" });
        assert.equal(overH2.status, overH1.status, `${path} on ${authority}`);
        assert.equal(overH2.headers["content-type"], "application/json; charset=utf-8");
        assert.equal(overH2.json<{ error: { code: string } }>().error.code, h1Body.error.code, path);
      }
    }
  });

  test("a request that cannot reach one instance is retried on the other, over HTTP/2 as over HTTP/1.1", async () => {
    for (let i = 0; i < 10; i++) {
      const res = await h2Request(h2c, "/flaky/getRemoteIp");
      assert.equal(res.status, 200);
    }
  });

  test("more headers than GATEWAY_MAX_HEADER_COUNT: 431 in the gateway's JSON shape, as over HTTP/1.1", async () => {
    const headers: Record<string, string> = {};
    for (let i = 0; i < 60; i++) headers[`x-h${i}`] = "v";
    const res = await h2Request(h2c, "/service-web/getRemoteIp", headers);
    assert.equal(res.status, 431);
    assert.equal(res.json<{ error: { code: string } }>().error.code, "REQUEST_HEADERS_TOO_LARGE");
  });

  test("HTTP/2 requests are counted in the metrics like HTTP/1.1 ones", async () => {
    const count = async (): Promise<number> => {
      const text = await (await fetch(`${gateway.adminUrl}/metrics`)).text();
      const line = text.split("\n").find((l) => l.startsWith("gateway_requests_total{") && l.includes('service="service-web"') && l.includes('status_class="2xx"'));
      return line === undefined ? 0 : Number(line.split(" ").at(-1));
    };
    const before = await count();
    for (let i = 0; i < 3; i++) await h2Request(h2c, "/service-web/getRemoteIp");
    await h2Request(https, "/service-web/getRemoteIp", {}, undefined, { ca: certs.ca, servername: "localhost" });
    assert.equal(await count(), before + 4);
  });

  // Hostile clients: frames node:http2 itself would refuse to send.
  const hostile: { name: string; fields: [string, string][] }[] = [
    { name: "no :path", fields: [[":method", "GET"], [":scheme", "http"], [":authority", "x"]] },
    { name: "an unknown pseudo-header", fields: [[":method", "GET"], [":path", "/service-web/getRemoteIp"], [":scheme", "http"], [":evil", "1"]] },
    { name: "a pseudo-header after a regular one", fields: [[":method", "GET"], ["x-a", "1"], [":path", "/service-web/getRemoteIp"], [":scheme", "http"]] },
    { name: "a repeated :method", fields: [[":method", "GET"], [":method", "POST"], [":path", "/service-web/getRemoteIp"], [":scheme", "http"]] },
    { name: "an upper-case header name", fields: [[":method", "GET"], [":path", "/service-web/getRemoteIp"], [":scheme", "http"], ["X-Upper", "1"]] },
    { name: "a Connection header", fields: [[":method", "GET"], [":path", "/service-web/getRemoteIp"], [":scheme", "http"], ["connection", "keep-alive"]] },
    { name: "Transfer-Encoding", fields: [[":method", "GET"], [":path", "/service-web/getRemoteIp"], [":scheme", "http"], ["transfer-encoding", "chunked"]] },
    { name: "a header value with a newline", fields: [[":method", "GET"], [":path", "/service-web/getRemoteIp"], [":scheme", "http"], ["x-split", "a\r\nx-injected: 1"]] },
    { name: "a header list past GATEWAY_MAX_HEADER_BYTES", fields: [[":method", "GET"], [":path", "/service-web/getRemoteIp"], [":scheme", "http"], ...Array.from({ length: 40 }, (_, i): [string, string] => [`x-big-${i}`, "v".repeat(1000)])] },
    { name: "thousands of headers", fields: [[":method", "GET"], [":path", "/service-web/getRemoteIp"], [":scheme", "http"], ...Array.from({ length: 3000 }, (_, i): [string, string] => [`x-${i}`, "1"])] },
  ];
  for (const { name, fields } of hostile) {
    test(`hostile client, ${name}: refused before any instance sees it, and the next request is served`, async () => {
      const hitsBefore = backendHits;
      const outcome = await rawH2Request(gateway.port, fields);
      const refused = outcome.rstCode !== undefined || outcome.goawayCode !== undefined || outcome.closed || outcome.answered;
      assert.ok(refused, JSON.stringify(outcome));
      assert.equal(backendHits, hitsBefore, "the request must not reach the instance");
      const next = await h2Request(h2c, "/service-web/getRemoteIp");
      assert.equal(next.status, 200);
    });
  }

  test("a client that resets its stream mid-body: the upstream request is abandoned, nothing stays in flight", async () => {
    const session = connect(h2c);
    try {
      const stream = session.request({ ":method": "POST", ":path": "/service-web/echo/reset", "content-type": "application/octet-stream" });
      stream.on("error", () => {});
      stream.write(randomBytes(64 * 1024));
      // Let the gateway start the upstream request, then reset.
      await eventually(() => (gateway.stats.get(`${consul.node}/h2-1`).inFlight > 0 ? true : undefined), 15_000, "the request in flight");
      stream.close(constants.NGHTTP2_CANCEL);
      await eventually(() => (gateway.stats.get(`${consul.node}/h2-1`).inFlight === 0 ? true : undefined), 15_000, "nothing in flight after the reset");
    } finally {
      session.destroy();
    }
    const next = await within(h2Request(h2c, "/service-web/getRemoteIp"), 15_000, "the next request");
    assert.equal(next.status, 200);
  });

  test("GATEWAY_CLIENT_IDLE_TIMEOUT_MS: an idle HTTP/2 session gets a GOAWAY, one with a quiet stream open keeps it, an idle HTTP/1.1 connection is closed", async () => {
    const idle = connect(h2c);
    idle.on("error", () => {});
    let quiet: ClientHttp2Session | undefined;
    try {
      const first = idle.request({ ":path": "/service-web/getRemoteIp" });
      first.resume();
      await within(once(first, "end"), 15_000, "the idle session's only answer");
      await within(once(idle, "goaway"), 15_000, "a GOAWAY on the idle session");

      // The stream is silent for 2.5 idle timeouts: the session must stay until its answer is in.
      quiet = connect(h2c);
      quiet.on("error", () => {});
      let goawayBeforeEnd = false;
      let ended = false;
      quiet.once("goaway", () => (goawayBeforeEnd = !ended));
      const slow = quiet.request({ ":path": "/service-web/slow?ms=2500" });
      const response = once(slow, "response") as Promise<[Record<string, string | number>]>;
      const end = once(slow, "end");
      slow.resume();
      const [headers] = await within(response, 15_000, "the slow answer");
      await within(end, 15_000, "the end of the slow answer");
      ended = true;
      assert.equal(headers[":status"], 200);
      assert.equal(goawayBeforeEnd, false, "the session was sent a GOAWAY while its stream was open");
      await within(once(quiet, "goaway"), 15_000, "a GOAWAY once the stream ended and the session was idle");

      // HTTP/1.1 keep-alive uses the same setting: the connection goes well before Node's 5 s default.
      const socket = netConnect(gateway.port, "127.0.0.1");
      socket.on("error", () => {});
      socket.resume();
      await once(socket, "connect");
      const t0 = Date.now();
      socket.write("GET /service-web/getRemoteIp HTTP/1.1\r\nHost: x\r\n\r\n");
      await within(once(socket, "close"), 15_000, "the idle HTTP/1.1 connection to be closed");
      assert.ok(Date.now() - t0 < 4_000, `the idle HTTP/1.1 connection lasted ${Date.now() - t0} ms, as if the default applied`);
    } finally {
      idle.destroy();
      quiet?.destroy();
    }
  });

  // Last: it closes the gateway.
  test("draining: an HTTP/2 session gets a GOAWAY, its request in flight still finishes, new connections are refused", async () => {
    const session = connect(h2c);
    session.on("error", () => {});
    try {
      const goaway = once(session, "goaway");
      const stream = session.request({ ":path": "/service-web/slow?ms=1500" });
      const chunks: Buffer[] = [];
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      const response = once(stream, "response") as Promise<[Record<string, string | number>]>;
      const ended = once(stream, "end");
      await eventually(() => (gateway.stats.get(`${consul.node}/h2-1`).inFlight > 0 ? true : undefined), 15_000, "the slow request in flight");
      const closing = gateway.close();
      await within(goaway, 15_000, "the GOAWAY");
      const [headers] = await within(response, 15_000, "the slow answer");
      await within(ended, 15_000, "the end of the slow answer");
      assert.equal(headers[":status"], 200);
      assert.equal((JSON.parse(Buffer.concat(chunks).toString()) as { id: string }).id, "h2-1");
      await within(closing, 20_000, "the gateway to close");
      const refused = await curl(["--http2-prior-knowledge", `${h2c}/service-web/getRemoteIp`], 5);
      assert.notEqual(refused.code, 0);
    } finally {
      session.destroy();
    }
  });
});
