/**
 * Outlier detection as Envoy does it: an instance is ejected after
 * consecutive 5xx answers of its own (GATEWAY_OUTLIER_CONSECUTIVE_5XX) or
 * after consecutive gateway failures, a timeout included
 * (GATEWAY_OUTLIER_FAILURES); never more than GATEWAY_OUTLIER_MAX_EJECTION_PERCENT
 * of a service's instances are out; and below GATEWAY_PANIC_THRESHOLD_PERCENT
 * healthy instances the balancer uses all of them again. Instances register
 * with TTL checks: Consul keeps them passing whatever they answer, so only
 * the gateway's passive health can take them out.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import superagent from "superagent";
import { ConsulAgent } from "../support/consul.js";
import { startBackend, ttlRegistration, type Backend } from "../support/backends.js";
import { startSilentBackend, startStatusBackend } from "../support/faulty-backends.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";
import { eventually } from "../support/wait.js";

interface InstanceRoute {
  id: string;
  outlier: { ejected: boolean };
}
interface ServiceRoute {
  instances: InstanceRoute[];
  outlier: { ejected: number; panic: boolean };
}

describe("outlier detection", () => {
  let server: ConsulAgent;
  let client: ConsulAgent;
  const backends: Backend[] = [];

  before(async () => {
    server = await ConsulAgent.start();
    client = await ConsulAgent.startClient(server);
  });

  after(async () => {
    await Promise.all(backends.map((b) => b.close()));
    await client?.destroy();
    await server?.destroy();
  });

  async function service(name: string, members: Promise<Backend>[]): Promise<void> {
    for (const backend of await Promise.all(members)) {
      backends.push(backend);
      await client.register(ttlRegistration(backend, name));
    }
  }

  async function gatewayFor(name: string, instances: number, env: Record<string, string>): Promise<TestGateway> {
    const gateway = await startTestGateway(client.address, { GATEWAY_SERVICES: name, GATEWAY_BALANCER: "round-robin", GATEWAY_RETRY_ATTEMPTS: "1", ...env });
    await eventually(() => gateway.store.current.get(name)?.instances.length === instances, 20_000, `${instances} instances of ${name}`);
    return gateway;
  }

  const routeOf = async (gateway: TestGateway, name: string): Promise<ServiceRoute> => (await superagent.get(`${gateway.adminUrl}/routes/${name}`)).body as ServiceRoute;
  const ejected = async (gateway: TestGateway, name: string): Promise<string[]> =>
    (await routeOf(gateway, name)).instances.filter((i) => i.outlier.ejected).map((i) => i.id).sort();

  /** `count` requests; the answering instance's id (from the body) or the status. */
  async function send(gateway: TestGateway, name: string, count: number): Promise<string[]> {
    const out: string[] = [];
    for (let i = 0; i < count; i++) {
      const res = await superagent.get(`${gateway.url}/${name}/getRemoteIp`).ok(() => true);
      out.push((res.body as { id?: string }).id ?? String(res.status));
    }
    return out;
  }

  test("an instance that answers 503 to every request is ejected after GATEWAY_OUTLIER_CONSECUTIVE_5XX of them", async () => {
    await service("answers-503", [startBackend("ok-1"), startBackend("ok-2"), startStatusBackend("bad-503", 503)]);
    const gateway = await gatewayFor("answers-503", 3, { GATEWAY_OUTLIER_CONSECUTIVE_5XX: "3" });
    try {
      await send(gateway, "answers-503", 12);
      assert.deepEqual(await ejected(gateway, "answers-503"), ["bad-503"]);
      const later = await send(gateway, "answers-503", 10);
      assert.ok(!later.includes("bad-503"), later.join(","));
      const metrics = (await superagent.get(`${gateway.adminUrl}/metrics`).buffer(true)).text;
      assert.match(metrics, /gateway_outlier_ejections_total\{service="answers-503",reason="consecutive_5xx"\} 1/);
    } finally {
      await gateway.close();
    }
  });

  test("an instance that never answers is ejected after GATEWAY_OUTLIER_FAILURES timeouts", async () => {
    await service("times-out", [startBackend("ok-1"), startBackend("ok-2"), startSilentBackend("silent")]);
    const gateway = await gatewayFor("times-out", 3, { GATEWAY_OUTLIER_FAILURES: "2", GATEWAY_UPSTREAM_TIMEOUT_MS: "300" });
    try {
      const first = await send(gateway, "times-out", 9);
      assert.ok(first.includes("504"), first.join(","));
      assert.deepEqual(await ejected(gateway, "times-out"), ["silent"]);
      const later = await send(gateway, "times-out", 10);
      assert.deepEqual(later.filter((id) => id !== "ok-1" && id !== "ok-2"), []);
    } finally {
      await gateway.close();
    }
  });

  test("at most GATEWAY_OUTLIER_MAX_EJECTION_PERCENT (50 % by default) of a service's instances are ejected", async () => {
    await service("mostly-bad", [startBackend("ok-1"), startStatusBackend("bad-1", 500), startStatusBackend("bad-2", 502), startStatusBackend("bad-3", 503)]);
    const gateway = await gatewayFor("mostly-bad", 4, { GATEWAY_OUTLIER_CONSECUTIVE_5XX: "2" });
    try {
      await send(gateway, "mostly-bad", 40);
      const out = await ejected(gateway, "mostly-bad");
      assert.equal(out.length, 2, out.join(","));
      assert.ok(!out.includes("ok-1"));
      assert.deepEqual((await routeOf(gateway, "mostly-bad")).outlier, { ejected: 2, panic: false });
    } finally {
      await gateway.close();
    }
  });

  test("below GATEWAY_PANIC_THRESHOLD_PERCENT healthy instances, traffic goes to all of them again", async () => {
    await service("panics", [startBackend("ok-1"), startStatusBackend("bad-1", 500), startStatusBackend("bad-2", 502), startStatusBackend("bad-3", 503)]);
    const gateway = await gatewayFor("panics", 4, { GATEWAY_OUTLIER_CONSECUTIVE_5XX: "2", GATEWAY_OUTLIER_MAX_EJECTION_PERCENT: "100", GATEWAY_PANIC_THRESHOLD_PERCENT: "50" });
    try {
      await send(gateway, "panics", 40);
      assert.deepEqual(await ejected(gateway, "panics"), ["bad-1", "bad-2", "bad-3"]);
      assert.deepEqual((await routeOf(gateway, "panics")).outlier, { ejected: 3, panic: true });
      const hits = new Set(await send(gateway, "panics", 8));
      assert.deepEqual([...hits].sort(), ["bad-1", "bad-2", "bad-3", "ok-1"]);
      const metrics = (await superagent.get(`${gateway.adminUrl}/metrics`).buffer(true)).text;
      assert.match(metrics, /gateway_outlier_panic\{service="panics"\} 1/);
    } finally {
      await gateway.close();
    }
  });

  test("with the panic threshold at 0, ejected instances stay out however few are left", async () => {
    await service("no-panic", [startBackend("ok-1"), startStatusBackend("bad-1", 500), startStatusBackend("bad-2", 502), startStatusBackend("bad-3", 503)]);
    const gateway = await gatewayFor("no-panic", 4, { GATEWAY_OUTLIER_CONSECUTIVE_5XX: "2", GATEWAY_OUTLIER_MAX_EJECTION_PERCENT: "100", GATEWAY_PANIC_THRESHOLD_PERCENT: "0" });
    try {
      await send(gateway, "no-panic", 40);
      assert.deepEqual(await ejected(gateway, "no-panic"), ["bad-1", "bad-2", "bad-3"]);
      assert.deepEqual([...new Set(await send(gateway, "no-panic", 8))], ["ok-1"]);
    } finally {
      await gateway.close();
    }
  });
});
