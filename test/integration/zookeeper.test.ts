/**
 * What is particular to ZooKeeper, against a real server: Registrator's
 * layout, the watch handling the original design got wrong (empty lists,
 * deleted service nodes, re-armed watches, expired sessions), a restart whose
 * first connections are never answered, and the demo service's ephemeral
 * registration.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import superagent from "superagent";
import { ZooKeeperRegistry } from "../../src/discovery/registries/zookeeper-registry.js";
import { ZooKeeperSession } from "../../src/discovery/registries/zookeeper-adapter.js";
import type { Instance } from "../../src/discovery/instance.js";
import { startBackend, type Backend } from "../support/backends.js";
import { captureDebug, countHits, startTestGateway, type TestGateway } from "../support/gateway.js";
import { freePort } from "../support/ports.js";
import { startTs, type Started } from "../support/processes.js";
import { StallingProxy } from "../support/stalling-proxy.js";
import { eventually, within } from "../support/wait.js";
import { ZOOKEEPER_MAX_SESSION_TIMEOUT_MS, ZooKeeperServer } from "../support/zookeeper.js";

const status = async (url: string): Promise<{ status: number; code: string | undefined }> => {
  const res = await superagent.get(url).ok(() => true);
  return { status: res.status, code: (res.body as { error?: { code: string } }).error?.code };
};

/** The sessions that hold data or existence watches, from the server's `wchc` (only watcher children set watches here). */
async function watchingSessions(zookeeper: ZooKeeperServer): Promise<string[]> {
  return (await zookeeper.command("wchc")).split("\n").filter((line) => /^0x[0-9a-f]+$/.test(line.trim()));
}

