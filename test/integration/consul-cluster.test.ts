/**
 * The gateway against a three-server Consul cluster on loopback, the local
 * equivalent of docker-compose.yml's consul1-consul3.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { ConsulAgent } from "../support/consul.js";
import { httpCheckedRegistration, startBackend, type Backend } from "../support/backends.js";
import { captureDebug, countHits, startTestGateway, type TestGateway } from "../support/gateway.js";
import { eventually } from "../support/wait.js";

describe("a three-server Consul cluster", () => {
  let servers: ConsulAgent[] = [];
  const backends: Backend[] = [];
  let gateway: TestGateway;

  before(async () => {
    servers = await ConsulAgent.startCluster(3);
    // Instances register through the third server's agent: a service belongs to the
    // agent it registered with, and the test stops the first.
    for (const id of ["web-1", "web-2"]) {
      const backend = await startBackend(id);
      backends.push(backend);
      await servers[2]!.register(httpCheckedRegistration(backend));
    }
    gateway = await startTestGateway(servers.map((s) => s.address).join(","), { GATEWAY_SERVICES: "service-web", GATEWAY_BALANCER: "round-robin" });
    await eventually(() => gateway.store.current.get("service-web")?.instances.length === 2, 15_000, "two instances through the cluster");
  });

  after(async () => {
    await gateway?.close();
    await Promise.all(backends.map((b) => b.close()));
    await Promise.all(servers.map((s) => s.destroy()));
  });

  test("all three servers agree on one leader", async () => {
    const { default: superagent } = await import("superagent");
    const leaders = await Promise.all(servers.map(async (s) => (await superagent.get(`${s.url}/v1/status/leader`)).body as string));
    assert.equal(new Set(leaders).size, 1);
    assert.ok(leaders[0]);
  });

  test("stopping the server the gateway talks to first: routing goes on, and later registrations arrive through another server", async () => {
    const log = captureDebug("gateway:routes");
    try {
      await servers[0]!.stop();
      const during = await countHits(gateway.url, 10);
      assert.deepEqual([...during.keys()].sort(), ["web-1", "web-2"]);

      const third = await startBackend("web-3");
      backends.push(third);
      await servers[2]!.register(httpCheckedRegistration(third));
      await eventually(async () => (await countHits(gateway.url, 3)).has("web-3"), 20_000, "traffic to web-3 with the first server down");
      assert.ok(log.lines.some((line) => /change service-web index=\d+ instances=3 .*web-3@/.test(line)), log.lines.join("\n"));

      await servers[2]!.deregister("web-1");
      await eventually(() => gateway.store.current.get("service-web")!.instances.every((i) => i.id !== "web-1"), 10_000, "web-1 gone");
      const after = await countHits(gateway.url, 10);
      assert.equal(after.get("web-1"), undefined);
    } finally {
      log.restore();
    }
  });
});
