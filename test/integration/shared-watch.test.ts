import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import superagent from "superagent";
import { ConsulAgent } from "../support/consul.js";
import { httpCheckedRegistration, startBackend, type Backend } from "../support/backends.js";
import { countHits, startTestGateway, type TestGateway } from "../support/gateway.js";
import { eventually } from "../support/wait.js";

const ids = (gateway: TestGateway, service = "service-web"): string[] => (gateway.store.current.get(service)?.instances ?? []).map((i) => i.id).sort();

describe("GATEWAY_WATCH=shared: every service through one watch on every check, against a real Consul", () => {
  let consul: ConsulAgent;
  const backends: Backend[] = [];
  let gateway: TestGateway;

  const backend = async (id: string): Promise<Backend> => {
    const started = await startBackend(id);
    backends.push(started);
    return started;
  };

  before(async () => {
    consul = await ConsulAgent.start();
    await consul.register(httpCheckedRegistration(await backend("web-1")));
    gateway = await startTestGateway(consul.address, { GATEWAY_WATCH: "shared", GATEWAY_SERVICES: "service-web", GATEWAY_BALANCER: "round-robin" });
  });

  after(async () => {
    await gateway?.close();
    await Promise.all(backends.map((b) => b.close()));
    await consul?.destroy();
  });

  test("routes at start, and a registration with a check reaches the table", async () => {
    await eventually(() => ids(gateway).join() === "web-1", 10_000, "web-1 in the table");
    await consul.register(httpCheckedRegistration(await backend("web-2")));
    await eventually(() => ids(gateway).join() === "web-1,web-2", 10_000, "web-2 in the table");
    assert.deepEqual([...(await countHits(gateway.url, 4)).keys()].sort(), ["web-1", "web-2"]);
  });

  test("a failing health check takes an instance out; passing again brings it back", async () => {
    const web1 = backends.find((b) => b.id === "web-1")!;
    await superagent.put(`http://127.0.0.1:${web1.port}/health/failing`);
    await eventually(() => ids(gateway).join() === "web-2", 10_000, "web-1 out");
    await superagent.put(`http://127.0.0.1:${web1.port}/health/ok`);
    await eventually(() => ids(gateway).join() === "web-1,web-2", 10_000, "web-1 back");
  });

  test("an instance registered without any check (only the catalog's index moves) is seen, and its deregistration too", async () => {
    const bare = await backend("web-3");
    await consul.register({ ID: "web-3", Name: "service-web", Address: "127.0.0.1", Port: bare.port });
    await eventually(() => ids(gateway).includes("web-3"), 10_000, "web-3 in the table");
    await consul.deregister("web-3");
    await eventually(() => !ids(gateway).includes("web-3"), 10_000, "web-3 gone");
  });

  test("a deregistration with checks, and a service subscribed on its first request", async () => {
    await consul.deregister("web-2");
    await eventually(() => ids(gateway).join() === "web-1", 10_000, "web-2 gone");
    const other = await backend("other-1");
    await consul.register(httpCheckedRegistration(other, "other"));
    await eventually(async () => {
      const res = await superagent.get(`${gateway.url}/other/getRemoteIp`).ok(() => true);
      return res.status === 200 && (res.body as { id: string }).id === "other-1";
    }, 10_000, "other-1 answering through the gateway");
  });
});