describe("ZooKeeper: Registrator's layout and the watch handling", () => {
  let zookeeper: ZooKeeperServer;
  /** Writes nodes the way Registrator does, with nothing of the gateway's code but the promise wrapper. */
  let writer: ZooKeeperSession;
  const backends: Backend[] = [];
  let gateway: TestGateway;

  before(async () => {
    zookeeper = await ZooKeeperServer.start();
    writer = new ZooKeeperSession({ connect: zookeeper.connect, sessionTimeoutMs: 30_000 });
    writer.connect();
    backends.push(...(await Promise.all(["api-1", "api-2"].map(startBackend))));
    gateway = await startTestGateway({ GATEWAY_REGISTRY: "zookeeper", ZOOKEEPER_CONNECT: zookeeper.connect }, { GATEWAY_BALANCER: "round-robin" });
  });

  after(async () => {
    await gateway?.close();
    writer?.close();
    await Promise.all(backends.map((b) => b.close()));
    await zookeeper?.destroy();
  });

  test("nodes written as Registrator writes them become instances, with their tags and attributes; a bad node name is skipped", async () => {
    const [first, second] = backends as [Backend, Backend];
    await writer.mkdirp("/services/api");
    // Registrator's ZnodeBody as Go's encoding/json writes it: nil tags and attributes are null.
    const body = (port: number, tags: string[] | null, attrs: Record<string, string> | null) =>
      Buffer.from(JSON.stringify({ Name: "api", IP: "127.0.0.1", PublicPort: port, PrivatePort: 80, ContainerID: "c0ffee", Tags: tags, Attrs: attrs }));
    await writer.create(`/services/api/127.0.0.1:${first.port}`, body(first.port, ["v1", "blue"], { zone: "a" }), "ephemeral");
    await writer.create(`/services/api/127.0.0.1:${second.port}`, body(second.port, null, null), "ephemeral");
    await writer.create("/services/api/not-an-address", Buffer.from("{}"), "ephemeral");

    const answered = await countHits(gateway.url, 10, "/api/getRemoteIp");
    assert.deepEqual(Object.fromEntries(answered), { "api-1": 5, "api-2": 5 });
    const instances = [...gateway.store.current.get("api")!.instances].sort((a, b) => a.port - b.port);
    const expected: Instance[] = [
      { id: `127.0.0.1:${first.port}`, address: "127.0.0.1", port: first.port, tags: ["v1", "blue"], meta: { zone: "a" }, health: "passing" as const, weights: { passing: 1, warning: 1 } },
      { id: `127.0.0.1:${second.port}`, address: "127.0.0.1", port: second.port, tags: [], meta: {}, health: "passing" as const, weights: { passing: 1, warning: 1 } },
    ].sort((a, b) => a.port - b.port);
    assert.deepEqual(instances, expected);
    assert.ok(gateway.store.current.catalog!.services.has("api"));
  });

  test("an empty child list is applied: the service's routes empty and it answers 503", async () => {
    for (const node of (await writer.getChildren("/services/api")).children) await writer.remove(`/services/api/${node}`);
    await eventually(() => gateway.store.current.get("api")!.instances.length === 0, 10_000, "api's routes emptied");
    assert.deepEqual(await status(`${gateway.url}/api/getRemoteIp`), { status: 503, code: "NO_HEALTHY_INSTANCE" });
  });

  test("a deleted service node empties its routes and the catalog forgets it (404, not stale routes); created again, it serves again", async () => {
    const [first] = backends as [Backend];
    await writer.create(`/services/api/127.0.0.1:${first.port}`, Buffer.alloc(0), "ephemeral");
    await eventually(async () => (await countHits(gateway.url, 1, "/api/getRemoteIp")).has("api-1"), 10_000, "api-1 serving");

    await writer.remove(`/services/api/127.0.0.1:${first.port}`);
    await writer.remove("/services/api");
    await eventually(() => !gateway.store.current.catalog!.services.has("api"), 10_000, "api gone from the catalog");
    assert.equal(gateway.store.current.get("api")!.instances.length, 0);
    assert.deepEqual(await status(`${gateway.url}/api/getRemoteIp`), { status: 404, code: "UNKNOWN_SERVICE" });

    // The watcher kept an existence watch on the deleted node: its return is noticed.
    await writer.mkdirp("/services/api");
    await writer.create(`/services/api/127.0.0.1:${first.port}`, Buffer.alloc(0), "ephemeral");
    await eventually(async () => (await status(`${gateway.url}/api/getRemoteIp`)).status === 200, 10_000, "api serving again");
  });

  test("re-armed watches never pile up: after 20 changes the client holds one watcher per watched node, and reads stay about one per change", async () => {
    const registrar = new ZooKeeperRegistry({ connect: zookeeper.connect, backoffMaxMs: 1_000 });
    const watcher = new ZooKeeperRegistry({ connect: zookeeper.connect, backoffMaxMs: 1_000 });
    const log = captureDebug("gateway:zookeeper");
    try {
      let latest: Instance[] = [];
      watcher.subscribe("churn", { change: (instances) => (latest = instances), error: () => {} });
      const at = (port: number) => ({ id: `churn-${port}`, name: "churn", address: "127.0.0.1", port });
      const showsPorts = (ports: number[]) => () => latest.map((i) => i.port).sort().join() === ports.sort().join();

      await registrar.register(at(20_001));
      await eventually(showsPorts([20_001]), 10_000, "the first instance");
      const changes = 20;
      for (let i = 0; i < changes / 2; i++) {
        await registrar.register(at(20_002));
        await eventually(showsPorts([20_001, 20_002]), 10_000, `instance added (round ${i})`);
        await registrar.deregister(at(20_002));
        await eventually(showsPorts([20_001]), 10_000, `instance removed (round ${i})`);
      }
      // One watcher function per watched node and kind, whatever the number of re-arms: the list's child watch and
      // the remaining instance's data watch (and, if the first read raced the service node's creation, a data watch on it).
      const armed = watcher.armedWatchers();
      assert.ok(Object.values(armed).every((count) => count === 1), JSON.stringify(armed));
      assert.equal(armed["child /services/churn"], 1, JSON.stringify(armed));
      assert.equal(armed["data /services/churn/127.0.0.1:20001"], 1, JSON.stringify(armed));
      assert.ok(Object.keys(armed).length <= 3, JSON.stringify(armed));
      const reads = log.lines.filter((line) => /read \/services\/churn$/.test(line.trim())).length;
      // Each change fires the list's watch, and a removal also the instance's data watch: at most two reads per change.
      assert.ok(reads <= 2 * changes + 2, `${reads} reads for ${changes} changes`);
    } finally {
      log.restore();
      await watcher.close();
      await registrar.close();
    }
  });
});

