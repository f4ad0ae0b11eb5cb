import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { ConsulAgent } from "../support/consul.js";
import { httpCheckedRegistration as registration, startBackend, type Backend } from "../support/backends.js";
import { captureDebug, countHits, startTestGateway, type TestGateway } from "../support/gateway.js";
import { eventually } from "../support/wait.js";
import superagent from "superagent";

describe("routing to instances registered in a real Consul", () => {
  let consul: ConsulAgent;
  let backends: Backend[] = [];
  let roundRobin: TestGateway;
  let random: TestGateway;

  before(async () => {
    consul = await ConsulAgent.start();
    backends = await Promise.all(["web-1", "web-2", "web-3"].map(startBackend));
    for (const backend of backends) await consul.register(registration(backend));
    roundRobin = await startTestGateway(consul.address, { GATEWAY_BALANCER: "round-robin", GATEWAY_SERVICES: "service-web" });
    random = await startTestGateway(consul.address, { GATEWAY_BALANCER: "random" });
    await eventually(() => roundRobin.store.current.get("service-web")?.instances.length === 3, 10_000, "three instances in the table");
  });

  after(async () => {
    await roundRobin?.close();
    await random?.close();
    await Promise.all(backends.map((b) => b.close()));
    await consul?.destroy();
  });

  test("round-robin gives each of three instances exactly 10 of 30 requests", async () => {
    const hits = await countHits(roundRobin.url, 30);
    assert.deepEqual(Object.fromEntries(hits), { "web-1": 10, "web-2": 10, "web-3": 10 });
  });

  test("random reaches all three instances within 30 requests (subscribing on the first request)", async () => {
    const hits = await countHits(random.url, 30);
    assert.deepEqual([...hits.keys()].sort(), ["web-1", "web-2", "web-3"]);
    assert.equal([...hits.values()].reduce((a, b) => a + b), 30);
  });

  test("a deregistered instance gets no traffic within a second, and the change is logged; a new one gets traffic", async () => {
    const log = captureDebug("gateway:routes");
    try {
      await consul.deregister("web-3");
      // Blocking queries answer at once on change: the bound is one second, as the issue asks.
      await eventually(() => roundRobin.store.current.get("service-web")!.instances.every((i) => i.id !== "web-3"), 1_000, "web-3 gone from the table");
      const hits = await countHits(roundRobin.url, 30);
      assert.equal(hits.get("web-3"), undefined);
      assert.deepEqual([...hits.keys()].sort(), ["web-1", "web-2"]);
      const notification = log.lines.find((line) => /change service-web index=\d+ instances=2 /.test(line));
      assert.ok(notification, `no change notification in:\n${log.lines.join("\n")}`);
      assert.match(notification, /web-1@127\.0\.0\.1:\d+/);

      const fourth = await startBackend("web-4");
      backends.push(fourth);
      await consul.register(registration(fourth));
      await eventually(async () => (await countHits(roundRobin.url, 3)).has("web-4"), 5_000, "traffic to web-4");
      assert.ok(log.lines.some((line) => /change service-web index=\d+ instances=3 .*web-4@/.test(line)));
    } finally {
      log.restore();
    }
  });

  test("an instance whose health check fails stops receiving traffic, and returns when it passes", async () => {
    const sick = backends.find((b) => b.id === "web-1")!;
    await superagent.put(`http://127.0.0.1:${sick.port}/health/failing`);
    await eventually(() => roundRobin.store.current.get("service-web")!.instances.every((i) => i.id !== "web-1"), 10_000, "web-1 taken out");
    const hits = await countHits(roundRobin.url, 20);
    assert.equal(hits.get("web-1"), undefined);
    assert.ok(hits.size >= 1);

    await superagent.put(`http://127.0.0.1:${sick.port}/health/ok`);
    await eventually(async () => (await countHits(roundRobin.url, 6)).has("web-1"), 10_000, "web-1 back in rotation");
  });
});
