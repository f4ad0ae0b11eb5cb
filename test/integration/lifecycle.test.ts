/**
 * The gateway across lifecycle events: its own shutdown, instances leaving,
 * restarts while Consul is down, a Consul that hangs, a Consul whose index
 * goes backwards.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Socket } from "node:net";
import { once } from "node:events";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import superagent from "superagent";
import { ConsulAgent } from "../support/consul.js";
import { httpCheckedRegistration, startBackend, type Backend } from "../support/backends.js";
import { countHits, startTestGateway } from "../support/gateway.js";
import { eventually } from "../support/wait.js";

const ttl = { TTL: "1h", Status: "passing" };

describe("graceful shutdown and draining", () => {
  let consul: ConsulAgent;
  const backends: Backend[] = [];

  before(async () => {
    consul = await ConsulAgent.start();
    for (const id of ["a-web", "b-web"]) {
      const backend = await startBackend(id);
      backends.push(backend);
      await consul.register({ ID: id, Name: "service-web", Address: "127.0.0.1", Port: backend.port, Check: ttl });
    }
  });

  after(async () => {
    await Promise.all(backends.map((b) => b.close()));
    await consul?.destroy();
  });

  test("on close, new connections are refused, the request in flight finishes with Connection: close, then close resolves", async () => {
    const gateway = await startTestGateway(consul.address, { GATEWAY_SERVICES: "service-web", GATEWAY_SHUTDOWN_GRACE_MS: "10000" });
    await eventually(() => gateway.store.current.get("service-web")?.instances.length === 2, 10_000, "routes");
    // superagent sends on .then(): start it now.
    const answered = superagent.get(`${gateway.url}/service-web/slow?ms=1000`).then((res) => res);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const closing = gateway.close();
    await assert.rejects(superagent.get(`${gateway.url}/service-web/getRemoteIp`), { code: "ECONNREFUSED" });
    // The admin server stays up while the proxy drains, and tells load balancers to stop sending.
    const ready = await superagent.get(`${gateway.adminUrl}/ready`).ok(() => true);
    assert.equal(ready.status, 503);
    assert.deepEqual(ready.body, { ready: false, reasons: ["the gateway is shutting down and draining the requests in flight"], details: [] });
    const res = await answered;
    assert.equal(res.status, 200);
    assert.equal((res.body as { sleptMs: number }).sleptMs, 1000);
    assert.equal(res.headers["connection"], "close");
    await closing;
  });

  test("a request still running after the grace period is cut, and close does not wait longer", async () => {
    const gateway = await startTestGateway(consul.address, { GATEWAY_SERVICES: "service-web", GATEWAY_SHUTDOWN_GRACE_MS: "300" });
    await eventually(() => gateway.store.current.get("service-web")?.instances.length === 2, 10_000, "routes");
    const slow = superagent.get(`${gateway.url}/service-web/slow?ms=20000`).then(
      () => "answered",
      () => "cut",
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    await gateway.close();
    assert.equal(await slow, "cut");
  });

  test("an instance deregistered while serving a request finishes it; new requests go elsewhere", async () => {
    const gateway = await startTestGateway(consul.address, { GATEWAY_SERVICES: "service-web", GATEWAY_BALANCER: "round-robin" });
    try {
      await eventually(() => gateway.store.current.get("service-web")?.instances.length === 2, 10_000, "routes");
      // superagent sends on .then(): start it now.
      const inFlight = superagent.get(`${gateway.url}/service-web/slow?ms=1000`).then((res) => res);
      const busy = await eventually(() => ["a-web", "b-web"].find((id) => gateway.stats.peek(`${consul.node}/${id}`)?.inFlight === 1), 5_000, "the request in flight");
      const other = busy === "a-web" ? "b-web" : "a-web";
      await consul.deregister(busy);
      await eventually(() => gateway.store.current.get("service-web")!.instances.length === 1, 5_000, `${busy} gone from the table`);
      const hits = await countHits(gateway.url, 6);
      assert.deepEqual([...hits.keys()], [other]);
      const res = await inFlight;
      assert.equal(res.status, 200);
      assert.equal((res.body as { id: string }).id, busy, "the request in flight finished on the instance that left");
      const backend = backends.find((b) => b.id === busy)!;
      await consul.register({ ID: busy, Name: "service-web", Address: "127.0.0.1", Port: backend.port, Check: ttl });
    } finally {
      await gateway.close();
    }
  });
});

describe("restarts and misbehaving Consul", () => {
  let consul: ConsulAgent;
  let backend: Backend;

  before(async () => {
    consul = await ConsulAgent.start();
    backend = await startBackend("web-1");
    // An HTTP check, which Consul runs again after the restart below (a TTL check would stay critical).
    await consul.register(httpCheckedRegistration(backend));
  });

  after(async () => {
    await backend?.close();
    await consul?.destroy();
  });

  test("a gateway restarted while Consul is down routes from its snapshot, and follows Consul once it is back", async () => {
    const snapshotFile = join(mkdtempSync(join(tmpdir(), "kcg-snap-")), "routes.json");
    const first = await startTestGateway(consul.address, { GATEWAY_SERVICES: "service-web", GATEWAY_SNAPSHOT_FILE: snapshotFile });
    await eventually(() => first.store.current.get("service-web")?.instances.length === 1, 10_000, "routes");
    await first.close();

    await consul.stop();
    const second = await startTestGateway(consul.address, { GATEWAY_SNAPSHOT_FILE: snapshotFile, GATEWAY_DISCOVERY_TIMEOUT_MS: "500" });
    try {
      const hits = await countHits(second.url, 5);
      assert.deepEqual(Object.fromEntries(hits), { "web-1": 5 });

      await consul.boot();
      const extra = await startBackend("web-2");
      try {
        await consul.register({ ID: "web-2", Name: "service-web", Address: "127.0.0.1", Port: extra.port, Check: ttl });
        await eventually(async () => (await countHits(second.url, 4)).has("web-2"), 20_000, "web-2 after Consul came back");
      } finally {
        await consul.deregister("web-2");
        await extra.close();
      }
    } finally {
      await second.close();
    }
  });

  test("a Consul address that accepts connections but never answers: the watch times out and fails over to the next address", async () => {
    let accepted = 0;
    const held = new Set<Socket>();
    const blackHole = createServer((socket) => {
      accepted += 1;
      held.add(socket);
      socket.on("error", () => {});
    });
    blackHole.listen(0, "127.0.0.1");
    await once(blackHole, "listening");
    const hole = `127.0.0.1:${(blackHole.address() as { port: number }).port}`;
    // wait 1 s: node-consul's request timeout is wait + 0.5 s; past it the watch moves on.
    const gateway = await startTestGateway(`${hole},${consul.address}`, { GATEWAY_SERVICES: "service-web", GATEWAY_CONSUL_WAIT_MS: "1000" });
    try {
      await eventually(() => gateway.store.current.get("service-web")?.instances.length === 1, 15_000, "routes through the second address");
      assert.ok(accepted >= 1, "the first address was tried");
      const res = await superagent.get(`${gateway.url}/service-web/getRemoteIp`);
      assert.equal((res.body as { id: string }).id, "web-1");
    } finally {
      await gateway.close();
      for (const socket of held) socket.destroy();
      blackHole.close();
    }
  });

  test("a Consul whose index goes backwards (replaced by a fresh one on the same address): the watch resets and follows it", async () => {
    const fresh = await ConsulAgent.start();
    let gateway: Awaited<ReturnType<typeof startTestGateway>> | undefined;
    let replacement: ConsulAgent | undefined;
    try {
      // Raise the first agent's index well above where a fresh agent starts.
      for (let i = 0; i < 15; i++) await fresh.register({ ID: `filler-${i}`, Name: `filler-${i}`, Address: "127.0.0.1", Port: 1, Check: ttl });
      const started = await startTestGateway(fresh.address, { GATEWAY_SERVICES: "service-web", GATEWAY_CONSUL_WAIT_MS: "1000" });
      gateway = started;
      const port = fresh.httpPort;
      await eventually(() => started.store.current.get("service-web") !== undefined, 10_000, "first answer");
      const highIndex = Number(started.store.current.get("service-web")!.index);
      await fresh.destroy();
      replacement = await ConsulAgent.start({ httpPort: port });
      await replacement.register({ ID: "web-1", Name: "service-web", Address: "127.0.0.1", Port: backend.port, Check: ttl });
      await eventually(() => started.store.current.get("service-web")?.instances.length === 1, 20_000, "the new agent's instance");
      assert.ok(Number(started.store.current.get("service-web")!.index) < highIndex, "the index the table now holds is the new, lower one");
      const res = await superagent.get(`${started.url}/service-web/getRemoteIp`);
      assert.equal((res.body as { id: string }).id, "web-1");
    } finally {
      // Every agent this test started goes, also when a wait above failed before the first was replaced.
      await gateway?.close();
      await fresh.destroy();
      await replacement?.destroy();
    }
  });
});
