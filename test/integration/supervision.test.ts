import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import superagent from "superagent";
import { ConsulAgent } from "../support/consul.js";
import { httpCheckedRegistration, startBackend, type Backend } from "../support/backends.js";
import { countHits, startTestGateway, type TestGateway } from "../support/gateway.js";
import { eventually } from "../support/wait.js";

describe("supervision: the gateway outlives its watcher and Consul", () => {
  let consul: ConsulAgent;
  const backends: Backend[] = [];
  let gateway: TestGateway;

  before(async () => {
    consul = await ConsulAgent.start();
    for (const id of ["web-1", "web-2"]) {
      const backend = await startBackend(id);
      backends.push(backend);
      await consul.register(httpCheckedRegistration(backend));
    }
    gateway = await startTestGateway(consul.address, { GATEWAY_SERVICES: "service-web", GATEWAY_BALANCER: "round-robin" });
    await eventually(() => gateway.store.current.get("service-web")?.instances.length === 2, 10_000, "two instances");
  });

  after(async () => {
    await gateway?.close();
    await Promise.all(backends.map((b) => b.close()));
    await consul?.destroy();
  });

  test("killing the watcher child: requests keep being served, the child is restarted, later registrations arrive", async () => {
    const firstPid = gateway.supervisor.childPid!;
    process.kill(firstPid, "SIGKILL");
    // While the child is dead or restarting, the last known routes serve every request.
    const during = await countHits(gateway.url, 10);
    assert.deepEqual([...during.keys()].sort(), ["web-1", "web-2"]);

    await eventually(() => gateway.supervisor.restarts >= 1 && gateway.supervisor.childPid !== firstPid, 10_000, "a new watcher child");
    const third = await startBackend("web-3");
    backends.push(third);
    await consul.register(httpCheckedRegistration(third));
    await eventually(async () => (await countHits(gateway.url, 3)).has("web-3"), 10_000, "traffic to web-3 after the restart");
  });

  test("stopping Consul: the last known instances keep serving; after its restart updates resume", async () => {
    const before = gateway.store.current.get("service-web")!.instances.map((i) => i.id).sort();
    await consul.stop();
    // Long enough for the watches to fail and retry a few times.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    assert.deepEqual(gateway.store.current.get("service-web")!.instances.map((i) => i.id).sort(), before);
    const hits = await countHits(gateway.url, 9);
    assert.deepEqual([...hits.keys()].sort(), before);

    await consul.restart();
    // Consul re-runs the HTTP checks after its restart; then a deregistration must reach the gateway.
    await consul.deregister("web-1");
    await eventually(() => gateway.store.current.get("service-web")!.instances.every((i) => i.id !== "web-1"), 15_000, "web-1 gone after Consul's restart");
    const after = await countHits(gateway.url, 9);
    assert.equal(after.get("web-1"), undefined);
    assert.ok(after.size >= 1);
  });

  test("a stopped gateway leaves no watcher child behind", async () => {
    const extra = await startTestGateway(consul.address);
    const pid = extra.supervisor.childPid!;
    await extra.close();
    assert.throws(() => process.kill(pid, 0), { code: "ESRCH" });
    const res = await superagent.get(`${gateway.url}/service-web/getRemoteIp`);
    assert.equal(res.status, 200);
  });
});
