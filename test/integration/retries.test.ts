import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server, type Socket } from "node:net";
import { once } from "node:events";
import { randomBytes } from "node:crypto";
import superagent from "superagent";
import { ConsulAgent } from "../support/consul.js";
import { startBackend, type Backend } from "../support/backends.js";
import { captureDebug, startTestGateway, type TestGateway } from "../support/gateway.js";
import { freePort } from "../support/ports.js";

/** An instance that accepts a connection, reads the whole request, then resets it: the request may have been processed. */
async function startResetter(): Promise<{ port: number; connections: () => number; close(): Promise<void> }> {
  let connections = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    connections += 1;
    sockets.add(socket);
    let seen = "";
    socket.on("data", (chunk) => {
      seen += chunk.toString("latin1");
      const headerEnd = seen.indexOf("\r\n\r\n");
      if (headerEnd === -1) return;
      const length = Number(/content-length: *(\d+)/i.exec(seen)?.[1] ?? 0);
      if (seen.length - headerEnd - 4 >= length) socket.resetAndDestroy();
    });
    socket.on("error", () => {});
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    port: (server.address() as { port: number }).port,
    connections: () => connections,
    close: () => new Promise<void>((resolve) => { for (const s of sockets) s.destroy(); server.close(() => resolve()); }),
  };
}

const ttl = { TTL: "1h", Status: "passing" };

describe("retries on another instance, and passive health", () => {
  let consul: ConsulAgent;
  let live: Backend;
  let resetter: Awaited<ReturnType<typeof startResetter>>;
  let gateway: TestGateway;

  before(async () => {
    consul = await ConsulAgent.start();
    live = await startBackend("b-live");
    resetter = await startResetter();
    const deadPort = await freePort();
    // Round-robin takes instances in id order: every cycle starts with the bad one.
    await consul.register({ ID: "a-dead", Name: "refusing", Address: "127.0.0.1", Port: deadPort, Check: ttl });
    await consul.register({ ID: "b-live", Name: "refusing", Address: "127.0.0.1", Port: live.port, Check: ttl });
    await consul.register({ ID: "a-reset", Name: "resetting", Address: "127.0.0.1", Port: resetter.port, Check: ttl });
    // Service IDs are unique per agent: the same backend needs a second ID for a second service.
    await consul.register({ ID: "b-live-2", Name: "resetting", Address: "127.0.0.1", Port: live.port, Check: ttl });
    gateway = await startTestGateway(consul.address, {
      GATEWAY_BALANCER: "round-robin",
      GATEWAY_SERVICES: "refusing,resetting",
      GATEWAY_OUTLIER_FAILURES: "3",
      GATEWAY_OUTLIER_EJECTION_MS: "60000",
    });
  });

  after(async () => {
    await gateway?.close();
    await live?.close();
    await resetter?.close();
    await consul?.destroy();
  });

  test("a refused connection is retried on another instance: every GET succeeds, and the dead instance is ejected after 3 failures", async () => {
    const log = captureDebug("gateway:outlier");
    try {
      for (let i = 0; i < 12; i++) {
        const res = await superagent.get(`${gateway.url}/refusing/getRemoteIp`);
        assert.equal((res.body as { id: string }).id, "b-live");
      }
      const dead = gateway.stats.peek(`${consul.node}/a-dead`)!;
      assert.equal(dead.requests, 3, "three attempts, then out of rotation");
      assert.ok(dead.outlier.ejectedUntil > Date.now());
      assert.ok(log.lines.some((line) => /ejected \S+\/a-dead \(127\.0\.0\.1:\d+\) for 60000 ms/.test(line)), log.lines.join("\n"));
    } finally {
      log.restore();
    }
  });

  test("a POST whose connection was refused is retried with its whole body", async () => {
    // A fresh gateway: its round-robin starts at the first id, the dead instance.
    const fresh = await startTestGateway(consul.address, { GATEWAY_BALANCER: "round-robin", GATEWAY_SERVICES: "refusing" });
    try {
      await postToFresh(fresh);
    } finally {
      await fresh.close();
    }
  });

  async function postToFresh(fresh: TestGateway): Promise<void> {
    const body = randomBytes(256 * 1024);
    const res = await superagent.post(`${fresh.url}/refusing/echo/x`).set("content-type", "application/octet-stream").buffer(true).parse((r, done) => {
      const chunks: Buffer[] = [];
      r.on("data", (c: Buffer) => chunks.push(c));
      r.on("end", () => done(null, Buffer.concat(chunks)));
    }).send(body);
    assert.equal(res.headers["x-echo-id"], "b-live");
    assert.ok((res.body as Buffer).equals(body));
    assert.equal(fresh.stats.peek(`${consul.node}/a-dead`)?.requests, 1, "the first attempt went to the dead instance");
    assert.equal(fresh.stats.peek(`${consul.node}/b-live`)?.requests, 1);
  }

  test("a GET whose connection is reset before the answer is retried on another instance", async () => {
    const before = resetter.connections();
    const res = await superagent.get(`${gateway.url}/resetting/getRemoteIp`);
    assert.equal((res.body as { id: string }).id, "b-live");
    assert.equal(resetter.connections(), before + 1, "the first attempt reached the resetting instance");
  });

  test("a POST whose body was sent is never retried: 502, and the other instance never sees it", async () => {
    await superagent.get(`${gateway.url}/resetting/getRemoteIp`).catch(() => {}); // align round-robin: next turn is a-reset
    const liveRequests = gateway.stats.get(`${consul.node}/b-live-2`).requests;
    const connections = resetter.connections();
    const res = await superagent.post(`${gateway.url}/resetting/echo/once`).send("charge the card").ok(() => true);
    assert.equal(res.status, 502);
    assert.equal((res.body as { error: { code: string } }).error.code, "UPSTREAM_UNREACHABLE");
    assert.equal(resetter.connections(), connections + 1);
    assert.equal(gateway.stats.get(`${consul.node}/b-live-2`).requests, liveRequests);
  });
});
