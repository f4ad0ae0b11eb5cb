/**
 * The behaviour every registry must show, from one table of cases run against
 * each registry's harness (test/support/registries.ts): a real registry, real
 * backends, a gateway whose watcher child is a real forked process.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import superagent from "superagent";
import { loadRegistrySettings } from "../../src/config.js";
import { createRegistry, registryConfig } from "../../src/discovery/registries/create-registry.js";
import { startBackend, type Backend } from "../support/backends.js";
import { captureDebug, countHits, startTestGateway, type TestGateway } from "../support/gateway.js";
import { REGISTRY_HARNESSES, type RegistryHarness } from "../support/registries.js";
import { eventually } from "../support/wait.js";
import type { ServiceView } from "../../src/admin/view-types.js";

interface Context {
  registry: RegistryHarness;
  gateway: TestGateway;
  /** web-1, web-2, web-3: registered before the first case, and again after any case that removes one. */
  backends: Backend[];
  /** Starts a backend that the suite stops at the end. */
  extraBackend(id: string): Promise<Backend>;
}

const hits = async (ctx: Context, count: number): Promise<string[]> => [...(await countHits(ctx.gateway.url, count)).keys()].sort();
const inTable = (ctx: Context, backend: Backend): boolean =>
  ctx.gateway.store.current.get("service-web")?.instances.some((i) => i.port === backend.port) ?? false;

async function waitForTraffic(ctx: Context, backend: Backend, what: string): Promise<void> {
  await eventually(async () => (await countHits(ctx.gateway.url, 4)).has(backend.id), 20_000, what);
}

const CASES: [string, (ctx: Context) => Promise<void>][] = [
  [
    "three registered instances all get traffic, evenly with round-robin",
    async (ctx) => {
      const counts = await countHits(ctx.gateway.url, 30);
      assert.deepEqual(Object.fromEntries(counts), { "web-1": 10, "web-2": 10, "web-3": 10 });
      // The admin API shows the same table, whichever registry filled it.
      await eventually(async () => (await superagent.get(`${ctx.gateway.adminUrl}/ready`).ok(() => true)).status === 200, 10_000, "ready: the catalog and service-web loaded");
      const routes = (await superagent.get(`${ctx.gateway.adminUrl}/routes/service-web`)).body as ServiceView;
      assert.deepEqual(routes.instances.map((i) => i.requests), [10, 10, 10]);
    },
  ],
  [
    "a newly registered instance gets traffic",
    async (ctx) => {
      const fourth = await ctx.extraBackend("web-4");
      await ctx.registry.register(fourth);
      await waitForTraffic(ctx, fourth, "traffic to web-4");
      await ctx.registry.deregister(fourth);
      await eventually(() => !inTable(ctx, fourth), 10_000, "web-4 gone again");
    },
  ],
  [
    "a deregistered instance gets no more traffic",
    async (ctx) => {
      const third = ctx.backends[2]!;
      await ctx.registry.deregister(third);
      await eventually(() => !inTable(ctx, third), 10_000, "web-3 gone from the table");
      assert.deepEqual(await hits(ctx, 30), ["web-1", "web-2"]);
      await ctx.registry.register(third);
      await waitForTraffic(ctx, third, "web-3 back");
    },
  ],
  [
    "find reads the instances once, without a watch; a tag no instance carries finds none",
    async (ctx) => {
      const registry = createRegistry(registryConfig(loadRegistrySettings(ctx.registry.env)));
      try {
        const found = await registry.find("service-web");
        assert.deepEqual(found.map((i) => i.port).sort(), ctx.backends.map((b) => b.port).sort());
        assert.ok(found.every((i) => i.address === "127.0.0.1"));
        assert.deepEqual(await registry.find("service-web", ["no-such-tag"]), []);
        assert.deepEqual(await registry.find("no-such-service"), []);
      } finally {
        await registry.close();
      }
    },
  ],
  [
    "killing the watcher child: requests keep being served, the child is restarted, a later registration arrives",
    async (ctx) => {
      const firstPid = ctx.gateway.supervisor.childPid!;
      process.kill(firstPid, "SIGKILL");
      // While the child is dead or restarting, the last known routes serve every request.
      assert.deepEqual(await hits(ctx, 12), ["web-1", "web-2", "web-3"]);
      await eventually(() => ctx.gateway.supervisor.restarts >= 1 && ctx.gateway.supervisor.childPid !== firstPid, 10_000, "a new watcher child");
      const fifth = await ctx.extraBackend("web-5");
      await ctx.registry.register(fifth);
      await waitForTraffic(ctx, fifth, "traffic to web-5 after the restart");
      await ctx.registry.deregister(fifth);
      await eventually(() => !inTable(ctx, fifth), 10_000, "web-5 gone again");
    },
  ],
  [
    "stopping the registry: the last known instances keep serving; after its restart updates resume",
    async (ctx) => {
      const log = captureDebug("gateway:routes");
      try {
        await ctx.registry.stop();
        // The watcher has noticed (and told the gateway) that the registry is gone; the table is untouched.
        await eventually(() => log.lines.some((line) => /watch error/.test(line)), 20_000, `a watch error in:\n${log.lines.join("\n")}`);
        assert.deepEqual(await hits(ctx, 12), ["web-1", "web-2", "web-3"]);
        // The admin API: still ready (fail static), and the failed requests counted under this registry's name.
        assert.equal((await superagent.get(`${ctx.gateway.adminUrl}/ready`)).status, 200);
        const metrics = (await superagent.get(`${ctx.gateway.adminUrl}/metrics`).buffer(true)).text;
        const errors = [...metrics.matchAll(/^gateway_registry_request_errors_total\{registry="(\w+)",watch="(?:catalog|service)"\} (\d+)$/gm)];
        assert.deepEqual([...new Set(errors.map((m) => m[1]))], [ctx.registry.kind], metrics);
        assert.ok(errors.reduce((n, m) => n + Number(m[2]), 0) >= 1, metrics);
      } finally {
        log.restore();
      }
      await ctx.registry.start();
      const sixth = await ctx.extraBackend("web-6");
      await ctx.registry.register(sixth);
      await waitForTraffic(ctx, sixth, "traffic to web-6 after the registry's restart");
      await ctx.registry.deregister(ctx.backends[0]!);
      await eventually(() => !inTable(ctx, ctx.backends[0]!), 20_000, "web-1 gone after the registry's restart");
    },
  ],
];

for (const harness of REGISTRY_HARNESSES) {
  describe(`${harness.kind}: the behaviour every registry shares`, () => {
    const extras: Backend[] = [];
    const ctx = { extraBackend: async (id: string) => extras[extras.push(await startBackend(id)) - 1]! } as Context;

    before(async () => {
      ctx.registry = await harness.start();
      ctx.backends = await Promise.all(["web-1", "web-2", "web-3"].map(startBackend));
      for (const backend of ctx.backends) await ctx.registry.register(backend);
      ctx.gateway = await startTestGateway(ctx.registry.env, { GATEWAY_BALANCER: "round-robin", GATEWAY_SERVICES: "service-web" });
      await eventually(() => ctx.backends.every((b) => inTable(ctx, b)), 20_000, "three instances in the table");
    });

    after(async () => {
      await ctx.gateway?.close();
      await Promise.all([...(ctx.backends ?? []), ...extras].map((b) => b.close()));
      await ctx.registry?.destroy();
    });

    for (const [name, run] of CASES) test(name, () => run(ctx));
  });
}
