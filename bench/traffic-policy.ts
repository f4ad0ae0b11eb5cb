/**
 * What the traffic policy costs a request, in process and without I/O:
 * RequestRouter.route + ServiceResolver.resolve (+ tags) + each balancer's pick,
 * for services of 3, 10 and 50 instances, next to the seed's parse + resolve.
 * Run: node --import tsx bench/traffic-policy.ts (numbers move with the machine's load).
 */
import type { IncomingMessage } from "node:http";
import { RequestRouter } from "../src/routing/request-router.js";
import { ServiceResolver } from "../src/routing/service-resolver.js";
import { parseProxyTarget } from "../src/routing/request-target.js";
import { RouteStore } from "../src/routing/route-store.js";
import { InstanceStatsRegistry } from "../src/routing/instance-stats.js";
import { TrafficWeights } from "../src/routing/traffic-weights.js";
import { BALANCER_NAMES } from "../src/balancer-options.js";
import { ServiceBalancers } from "../src/routing/balancers/index.js";
import { instance } from "../test/support/instances.js";

const ITER = 200_000;
async function time(label: string, fn: (i: number) => unknown | Promise<unknown>) {
  for (let i = 0; i < 20_000; i++) await fn(i); // warm the JIT
  const t = process.hrtime.bigint();
  for (let i = 0; i < ITER; i++) await fn(i);
  console.log(`${label.padEnd(48)} ${(Number(process.hrtime.bigint() - t) / ITER).toFixed(0).padStart(6)} ns/request`);
}

for (const n of [3, 10, 50]) {
  const store = new RouteStore();
  const list = Array.from({ length: n }, (_, i) => instance(`service-web-${i}`, { tags: i % 2 ? ["v2"] : ["v1"], weights: { passing: 1 + (i % 3), warning: 1 } }));
  store.swap(store.current.withCatalog(["service-web", "api"], "1", { api: ["urlprefix-/api strip=/api"] }).withService("service-web", list, "2"));
  const stats = new InstanceStatsRegistry();
  stats.observe(list.map((i) => i.id), { warmUpExempt: true });
  const weights = new TrafficWeights(stats, { warmUpMs: 30_000, warningWeightPercent: 10 });
  const resolver = new ServiceResolver(store, () => {}, 1000);
  const router = new RequestRouter(store, () => resolver.catalog(), { headerRoutePrefix: "/services", tagHeader: "x-gateway-tag", serviceTags: new Map() });
  const req = { url: "/service-web/getRemoteIp?x=1", headers: { "x-user": "u" } } as unknown as IncomingMessage;
  const tagged = { url: "/service-web/getRemoteIp", headers: { "x-gateway-tag": "v2" } } as unknown as IncomingMessage;
  if (n === 3) {
    await time(`seed's path: parseProxyTarget + resolve (n=${n})`, async () => resolver.resolve(parseProxyTarget(req.url!).service));
    await time(`route + resolve, no tags (n=${n})`, async () => { const t = await router.route(req); return resolver.resolve(t.service, t.tags); });
    await time(`route + resolve, X-Gateway-Tag (n=${n})`, async () => { const t = await router.route(tagged); return resolver.resolve(t.service, t.tags); });
  }
  for (const name of BALANCER_NAMES) {
    const balancers = new ServiceBalancers({ defaultBalancer: name, serviceBalancers: new Map() }, { stats, weights, hashKey: { source: "header", name: "x-user" } });
    await time(`route + resolve + ${name} (n=${n})`, async (i) => {
      const t = await router.route(req);
      const instances = await resolver.resolve(t.service, t.tags);
      return balancers.pick(t.service, instances, { headers: { "x-user": `u${i}` }, clientAddress: "127.0.0.1" });
    });
  }
}