describe("ZooKeeper: an expired session is replaced and resynchronised", () => {
  let zookeeper: ZooKeeperServer;
  let registrar: ZooKeeperRegistry;
  const backends: Backend[] = [];
  let gateway: TestGateway;
  const registration = (backend: Backend) => ({ id: backend.id, name: "service-web", address: "127.0.0.1", port: backend.port });

  before(async () => {
    zookeeper = await ZooKeeperServer.start();
    registrar = new ZooKeeperRegistry({ connect: zookeeper.connect, backoffMaxMs: 1_000 });
    backends.push(...(await Promise.all(["web-1", "web-2", "web-3"].map(startBackend))));
    for (const backend of backends.slice(0, 2)) await registrar.register(registration(backend));
    gateway = await startTestGateway({ GATEWAY_REGISTRY: "zookeeper", ZOOKEEPER_CONNECT: zookeeper.connect }, { GATEWAY_SERVICES: "service-web" });
    await eventually(() => gateway.store.current.get("service-web")?.instances.length === 2, 10_000, "two instances");
  });

  after(async () => {
    const pid = gateway?.supervisor.childPid;
    if (pid !== undefined) process.kill(pid, "SIGCONT");
    await gateway?.close();
    await registrar?.close();
    await Promise.all(backends.map((b) => b.close()));
    await zookeeper?.destroy();
  });

  test("changes made while the watcher child was frozen past its session's expiry arrive once it runs again, in the same child", async () => {
    const [first, second, third] = backends as [Backend, Backend, Backend];
    const child = gateway.supervisor.childPid!;
    const sessions = await watchingSessions(zookeeper);
    assert.equal(sessions.length, 1, "the watcher child's session watches the instances");

    // A long GC pause, a frozen VM: the server expires the session (at most its max session timeout) and drops its watches.
    process.kill(child, "SIGSTOP");
    await eventually(async () => (await watchingSessions(zookeeper)).length === 0, 4 * ZOOKEEPER_MAX_SESSION_TIMEOUT_MS, "the session expired");
    await registrar.deregister(registration(second));
    await registrar.register(registration(third));
    process.kill(child, "SIGCONT");

    const ids = () => gateway.store.current.get("service-web")!.instances.map((i) => i.port).sort();
    await eventually(() => ids().join() === [first.port, third.port].sort().join(), 15_000, "the changes made during the pause");
    assert.deepEqual([...(await countHits(gateway.url, 10)).keys()].sort(), ["web-1", "web-3"]);
    assert.equal(gateway.supervisor.childPid, child, "the child resynchronised itself; it was not restarted");
    assert.equal(gateway.supervisor.restarts, 0);
    // And it watches again, on a new session.
    await eventually(async () => (await watchingSessions(zookeeper)).some((s) => !sessions.includes(s)), 10_000, "a new watching session");
  });
});

