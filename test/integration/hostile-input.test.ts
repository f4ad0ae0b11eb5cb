/**
 * Bad and hostile requests, sent as raw bytes: each gets the right status and
 * a JSON error, none makes the gateway contact a host that is not a
 * registered instance, and the gateway still serves after all of them.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { connect } from "node:net";
import { once } from "node:events";
import superagent from "superagent";
import { ConsulAgent } from "../support/consul.js";
import { startTrapListener, type TrapListener } from "../support/trap-listener.js";
import { startBackend, type Backend } from "../support/backends.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";

interface RawResponse {
  status: number;
  headers: string;
  body: string;
}

/** Writes `request` to a fresh connection, half-closes when asked, and reads until the gateway closes or answers. */
async function raw(port: number, request: string | Buffer, options: { halfClose?: boolean; waitMs?: number } = {}): Promise<RawResponse> {
  const socket = connect(port, "127.0.0.1");
  await once(socket, "connect");
  socket.write(request);
  if (options.halfClose) socket.end();
  let data = "";
  socket.on("data", (chunk) => (data += chunk.toString("latin1")));
  await Promise.race([once(socket, "close"), new Promise((resolve) => setTimeout(resolve, options.waitMs ?? 5_000))]);
  socket.destroy();
  const [head = "", ...rest] = data.split("\r\n\r\n");
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
  return { status, headers: head, body: rest.join("\r\n\r\n") };
}

function errorCode(response: RawResponse): string | undefined {
  // A chunked body has size lines around the JSON.
  const json = /\{.*\}/s.exec(response.body)?.[0];
  return json ? (JSON.parse(json) as { error: { code: string } }).error.code : undefined;
}

