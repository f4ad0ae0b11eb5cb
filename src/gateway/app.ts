import Koa from "koa";
import Router from "@koa/router";
import type { Balancer } from "../routing/balancers/index.js";
import type { InstanceStatsRegistry } from "../routing/instance-stats.js";
import type { Forwarder } from "../proxy/forwarder.js";
import { errorMiddleware } from "./error-middleware.js";
import type { RequestRouter } from "./request-router.js";
import type { ServiceResolver } from "./service-resolver.js";

export interface GatewayAppDeps {
  requestRouter: RequestRouter;
  resolver: ServiceResolver;
  balancer: Balancer;
  forwarder: Forwarder;
  stats: InstanceStatsRegistry;
}

/**
 * The Koa app: errors → router → proxy. The router dispatches only; the
 * target (service, upstream path, tags) comes from the raw URL and headers
 * (RequestRouter) so encodings survive.
 * Once the instance answers, Koa steps aside (ctx.respond = false) and the
 * forwarder streams the response itself.
 */
export function createGatewayApp({ requestRouter, resolver, balancer, forwarder, stats }: GatewayAppDeps): Koa {
  const app = new Koa();
  // Errors are answered by errorMiddleware; Koa's default printer would only repeat them.
  app.silent = true;
  const router = new Router();

  // Every path: "/" too, which a urlprefix-/ route may claim (RequestRouter answers ROUTE_NOT_FOUND otherwise).
  router.all("{/*path}", async (ctx) => {
    const target = await requestRouter.route(ctx.req);
    const instances = await resolver.resolve(target.service, target.tags);
    const clientAddress = ctx.req.socket.remoteAddress ?? "unknown";
    const instance = balancer.pick(target.service, instances, { headers: ctx.req.headers, clientAddress });
    const instanceStats = stats.get(instance.id);
    instanceStats.requests += 1;
    instanceStats.inFlight += 1;
    try {
      const upstream = await forwarder.send(ctx.req, ctx.res, instance, target.upstreamPath, target.service, {
        clientAddress,
        proto: "http",
        host: ctx.req.headers.host,
      });
      ctx.respond = false;
      await forwarder.relay(upstream, ctx.res);
    } catch (err) {
      instanceStats.failures += 1;
      throw err;
    } finally {
      instanceStats.inFlight -= 1;
    }
  });

  app.use(errorMiddleware);
  app.use(router.routes());
  return app;
}
