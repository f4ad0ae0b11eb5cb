/**
 * Services that come and go. Against a server and a client agent (the
 * gateway talks to the client agent, as on an application host): 300
 * services are served once, deregistered, and replaced by 300 new ones. Not
 * one request may get a 503 or a 429, the agent must keep answering other
 * clients on the same address (Consul refuses more than
 * http_max_conns_per_client = 200 connections per client address), the
 * watcher's connections to the agent must come back under 20, and the
 * gateway's state (route table entries, stats records, metric series) must be
 * back to its starting size once the services are gone. In both watch modes.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import superagent from "superagent";
import { ConsulAgent } from "../support/consul.js";
import { startBackend, type Backend } from "../support/backends.js";
import { establishedConnections } from "../support/connections.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";
import { eventually } from "../support/wait.js";

const COUNT = 300;
/** A service that answers no request within the discovery timeout stops the phase: each costs that long. */
const MAX_FAILURES_BEFORE_STOP = 5;

interface GatewayState {
  tableEntries: number;
  statsRecords: number;
  metricSeries: number;
}

async function stateOf(gateway: TestGateway): Promise<GatewayState> {
  const metrics = (await superagent.get(`${gateway.adminUrl}/metrics`).buffer(true)).text;
  return {
    tableEntries: gateway.store.current.serviceNames().length,
    statsRecords: gateway.stats.size,
    metricSeries: metrics.split("\n").filter((line) => line !== "" && !line.startsWith("#") && line.includes('service="')).length,
  };
}