describe("hostile and malformed requests", () => {
  let consul: ConsulAgent;
  let backend: Backend;
  let gateway: TestGateway;
  let trap: TrapListener | undefined;
  let trapPort = 0;

  before(async () => {
    trap = await startTrapListener();
    trapPort = trap.port;
    consul = await ConsulAgent.start();
    backend = await startBackend("web-1");
    await consul.register({ ID: "web-1", Name: "service-web", Address: "127.0.0.1", Port: backend.port, Check: { TTL: "1h", Status: "passing" } });
    gateway = await startTestGateway(consul.address, {
      GATEWAY_SERVICES: "service-web",
      GATEWAY_MAX_BODY_BYTES: "1024",
      GATEWAY_MAX_URL_LENGTH: "2048",
      GATEWAY_MAX_HEADER_COUNT: "50",
      GATEWAY_CLIENT_HEADERS_TIMEOUT_MS: "400",
    });
    await superagent.get(`${gateway.url}/service-web/getRemoteIp`);
  });

  after(async () => {
    await gateway?.close();
    await backend?.close();
    await consul?.destroy();
    trap?.close();
  });

  const H = "Host: gw\r\n";
  const cases: { name: string; request: () => string; status: number; code: string; halfClose?: boolean }[] = [
    { name: "an invalid service name", request: () => `GET /bad%20name/x HTTP/1.1\r\n${H}\r\n`, status: 400, code: "INVALID_SERVICE_NAME" },
    { name: "an unknown method token", request: () => `BREW /service-web/x HTTP/1.1\r\n${H}\r\n`, status: 400, code: "BAD_REQUEST" },
    { name: "a control character in the method", request: () => `G\x01T /service-web/x HTTP/1.1\r\n${H}\r\n`, status: 400, code: "BAD_REQUEST" },
    { name: "a header too large", request: () => `GET /service-web/x HTTP/1.1\r\n${H}X-Big: ${"a".repeat(20_000)}\r\n\r\n`, status: 431, code: "REQUEST_HEADERS_TOO_LARGE" },
    { name: "too many headers", request: () => `GET /service-web/x HTTP/1.1\r\n${H}${Array.from({ length: 60 }, (_, i) => `X-H${i}: v\r\n`).join("")}\r\n`, status: 431, code: "REQUEST_HEADERS_TOO_LARGE" },
    { name: "a URL too long", request: () => `GET /service-web/${"a".repeat(3000)} HTTP/1.1\r\n${H}\r\n`, status: 414, code: "URI_TOO_LONG" },
    { name: "a declared body over the limit", request: () => `POST /service-web/echo HTTP/1.1\r\n${H}Content-Length: 5000\r\n\r\n${"x".repeat(5000)}`, status: 413, code: "PAYLOAD_TOO_LARGE" },
    { name: "a chunked body that grows over the limit", request: () => `POST /service-web/echo HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n${"400\r\n" + "y".repeat(1024) + "\r\n"}${"400\r\n" + "y".repeat(1024) + "\r\n"}0\r\n\r\n`, status: 413, code: "PAYLOAD_TOO_LARGE" },
    { name: "Content-Length and Transfer-Encoding together", request: () => `POST /service-web/echo HTTP/1.1\r\n${H}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`, status: 400, code: "BAD_REQUEST" },
    { name: "two different Content-Lengths", request: () => `POST /service-web/echo HTTP/1.1\r\n${H}Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!`, status: 400, code: "BAD_REQUEST" },
    { name: "a bad chunk size", request: () => `POST /service-web/echo HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n`, status: 400, code: "BAD_REQUEST" },
    { name: "a NUL in a header value", request: () => `GET /service-web/x HTTP/1.1\r\n${H}X-A: a\x00b\r\n\r\n`, status: 400, code: "BAD_REQUEST" },
    { name: "a header name with a space", request: () => `GET /service-web/x HTTP/1.1\r\n${H}Bad Name: x\r\n\r\n`, status: 400, code: "BAD_REQUEST" },
    { name: "a bare CR inside the URL", request: () => `GET /service-web/x\rHost:evil HTTP/1.1\r\n${H}\r\n`, status: 400, code: "BAD_REQUEST" },
    { name: "a body cut short (the client stops sending)", request: () => `POST /service-web/echo HTTP/1.1\r\n${H}Content-Length: 100\r\n\r\nonly ten b`, status: 400, code: "BAD_REQUEST", halfClose: true },
    { name: "headers never finished (slowloris)", request: () => `GET /service-web/x HTTP/1.1\r\n${H}X-Slow: `, status: 408, code: "REQUEST_TIMEOUT" },
  ];

  for (const c of cases) {
    test(`${c.name} → ${c.status} ${c.code}`, async () => {
      const response = await raw(gateway.port, c.request(), { halfClose: c.halfClose ?? false });
      assert.equal(response.status, c.status, response.headers + "\n" + response.body);
      assert.match(response.headers, /content-type: application\/json/i);
      assert.equal(errorCode(response), c.code);
    });
  }

  // Targets that try to steer the gateway to the trap: each is refused or lands on the registered instance.
  const steering = (): string[] => [
    `http://127.0.0.1:${trapPort}/service-web/inspect/x`,
    `//127.0.0.1:${trapPort}/inspect/x`,
    `/service-web@127.0.0.1:${trapPort}/inspect/x`,
    `/127.0.0.1:${trapPort}/inspect/x`,
    `/service-web//127.0.0.1:${trapPort}/inspect`,
    `/service-web/..%2F..%2F127.0.0.1:${trapPort}/inspect`,
    `/service-web/%2F%2F127.0.0.1:${trapPort}`,
    `/service-web/../../127.0.0.1:${trapPort}/`,
    `/service-web/inspect%0d%0aHost:%20127.0.0.1:${trapPort}`,
    `/service-web/%2e%2e/%2E%2e/127.0.0.1:${trapPort}/`,
    `/service-web/..;/..;/127.0.0.1:${trapPort}/`,
    `/service-web/\\127.0.0.1:${trapPort}/`,
    `/service-web/x#@127.0.0.1:${trapPort}`,
    `/service-web/%00127.0.0.1:${trapPort}`,
    `/ѕervice-web/inspect/x`,
    `127.0.0.1:${trapPort}`,
    `*`,
  ];

  test("no request target reaches a host that is not a registered instance", async () => {
    for (const target of steering()) {
      const response = await raw(gateway.port, Buffer.from(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${trapPort}\r\n\r\n`, "utf8"));
      assert.ok(response.status > 0, `no answer for ${target}`);
      if (response.status < 400 || (response.status === 404 && !errorCode(response))) {
        // It went upstream: then only to the registered instance (its own 404s have no gateway code).
        assert.ok(!/127\.0\.0\.1:\d+/.test(target) || !response.body.includes(`"host":"127.0.0.1:${trapPort}"`), `${target} carried the client's Host upstream`);
      } else {
        assert.ok(errorCode(response), `${target}: ${response.status} without a JSON error`);
      }
    }
    assert.equal(trap?.connections, 0, "the gateway contacted the trap");
  });

  test("the gateway still serves after all of the above", async () => {
    const res = await superagent.get(`${gateway.url}/service-web/getRemoteIp`);
    assert.equal((res.body as { id: string }).id, "web-1");
  });
});