describe("ZooKeeper: a restart whose first connections are accepted and never answered", () => {
  let zookeeper: ZooKeeperServer;
  /** Between the server and both of its clients here: the registrar and the gateway's watcher child. */
  let proxy: StallingProxy;
  let registrar: ZooKeeperRegistry;
  const backends: Backend[] = [];
  let gateway: TestGateway;
  const registration = (backend: Backend) => ({ id: backend.id, name: "service-web", address: "127.0.0.1", port: backend.port });
  const tablePorts = () => (gateway.store.current.get("service-web")?.instances ?? []).map((i) => i.port).sort();
  const portsOf = (...list: Backend[]) => list.map((b) => b.port).sort();

  before(async () => {
    zookeeper = await ZooKeeperServer.start();
    proxy = await StallingProxy.start(zookeeper.port);
    registrar = new ZooKeeperRegistry({ connect: proxy.connect, backoffMaxMs: 1_000 });
    backends.push(...(await Promise.all(["web-1", "web-2", "web-3"].map(startBackend))));
    for (const backend of backends.slice(0, 2)) await registrar.register(registration(backend));
    gateway = await startTestGateway({ GATEWAY_REGISTRY: "zookeeper", ZOOKEEPER_CONNECT: proxy.connect }, { GATEWAY_SERVICES: "service-web" });
    await eventually(() => tablePorts().length === 2, 10_000, "two instances");
  });

  after(async () => {
    await gateway?.close();
    await registrar?.close();
    await Promise.all(backends.map((b) => b.close()));
    await proxy?.stop();
    await zookeeper?.destroy();
  });

  test("a ZooKeeper restart that outlasts the session timeout, its first connections never answered: registrar and watcher give those up, resynchronise on new sessions, and later registrations arrive", async () => {
    const [first, second, third] = backends as [Backend, Backend, Backend];
    const child = gateway.supervisor.childPid!;
    const sessions = await watchingSessions(zookeeper);
    assert.equal(sessions.length, 1, "the watcher child's session watches the instances");

    // The restart as the clients saw it on a loaded machine: their connections drop, and the ones they open again are
    // accepted and never answered, while the server comes back and expires their sessions.
    proxy.stall();
    await zookeeper.stop();
    await zookeeper.boot();
    const probe = new ZooKeeperSession({ connect: zookeeper.connect, sessionTimeoutMs: ZOOKEEPER_MAX_SESSION_TIMEOUT_MS });
    probe.connect();
    try {
      // The registrar's nodes go with its session, restored with the child's when the server started, and expired with it.
      const registered = async () => (await probe.getChildren("/services/service-web")).children.length;
      await eventually(async () => (await registered()) === 0, 4 * ZOOKEEPER_MAX_SESSION_TIMEOUT_MS, "the registrar's session expired");
    } finally {
      probe.close();
    }
    assert.ok(proxy.stalledConnections >= 2, `${proxy.stalledConnections} connections left unanswered`);

    // Asked while the registrar waits on a connection that will never answer: these must complete, on its next session.
    const changes = Promise.all([registrar.register(registration(third)), registrar.deregister(registration(second))]);
    proxy.resume();
    await within(changes, 20_000, "the registration and deregistration made during the stall");

    await eventually(() => tablePorts().join() === portsOf(first, third).join(), 20_000, "the changes made during the stall");
    assert.deepEqual([...(await countHits(gateway.url, 10)).keys()].sort(), ["web-1", "web-3"]);
    assert.equal(gateway.supervisor.childPid, child, "the child resynchronised itself; it was not restarted");
    assert.equal(gateway.supervisor.restarts, 0);
    await eventually(async () => (await watchingSessions(zookeeper)).some((s) => !sessions.includes(s)), 10_000, "a new watching session");

    // And it watches again: a registration made now arrives.
    await registrar.register(registration(second));
    await eventually(() => tablePorts().join() === portsOf(first, second, third).join(), 20_000, "web-2 registered after the recovery");
  });
});