describe("services that come and go", () => {
  let server: ConsulAgent;
  let client: ConsulAgent;
  let backend: Backend;
  let web: Backend;

  before(async () => {
    server = await ConsulAgent.start();
    client = await ConsulAgent.startClient(server);
    backend = await startBackend("churn");
    web = await startBackend("web-1");
    await client.register({ ID: "web-1", Name: "service-web", Address: "127.0.0.1", Port: web.port });
  });

  after(async () => {
    await backend?.close();
    await web?.close();
    await client?.destroy();
    await server?.destroy();
  });

  const names = (prefix: string): string[] => Array.from({ length: COUNT }, (_, i) => `${prefix}-${i}`);

  /** Registers through the server's agent: the test's own requests stay off the client agent the gateway talks to. */
  async function registerAll(services: string[]): Promise<void> {
    for (const name of services) await server.register({ ID: `${name}-1`, Name: name, Address: "127.0.0.1", Port: backend.port });
  }

  async function deregisterAll(services: string[]): Promise<void> {
    for (const name of services) await server.deregister(`${name}-1`);
  }

  /** One request per service through the gateway; the statuses other than 200, by status. */
  async function serveEach(gateway: TestGateway, services: string[]): Promise<Map<string, number>> {
    const failures = new Map<string, number>();
    let failed = 0;
    for (const name of services) {
      const res = await superagent.get(`${gateway.url}/${name}/getRemoteIp`).ok(() => true);
      if (res.status === 200) continue;
      const key = `${res.status} ${(res.body as { error?: { code?: string } }).error?.code ?? ""}`;
      failures.set(key, (failures.get(key) ?? 0) + 1);
      if (++failed >= MAX_FAILURES_BEFORE_STOP) break;
    }
    return failures;
  }

  const watcherConnections = (gateway: TestGateway): number => establishedConnections(gateway.supervisor.childPid!, client.httpPort);

  for (const watch of ["per-service", "shared"]) {
    test(`${watch} watch: ${COUNT} services served, deregistered and replaced by ${COUNT} new ones`, async (t) => {
      const gateway = await startTestGateway(client.address, { GATEWAY_SERVICES: "service-web", GATEWAY_WATCH: watch, GATEWAY_DISCOVERY_TIMEOUT_MS: "3000" });
      try {
        await eventually(() => gateway.store.current.get("service-web")?.instances.length === 1, 20_000, "service-web in the table");
        assert.equal((await superagent.get(`${gateway.url}/service-web/getRemoteIp`)).status, 200);
        const start = await stateOf(gateway);

        const old = names(`old-${watch}`);
        await registerAll(old);
        await eventually(() => old.every((n) => gateway.store.current.catalog?.services.has(n)), 30_000, "the old services in the catalog");
        assert.deepEqual([...(await serveEach(gateway, old))], [], "every old service answered 200");
        const busiest = watcherConnections(gateway);
        t.diagnostic(`watcher connections to the agent with ${COUNT} services served: ${busiest}`);
        if (watch === "per-service") {
          // Near Consul's per-client limit the watcher moved to the shared watch, and /ready says so without going unready.
          const ready = await superagent.get(`${gateway.adminUrl}/ready`).ok(() => true);
          assert.equal(ready.status, 200);
          assert.match(JSON.stringify((ready.body as { details: string[] }).details), /shared watch/);
        }
        // Another client on the same address as the gateway still gets answers from the agent.
        assert.equal((await superagent.get(`${client.url}/v1/status/leader`).ok(() => true)).status, 200);

        await deregisterAll(old);
        await eventually(() => old.every((n) => !gateway.store.current.catalog?.services.has(n)), 30_000, "the old services gone from the catalog");

        const fresh = names(`new-${watch}`);
        await registerAll(fresh);
        await eventually(() => fresh.every((n) => gateway.store.current.catalog?.services.has(n)), 30_000, "the new services in the catalog");
        assert.deepEqual([...(await serveEach(gateway, fresh))], [], "every new service answered 200");
        assert.equal((await superagent.get(`${client.url}/v1/status/leader`).ok(() => true)).status, 200);
        assert.ok(gateway.store.current.serviceNames().every((n) => !n.startsWith("old-")), `old services still in the table: ${gateway.store.current.serviceNames().filter((n) => n.startsWith("old-")).length}`);

        await deregisterAll(fresh);
        const after = await eventually(async () => {
          const now = await stateOf(gateway);
          return now.tableEntries === start.tableEntries && now.statsRecords === start.statsRecords && now.metricSeries === start.metricSeries && now;
        }, 30_000, `state back to ${JSON.stringify(start)} (now ${JSON.stringify(await stateOf(gateway))})`).catch(async (err: Error) => {
          assert.fail(`${err.message}; at the end: ${JSON.stringify(await stateOf(gateway))}`);
        });
        assert.deepEqual(after, start);
        const connections = await eventually(() => {
          const n = watcherConnections(gateway);
          return n < 20 && n;
        }, 30_000, "the watcher's connections back under 20").catch(() => assert.fail(`the watcher still holds ${watcherConnections(gateway)} connections to the agent`));
        t.diagnostic(`watcher connections to the agent after the churn: ${connections}`);
        // Served again on demand.
        await registerAll(old.slice(0, 3));
        await eventually(() => old.slice(0, 3).every((n) => gateway.store.current.catalog?.services.has(n)), 30_000, "three old services back");
        assert.deepEqual([...(await serveEach(gateway, old.slice(0, 3)))], []);
        await deregisterAll(old.slice(0, 3));
      } finally {
        await gateway.close();
      }
    });
  }

  test("a service nobody asks for within GATEWAY_SUBSCRIPTION_IDLE_MS is released, and subscribed again on demand; GATEWAY_SERVICES never", async () => {
    const gateway = await startTestGateway(client.address, { GATEWAY_SERVICES: "service-web", GATEWAY_SUBSCRIPTION_IDLE_MS: "1000" });
    try {
      await server.register({ ID: "idle-1", Name: "idle-svc", Address: "127.0.0.1", Port: backend.port });
      await eventually(() => gateway.store.current.catalog?.services.has("idle-svc"), 20_000, "idle-svc in the catalog");
      assert.equal((await superagent.get(`${gateway.url}/idle-svc/getRemoteIp`)).status, 200);
      assert.ok(gateway.store.current.get("idle-svc"));
      await eventually(() => gateway.store.current.get("idle-svc") === undefined, 20_000, "idle-svc released from the table");
      const routes = (await superagent.get(`${gateway.adminUrl}/routes`)).body as { services: { name: string }[] };
      assert.deepEqual(routes.services.map((s) => s.name), ["service-web"]);
      assert.equal((await superagent.get(`${gateway.url}/idle-svc/getRemoteIp`)).status, 200);
      assert.equal((await superagent.get(`${gateway.url}/service-web/getRemoteIp`)).status, 200);
    } finally {
      await server.deregister("idle-1");
      await gateway.close();
    }
  });

  test("a service whose last instance leaves and whose next one registers (a redeploy) is routed again without waiting for a request", async () => {
    const gateway = await startTestGateway(client.address);
    try {
      await server.register({ ID: "redeploy-1", Name: "redeploy-svc", Address: "127.0.0.1", Port: backend.port });
      await eventually(() => gateway.store.current.catalog?.services.has("redeploy-svc"), 20_000, "redeploy-svc in the catalog");
      assert.equal((await superagent.get(`${gateway.url}/redeploy-svc/getRemoteIp`)).status, 200);
      await server.deregister("redeploy-1");
      await eventually(() => gateway.store.current.get("redeploy-svc") === undefined, 20_000, "redeploy-svc released once it left the catalog");
      await server.register({ ID: "redeploy-2", Name: "redeploy-svc", Address: "127.0.0.1", Port: web.port });
      // No request asks for it: the catalog that names it again subscribes it, and the watcher's kept watch answers.
      await eventually(() => gateway.store.current.get("redeploy-svc")?.instances.map((i) => i.id).join(",") === "redeploy-2", 20_000, "redeploy-2 routed");
      assert.equal((await superagent.get(`${gateway.url}/redeploy-svc/getRemoteIp`)).status, 200);
    } finally {
      await server.deregister("redeploy-1").catch(() => {});
      await server.deregister("redeploy-2").catch(() => {});
      await gateway.close();
    }
  });
});
