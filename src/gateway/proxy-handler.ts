/**
 * The proxy route: resolve the service, take the instances in rotation, pick
 * one, forward; on a failure that is safe to retry, pick another instance
 * that was not tried yet, within a bounded number of attempts and a deadline.
 */
import type { Context } from "koa";
import createDebug from "debug";
import type { Balancer } from "../routing/balancers/index.js";
import type { InstanceStatsRegistry } from "../routing/instance-stats.js";
import type { OutlierDetector } from "../routing/outlier-detector.js";
import type { Forwarder } from "../proxy/forwarder.js";
import type { ProxyRequestState } from "../observability/request-state.js";
import { LazyBody } from "../proxy/lazy-body.js";
import { classifyFailure, isRetryable } from "../proxy/retry-policy.js";
import { GatewayError } from "../errors.js";
import type { RequestRouter } from "../routing/request-router.js";
import type { ServiceResolver } from "../routing/service-resolver.js";

const debug = createDebug("gateway:proxy");

export interface RetryOptions {
  /** Attempts in all, the first included; 1 turns retries off. */
  maxAttempts: number;
  /** No new attempt starts this long after the request arrived. */
  deadlineMs: number;
}

export interface ProxyHandlerDeps {
  requestRouter: RequestRouter;
  resolver: ServiceResolver;
  balancer: Balancer;
  forwarder: Forwarder;
  stats: InstanceStatsRegistry;
  outliers: OutlierDetector;
  retry: RetryOptions;
  /** Bound on a body whose size is not declared (0: none). */
  maxBodyBytes: number;
  preserveHost: boolean;
}

function hasBody(ctx: Context): boolean {
  const length = ctx.req.headers["content-length"];
  return length !== undefined ? length !== "0" : ctx.req.headers["transfer-encoding"] !== undefined;
}

export function createProxyHandler({ requestRouter, resolver, balancer, forwarder, stats, outliers, retry, maxBodyBytes, preserveHost }: ProxyHandlerDeps) {
  return async function proxy(ctx: Context): Promise<void> {
    const target = await requestRouter.route(ctx.req);
    // For the request observer (metrics, access log): set here, read once the request is done.
    const state = ctx.state as ProxyRequestState;
    state.service = target.service;
    // Known services are answered without awaiting: no promise hop on the path of nearly every request.
    const instances = resolver.known(target.service, target.tags) ?? (await resolver.resolve(target.service, target.tags));
    const withBody = hasBody(ctx);
    const fwd = { clientAddress: ctx.req.socket.remoteAddress ?? "unknown", proto: "http" as const, host: ctx.req.headers.host, preserveHost };
    const startedAt = Date.now();
    const tried = new Set<string>();

    for (let attempt = 1; ; attempt++) {
      const inRotation = outliers.available(instances);
      const untried = tried.size === 0 ? inRotation : inRotation.filter((i) => !tried.has(i.id));
      const instance = balancer.pick(target.service, untried.length > 0 ? untried : inRotation, { headers: ctx.req.headers, clientAddress: fwd.clientAddress });
      tried.add(instance.id);
      // Set at each pick, so that a request that failed after retries counts them too.
      state.attempts = attempt;
      state.instance = instance.id;
      state.upstreamStartedAt ??= performance.now();
      const body = withBody ? new LazyBody(ctx.req, maxBodyBytes) : null;
      const instanceStats = stats.get(instance.id);
      instanceStats.requests += 1;
      instanceStats.inFlight += 1;
      try {
        await forwarder.forward(ctx.req, ctx.res, body, instance, target.upstreamPath, target.service, fwd, (statusCode) => {
          outliers.onConnected(instance);
          // The forwarder writes the answer itself; Koa must not.
          ctx.respond = false;
          if (statusCode >= 500) instanceStats.serverErrors += 1;
        });
        return;
      } catch (err) {
        if (err instanceof GatewayError && err.code === "PAYLOAD_TOO_LARGE") {
          ctx.set("Connection", "close");
          throw err;
        }
        instanceStats.failures += 1;
        const kind = classifyFailure((err as Error).cause ?? err);
        if (kind === "connect" && outliers.onConnectFailure(instance)) state.ejections = (state.ejections ?? 0) + 1;
        const retryable =
          isRetryable(kind, ctx.method, body?.started ?? false) &&
          attempt < retry.maxAttempts &&
          Date.now() - startedAt < retry.deadlineMs &&
          untried.length > 1 &&
          !ctx.res.destroyed;
        if (!retryable) throw err;
        debug("%s %s: attempt %d on %s failed (%s); retrying on another instance", ctx.method, ctx.req.url, attempt, instance.id, kind);
      } finally {
        instanceStats.inFlight -= 1;
      }
    }
  };
}
