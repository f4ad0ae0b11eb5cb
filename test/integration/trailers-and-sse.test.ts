/**
 * HTTP/1.1 trailers through the gateway, both ways, and `TE: trailers` passed
 * on; Server-Sent Events streamed as they are written, never buffered.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, request, type IncomingHttpHeaders, type Server } from "node:http";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { ConsulAgent } from "../support/consul.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";
import { openSse } from "../support/sse.js";

const ttl = { TTL: "1h", Status: "passing" };

interface Seen {
  body: string;
  trailers: Record<string, string>;
  te: string | null;
}

/**
 * /trailers answers chunked with trailers; /echo answers what it received
 * (body, trailers, TE); /events streams SSE events, one each time the test
 * calls `nextEvent`, so nothing is written until the test says.
 */
async function startTrailerBackend(): Promise<{ port: number; nextEvent(data: string): void; close(): Promise<void> }> {
  const streams = new Set<import("node:http").ServerResponse>();
  const server: Server = createServer((req, res) => {
    if (req.url === "/trailers") {
      res.writeHead(200, { "content-type": "text/plain", trailer: "grpc-status, x-checksum" });
      res.write("part one;");
      res.write("part two");
      res.addTrailers({ "grpc-status": "0", "x-checksum": "abc123" });
      res.end();
      return;
    }
    if (req.url === "/events") {
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
      res.flushHeaders();
      streams.add(res);
      res.on("close", () => streams.delete(res));
      return;
    }
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => (body += chunk));
    req.on("end", () => {
      const seen: Seen = { body, trailers: req.trailers as Record<string, string>, te: (req.headers.te as string | undefined) ?? null };
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify(seen));
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    port: (server.address() as AddressInfo).port,
    nextEvent: (data) => {
      for (const res of streams) res.write(`event: tick\ndata: ${data}\n\n`);
    },
    close: () => new Promise<void>((resolve) => { server.close(() => resolve()); server.closeAllConnections(); }),
  };
}

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  trailers: NodeJS.Dict<string>;
}

function send(url: string, options: { method?: string; headers?: Record<string, string>; chunks?: string[]; trailers?: Record<string, string> } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? "GET", headers: options.headers }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body, trailers: res.trailers }));
      res.on("error", reject);
    });
    req.on("error", reject);
    for (const chunk of options.chunks ?? []) req.write(chunk);
    if (options.trailers) req.addTrailers(options.trailers);
    req.end();
  });
}

describe("trailers and Server-Sent Events", () => {
  let consul: ConsulAgent;
  let backend: Awaited<ReturnType<typeof startTrailerBackend>>;
  let gateway: TestGateway;

  before(async () => {
    consul = await ConsulAgent.start();
    backend = await startTrailerBackend();
    await consul.register({ ID: "trailing", Name: "trailing", Address: "127.0.0.1", Port: backend.port, Check: ttl });
    gateway = await startTestGateway(consul.address, { GATEWAY_SERVICES: "trailing" });
  });

  after(async () => {
    await gateway?.close();
    await backend?.close();
    await consul?.destroy();
  });

  test("a chunked response's trailers reach the client, after the whole body", async () => {
    const res = await send(`${gateway.url}/trailing/trailers`, { headers: { te: "trailers" } });
    assert.equal(res.status, 200);
    assert.equal(res.body, "part one;part two");
    assert.equal(res.headers["transfer-encoding"], "chunked");
    assert.equal(res.trailers["grpc-status"], "0");
    assert.equal(res.trailers["x-checksum"], "abc123");
  });

  test("a chunked request's trailers reach the instance", async () => {
    const res = await send(`${gateway.url}/trailing/echo`, {
      method: "POST",
      headers: { "transfer-encoding": "chunked", trailer: "x-digest", "content-type": "text/plain" },
      chunks: ["first,", "second"],
      trailers: { "x-digest": "sha-256=xyz" },
    });
    assert.equal(res.status, 200);
    const seen = JSON.parse(res.body) as Seen;
    assert.equal(seen.body, "first,second");
    assert.deepEqual(seen.trailers, { "x-digest": "sha-256=xyz" });
  });

  test("a client's TE: trailers is passed on; other transfer codings in TE are not", async () => {
    const asked = JSON.parse((await send(`${gateway.url}/trailing/echo`, { headers: { te: "gzip, trailers" } })).body) as Seen;
    assert.equal(asked.te, "trailers");
    const notAsked = JSON.parse((await send(`${gateway.url}/trailing/echo`, { headers: { te: "gzip" } })).body) as Seen;
    assert.equal(notAsked.te, null);
  });

  test("Server-Sent Events arrive one by one as the instance writes them, not when the stream ends", async () => {
    const stream = await openSse(`${gateway.url}/trailing/events`);
    try {
      assert.equal(stream.status, 200);
      for (const n of ["1", "2", "3"]) {
        // The next event is written only after the previous one arrived: a buffering proxy would hang here.
        backend.nextEvent(n);
        await stream.waitFor((e) => e.event === "tick" && e.data === n, 10_000, `event ${n}`);
      }
      assert.deepEqual(stream.events.map((e) => e.data), ["1", "2", "3"]);
    } finally {
      stream.close();
    }
  });
});