describe("ZooKeeper: the gateway and service-web as processes", () => {
  let zookeeper: ZooKeeperServer;
  const started: Started[] = [];

  before(async () => {
    zookeeper = await ZooKeeperServer.start();
  });

  after(async () => {
    await Promise.all(started.map((p) => p.stop()));
    await zookeeper?.destroy();
  });

  test("service-web registers an ephemeral node; a killed instance leaves with its session, a stopped one deregisters at once", async () => {
    const env = { ...process.env, GATEWAY_REGISTRY: "zookeeper", ZOOKEEPER_CONNECT: zookeeper.connect };
    const webPorts = [await freePort(), await freePort()];
    const webs = webPorts.map((port, i) =>
      startTs("src/service-web/main.ts", [], { env: { ...env, SERVICE_WEB_PORT: String(port), SERVICE_WEB_HOST: "127.0.0.1", SERVICE_WEB_ID: `zk-web-${i + 1}` } }),
    );
    started.push(...webs);
    for (const web of webs) await web.waitForOutput(/registered in ZooKeeper as service-web at 127\.0\.0\.1:\d+/);

    const gatewayPort = await freePort();
    const gateway = startTs("src/main.ts", [], {
      env: { ...env, DEBUG: "gateway:routes", GATEWAY_PORT: String(gatewayPort), GATEWAY_ADMIN_PORT: "0", GATEWAY_HOST: "127.0.0.1", GATEWAY_SERVICES: "service-web" },
    });
    started.push(gateway);
    await gateway.waitForOutput(/listening on 127\.0\.0\.1:\d+, ZooKeeper at 127\.0\.0\.1:\d+/);
    await gateway.waitForOutput(/gateway:routes change service-web index=\d+ instances=2 /);
    const ids = new Set<string>();
    await eventually(async () => {
      ids.add(((await superagent.get(`http://127.0.0.1:${gatewayPort}/service-web/getRemoteIp`)).body as { id: string }).id);
      return ids.size === 2;
    }, 10_000, "answers from both instances");

    // SIGKILL: no deregistration; the node goes when the server expires the dead instance's session.
    webs[0]!.child.kill("SIGKILL");
    await gateway.waitForOutput(new RegExp(`instances=1 \\[127\\.0\\.0\\.1:${webPorts[1]}@127\\.0\\.0\\.1:${webPorts[1]}\\]`), 4 * ZOOKEEPER_MAX_SESSION_TIMEOUT_MS);

    // SIGTERM: service-web deregisters (and, as the last instance, removes the service's node) before it leaves.
    assert.equal(await webs[1]!.stop(), 0);
    await gateway.waitForOutput(/instances=0 \[\(none\)\]/);
    await eventually(async () => (await status(`http://127.0.0.1:${gatewayPort}/service-web/getRemoteIp`)).status === 404, 10_000, "404 once the service is gone");
    assert.equal(await gateway.stop(), 0);
  });
});

test("npm run demo -- --registry zookeeper: ZooKeeper, three instances and the gateway answer the README's curl, and Ctrl-C leaves nothing running", async () => {
  const [gatewayPort, adminPort, zookeeperPort] = [await freePort(), await freePort(), await freePort()];
  const demo = startTs("scripts/demo.ts", ["--registry", "zookeeper", "--gateway-port", String(gatewayPort), "--admin-port", String(adminPort), "--zookeeper-port", String(zookeeperPort)]);
  try {
    const ready = await demo.waitForOutput(/demo: ready\. ZooKeeper at 127\.0\.0\.1:\d+ .* pids: zookeeper (\d+), ([\d ]+)\n/, 90_000);
    const pids = [Number(ready[1]), ...ready[2]!.trim().split(" ").map(Number)];
    assert.equal(pids.length, 5, "ZooKeeper, three instances, the gateway");
    const ids = new Set<string>();
    await eventually(async () => {
      ids.add(((await superagent.get(`http://localhost:${gatewayPort}/service-web/getRemoteIp`)).body as { id: string }).id);
      return ids.size === 3;
    }, 20_000, "answers from all three instances");
    // The admin API speaks of the registry it reads: ready once ZooKeeper answered.
    await eventually(async () => (await status(`http://127.0.0.1:${adminPort}/ready`)).status === 200, 10_000, "the admin API's /ready");

    demo.child.kill("SIGINT");
    assert.equal(await demo.exited, 0);
    assert.match(demo.output(), /demo: stopped, nothing left running/);
    for (const pid of pids) assert.throws(() => process.kill(pid, 0), { code: "ESRCH" }, `pid ${pid} still running`);
  } finally {
    await demo.stop();
  }
});
