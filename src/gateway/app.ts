import Koa, { type Middleware } from "koa";
import Router from "@koa/router";
import type { Balancer } from "../routing/balancers/index.js";
import type { InstanceStatsRegistry } from "../routing/instance-stats.js";
import type { Forwarder } from "../proxy/forwarder.js";
import type { ProxyRequestState } from "../observability/request-state.js";
import { parseProxyTarget } from "../proxy/target.js";
import { errorMiddleware } from "./error-middleware.js";
import type { ServiceResolver } from "./service-resolver.js";

export interface GatewayAppDeps {
  resolver: ServiceResolver;
  balancer: Balancer;
  forwarder: Forwarder;
  stats: InstanceStatsRegistry;
  /** Sees every request first and last (request id, metrics, access log); reads what the handler leaves in ctx.state. */
  observe?: Middleware;
}

/**
 * The Koa app: errors → router → proxy. The router dispatches only; the
 * upstream path comes from the raw URL (parseProxyTarget) so encodings survive.
 * Once the instance answers, Koa steps aside (ctx.respond = false) and the
 * forwarder streams the response itself.
 */
export function createGatewayApp({ resolver, balancer, forwarder, stats, observe }: GatewayAppDeps): Koa {
  const app = new Koa();
  // Errors are answered by errorMiddleware; Koa's default printer would only repeat them.
  app.silent = true;
  const router = new Router();

  router.all("/:service{/*rest}", async (ctx) => {
    const target = parseProxyTarget(ctx.req.url ?? "");
    const observed = ctx.state as ProxyRequestState;
    observed.service = target.service;
    const instances = await resolver.resolve(target.service);
    const instance = balancer.pick(target.service, instances);
    observed.instance = instance.id;
    observed.upstreamStartedAt = performance.now();
    const instanceStats = stats.get(instance.id);
    instanceStats.requests += 1;
    instanceStats.inFlight += 1;
    try {
      const upstream = await forwarder.send(ctx.req, ctx.res, instance, target.upstreamPath, target.service, {
        clientAddress: ctx.req.socket.remoteAddress ?? "unknown",
        proto: "http",
        host: ctx.req.headers.host,
      });
      ctx.respond = false;
      if (upstream.statusCode >= 500) instanceStats.serverErrors += 1;
      await forwarder.relay(upstream, ctx.res);
    } catch (err) {
      instanceStats.failures += 1;
      throw err;
    } finally {
      instanceStats.inFlight -= 1;
    }
  });

  if (observe !== undefined) app.use(observe);
  app.use(errorMiddleware);
  app.use(router.routes());
  return app;
}
