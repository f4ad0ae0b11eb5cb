import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import superagent from "superagent";
import type { ServiceView } from "../../src/admin/view-types.js";
import { ConsulAgent } from "../support/consul.js";
import { startBackend, ttlCheckId, ttlRegistration, type Backend } from "../support/backends.js";
import { countHits, startTestGateway, type TestGateway } from "../support/gateway.js";
import { eventually } from "../support/wait.js";

describe("warm-up and health states, against a real Consul", () => {
  let consul: ConsulAgent;
  const backends: Backend[] = [];
  const gateways: TestGateway[] = [];

  async function backend(id: string, service: string): Promise<Backend> {
    const started = await startBackend(id);
    backends.push(started);
    await consul.register(ttlRegistration(started, service));
    return started;
  }

  async function gateway(service: string, count: number, env: Record<string, string>): Promise<TestGateway> {
    const started = await startTestGateway(consul.address, { GATEWAY_SERVICES: service, GATEWAY_BALANCER: "round-robin", ...env });
    gateways.push(started);
    await eventually(() => started.store.current.get(service)?.instances.length === count, 10_000, `${count} instances of ${service}`);
    return started;
  }

  before(async () => {
    consul = await ConsulAgent.start();
  });

  after(async () => {
    await Promise.all(gateways.map((g) => g.close()));
    await Promise.all(backends.map((b) => b.close()));
    await consul?.destroy();
  });

  test("warm-up: instances there at the start take full traffic at once; one registered later gets a reduced share", async () => {
    await backend("old-1", "warm-web");
    await backend("old-2", "warm-web");
    // The longest window, an hour: however loaded this machine, the new instance stays near its 10% start.
    const warming = await gateway("warm-web", 2, { GATEWAY_WARMUP_MS: "3600000" });
    assert.deepEqual(Object.fromEntries(await countHits(warming.url, 20, "/warm-web/getRemoteIp")), { "old-1": 10, "old-2": 10 });

    await backend("young", "warm-web");
    await eventually(() => warming.store.current.get("warm-web")!.instances.length === 3, 5_000, "the new instance in the table");
    const hits = await countHits(warming.url, 42, "/warm-web/getRemoteIp");
    // Weights 1, 1 and f, with f = 0.1 + 0.9 * age / 1 h: f < 0.15 for the first 200 s, so the new
    // instance gets at most 0.15/2.15 of 42 ≈ 3 requests, the old ones about 20 each; round-robin is
    // deterministic, so it does get its 1-3.
    assert.ok((hits.get("young") ?? 0) >= 1 && (hits.get("young") ?? 0) <= 3, JSON.stringify(Object.fromEntries(hits)));
    assert.ok(hits.get("old-1")! >= 19 && hits.get("old-2")! >= 19, JSON.stringify(Object.fromEntries(hits)));
    // The admin API shows the same: the old instances at full weight, the new one near its start.
    const view = (await superagent.get(`${warming.adminUrl}/routes/warm-web`)).body as ServiceView;
    const byId = Object.fromEntries(view.instances.map((i) => [i.id, i]));
    assert.deepEqual([byId["old-1"]!.warmUp, byId["old-2"]!.warmUp], [1, 1]);
    assert.ok(byId["young"]!.warmUp >= 0.1 && byId["young"]!.warmUp < 0.15 && byId["young"]!.weight === byId["young"]!.warmUp, JSON.stringify(byId["young"]));
  });

  test("health: a warning instance leaves a passing-only gateway, and stays on a passing,warning one at a reduced weight", async () => {
    for (const id of ["h-1", "h-2", "h-3"]) await backend(id, "health-web");
    const passingOnly = await gateway("health-web", 3, {});
    const withWarning = await gateway("health-web", 3, { GATEWAY_HEALTH_STATES: "passing,warning", GATEWAY_WARNING_WEIGHT_PERCENT: "50" });

    await consul.setTtl(ttlCheckId("h-3"), "warn");
    await eventually(() => passingOnly.store.current.get("health-web")!.instances.length === 2, 5_000, "h-3 out of the passing-only table");
    await eventually(() => withWarning.store.current.get("health-web")!.instances.find((i) => i.id === "h-3")?.health === "warning", 5_000, "h-3 warning in the other table");

    assert.deepEqual(Object.fromEntries(await countHits(passingOnly.url, 20, "/health-web/getRemoteIp")), { "h-1": 10, "h-2": 10 });
    // Round-robin with weights 1, 1, 0.5 (50% of a passing weight): exactly 2/2/1 per cycle of 5.
    assert.deepEqual(Object.fromEntries(await countHits(withWarning.url, 40, "/health-web/getRemoteIp")), { "h-1": 16, "h-2": 16, "h-3": 8 });
    const view = (await superagent.get(`${withWarning.adminUrl}/routes/health-web`)).body as ServiceView;
    assert.deepEqual(view.instances.map((i) => [i.id, i.health, i.registeredWeight, i.weight]), [["h-1", "passing", 1, 1], ["h-2", "passing", 1, 1], ["h-3", "warning", 1, 0.5]]);

    await consul.setTtl(ttlCheckId("h-3"), "fail");
    await eventually(() => withWarning.store.current.get("health-web")!.instances.length === 2, 5_000, "critical h-3 out of both tables");
    await consul.setTtl(ttlCheckId("h-3"), "pass");
    await eventually(() => passingOnly.store.current.get("health-web")!.instances.length === 3, 5_000, "h-3 back once it passes");
  });
});
