import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import superagent from "superagent";
import { ConsulAgent } from "../support/consul.js";
import { startBackend, ttlRegistration, type Backend } from "../support/backends.js";
import { countHits, startTestGateway, type TestGateway } from "../support/gateway.js";
import { eventually } from "../support/wait.js";

/**
 * Three instances of service-web registered with Consul Weights 3/1/1 and
 * service meta gateway-balancer=weighted; each test's gateway shows one
 * balancer against them.
 */
describe("balancers against instances registered in a real Consul", () => {
  let consul: ConsulAgent;
  const backends: Backend[] = [];
  const gateways: TestGateway[] = [];

  async function gateway(env: Record<string, string>): Promise<TestGateway> {
    const started = await startTestGateway(consul.address, { GATEWAY_SERVICES: "service-web", ...env });
    gateways.push(started);
    await eventually(() => started.store.current.get("service-web")?.instances.length === 3, 10_000, "three instances in the table");
    return started;
  }

  before(async () => {
    consul = await ConsulAgent.start();
    for (const [id, weight] of [["web-1", 3], ["web-2", 1], ["web-3", 1]] as const) {
      const backend = await startBackend(id);
      backends.push(backend);
      await consul.register(ttlRegistration(backend, "service-web", { Weights: { Passing: weight, Warning: 1 }, Meta: { "gateway-balancer": "weighted" } }));
    }
  });

  after(async () => {
    await Promise.all(gateways.map((g) => g.close()));
    await Promise.all(backends.map((b) => b.close()));
    await consul?.destroy();
  });

  test("weighted, chosen by the service's meta over the default: exactly 3/1/1 per cycle of 5, from Consul's Weights.Passing", async () => {
    const weighted = await gateway({ GATEWAY_BALANCER: "random" });
    assert.deepEqual(weighted.store.current.get("service-web")!.instances.map((i) => i.weights.passing).sort(), [1, 1, 3]);
    assert.deepEqual(Object.fromEntries(await countHits(weighted.url, 50)), { "web-1": 30, "web-2": 10, "web-3": 10 });
  });

  test("round-robin, chosen by GATEWAY_SERVICE_BALANCERS over the meta: exactly 10 of 30 each, weights aside", async () => {
    const roundRobin = await gateway({ GATEWAY_SERVICE_BALANCERS: "service-web:round-robin" });
    assert.deepEqual(Object.fromEntries(await countHits(roundRobin.url, 30)), { "web-1": 10, "web-2": 10, "web-3": 10 });
  });

  test("least-request: an instance busy with a slow request gets none of the requests sent meanwhile", async () => {
    const leastRequest = await gateway({ GATEWAY_SERVICE_BALANCERS: "service-web:least-request" });
    const slow = superagent.get(`${leastRequest.url}/service-web/slow?ms=4000`).then((res) => (res.body as { id: string }).id);
    const busy = await eventually(() => ["web-1", "web-2", "web-3"].find((id) => leastRequest.stats.peek(`${consul.node}/${id}`)?.inFlight === 1), 5_000, "the slow request in flight");
    const hits = await countHits(leastRequest.url, 60);
    assert.equal(await slow, busy);
    // Two distinct candidates are compared and the busy one has more in flight: it loses every pair it is in.
    assert.equal(hits.get(busy), undefined, `busy ${busy}: ${JSON.stringify(Object.fromEntries(hits))}`);
    // The two idle ones share the 60. The least likely to win a request does so with p = 1/4
    // (when web-1, weight 3, is the other idle one), so it gets none with p = (3/4)^60 ≈ 3e-8.
    assert.equal(hits.size, 2, JSON.stringify(Object.fromEntries(hits)));
  });

  test("hash on a header: each user sticks to one instance, users spread by weight, and a leaving instance moves only its users", async () => {
    const hash = await gateway({ GATEWAY_SERVICE_BALANCERS: "service-web:hash", GATEWAY_HASH_KEY: "header:X-User" });
    const users = Array.from({ length: 60 }, (_, i) => `user-${i}`);
    const placement = async (): Promise<Map<string, string>> => {
      const out = new Map<string, string>();
      for (const user of users) {
        const ids = new Set<string>();
        for (let i = 0; i < 2; i++) ids.add(((await superagent.get(`${hash.url}/service-web/getRemoteIp`).set("x-user", user)).body as { id: string }).id);
        assert.equal(ids.size, 1, `${user} went to ${[...ids].join(" and ")}`);
        out.set(user, [...ids][0]!);
      }
      return out;
    };
    const before = await placement();
    // Weighted 3/1/1: each weight-1 instance gets a user with p = 1/5 each time, so none in 60 with p = (4/5)^60 ≈ 1.5e-6.
    assert.deepEqual(new Set(before.values()), new Set(["web-1", "web-2", "web-3"]));

    // Without the header, the client address is the key: every request from here lands on one instance.
    assert.equal((await countHits(hash.url, 10)).size, 1);

    await consul.deregister("web-3");
    await eventually(() => hash.store.current.get("service-web")!.instances.length === 2, 5_000, "web-3 gone");
    const afterLeave = await placement();
    for (const user of users) {
      if (before.get(user) !== "web-3") assert.equal(afterLeave.get(user), before.get(user), `${user} moved though its instance stayed`);
      else assert.notEqual(afterLeave.get(user), "web-3");
    }
  });
});
