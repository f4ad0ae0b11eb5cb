import Koa from "koa";
import type { Balancer } from "../routing/balancers/index.js";
import type { InstanceStatsRegistry } from "../routing/instance-stats.js";
import type { Forwarder } from "../proxy/forwarder.js";
import { parseProxyTarget } from "../proxy/target.js";
import { errorMiddleware } from "./error-middleware.js";
import type { ServiceResolver } from "./service-resolver.js";

export interface GatewayAppDeps {
  resolver: ServiceResolver;
  balancer: Balancer;
  forwarder: Forwarder;
  stats: InstanceStatsRegistry;
}

/**
 * The Koa app: errors → proxy. Every request is a proxy request, routed by its
 * first path segment, which parseProxyTarget reads from the raw URL (so
 * encodings survive) and refuses when it is no service name. A plain
 * middleware, not a @koa/router route: the router's matching and parameter
 * decoding cost ~10% of the gateway's CPU per request (docs/PERFORMANCE.md)
 * for a single catch-all route whose parameters were never read.
 * Once the instance answers, Koa steps aside (ctx.respond = false) and the
 * forwarder streams the response itself.
 */
export function createGatewayApp({ resolver, balancer, forwarder, stats }: GatewayAppDeps): Koa {
  const app = new Koa();
  // Errors are answered by errorMiddleware; Koa's default printer would only repeat them.
  app.silent = true;

  const proxy = async (ctx: Koa.Context): Promise<void> => {
    const target = parseProxyTarget(ctx.req.url ?? "");
    const instances = resolver.known(target.service) ?? (await resolver.resolve(target.service));
    const instance = balancer.pick(target.service, instances);
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
      await forwarder.relay(upstream, ctx.res);
    } catch (err) {
      instanceStats.failures += 1;
      throw err;
    } finally {
      instanceStats.inFlight -= 1;
    }
  };

  app.use(errorMiddleware);
  app.use(proxy);
  return app;
}
