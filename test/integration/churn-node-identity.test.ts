/**
 * One service ID on two Consul nodes is two instances. Consul's service ID is
 * unique per agent, not per cluster (Fabio puts the node in its instance id
 * for this reason), and deployments that let every container register as
 * "web" or with a fixed ID hit it on the second host. A server and a client
 * agent each hold an instance registered as "dup": both must take traffic,
 * show apart in /routes and /metrics, and fail over to each other.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import superagent from "superagent";
import { ConsulAgent } from "../support/consul.js";
import { startBackend, ttlRegistration, type Backend } from "../support/backends.js";
import { countHits, startTestGateway, type TestGateway } from "../support/gateway.js";
import { eventually } from "../support/wait.js";

interface RoutesInstance {
  id: string;
  node?: string;
  requests: number;
  outlier: { ejected: boolean };
}

describe("the same service ID on two Consul nodes", () => {
  let server: ConsulAgent;
  let client: ConsulAgent;
  const backends: Backend[] = [];
  const gateways: TestGateway[] = [];

  before(async () => {
    server = await ConsulAgent.start();
    client = await ConsulAgent.startClient(server);
    const onServer = await startBackend("on-server");
    const onClient = await startBackend("on-client");
    backends.push(onServer, onClient);
    await server.register(ttlRegistration(onServer, "service-web", { ID: "dup" }));
    await client.register(ttlRegistration(onClient, "service-web", { ID: "dup" }));
  });

  after(async () => {
    for (const gateway of gateways) await gateway.close();
    await Promise.all(backends.map((b) => b.close()));
    await client?.destroy();
    await server?.destroy();
  });

  async function gatewayWith(env: Record<string, string>): Promise<TestGateway> {
    const gateway = await startTestGateway(client.address, { GATEWAY_SERVICES: "service-web", ...env });
    gateways.push(gateway);
    await eventually(() => gateway.store.current.get("service-web")?.instances.length === 2, 20_000, "both dup instances in the table");
    return gateway;
  }

  for (const balancer of ["round-robin", "weighted", "least-request"]) {
    test(`${balancer} sends traffic to both`, async () => {
      const gateway = await gatewayWith({ GATEWAY_BALANCER: balancer });
      const hits = await countHits(gateway.url, 20);
      assert.deepEqual([...hits.keys()].sort(), ["on-client", "on-server"], JSON.stringify([...hits]));
      if (balancer !== "least-request") assert.equal(hits.get("on-server"), 10);
      await gateway.close();
    });
  }

  test("/routes shows two instances with their nodes and their own counters; /metrics two instance series", async () => {
    const gateway = await gatewayWith({ GATEWAY_BALANCER: "round-robin" });
    await countHits(gateway.url, 10);
    const routes = (await superagent.get(`${gateway.adminUrl}/routes/service-web`)).body as { instances: RoutesInstance[] };
    assert.equal(routes.instances.length, 2);
    assert.deepEqual(routes.instances.map((i) => i.node).sort(), [client.node, server.node].sort());
    assert.deepEqual(routes.instances.map((i) => i.requests), [5, 5]);
    const metrics = (await superagent.get(`${gateway.adminUrl}/metrics`).buffer(true)).text;
    const series = metrics.split("\n").filter((line) => line.startsWith("gateway_requests_total{") && line.includes('service="service-web"'));
    assert.equal(new Set(series.map((line) => /instance="([^"]*)"/.exec(line)![1])).size, 2, series.join("\n"));
    await gateway.close();
  });

  test("with the server's instance dead, every request is answered by the client's", async () => {
    const gateway = await gatewayWith({ GATEWAY_BALANCER: "round-robin" });
    await backends[0]!.close();
    const statuses: number[] = [];
    const ids = new Set<string>();
    for (let i = 0; i < 10; i++) {
      const res = await superagent.get(`${gateway.url}/service-web/getRemoteIp`).ok(() => true);
      statuses.push(res.status);
      if (res.status === 200) ids.add((res.body as { id: string }).id);
    }
    assert.deepEqual(statuses, Array(10).fill(200));
    assert.deepEqual([...ids], ["on-client"]);
    // The dead one is ejected, the live one is not: they are two records.
    const routes = (await superagent.get(`${gateway.adminUrl}/routes/service-web`)).body as { instances: RoutesInstance[] };
    const byNode = new Map(routes.instances.map((i) => [i.node, i]));
    assert.equal(byNode.get(server.node)?.outlier.ejected, true);
    assert.equal(byNode.get(client.node)?.outlier.ejected, false);
    await gateway.close();
  });
});
