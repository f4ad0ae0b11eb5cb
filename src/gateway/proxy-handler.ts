/**
 * The proxy route: resolve the service, take the instances in rotation, pick
 * one, forward; on a failure that is safe to retry, pick another instance
 * that was not tried yet, within a bounded number of attempts and a deadline.
 */
import type { Http2ServerRequest } from "node:http2";
import type { Context } from "koa";
import createDebug from "debug";
import type { Balancer } from "../routing/balancers/index.js";
import type { InstanceStats, InstanceStatsRegistry } from "../routing/instance-stats.js";
import type { OutlierDetector } from "../routing/outlier-detector.js";
import type { Forwarder } from "../proxy/forwarder.js";
import type { TrailerForwarder } from "../proxy/trailer-forwarder.js";
import type { UpgradeForwarder } from "../proxy/upgrade-forwarder.js";
import type { Instance } from "../discovery/instance.js";
import type { H2cForwarder } from "../proxy/h2-forwarder.js";
import { speaksH2c } from "../proxy/instance-protocol.js";
import { askToCloseConnection } from "../proxy/h2-headers.js";
import type { ProxyRequestState } from "../observability/request-state.js";
import { forwardedFor, type ForwardedFor, type ForwardingPolicy } from "../proxy/forwarded-headers.js";
import { LazyBody } from "../proxy/lazy-body.js";
import { classifyFailure, isRetryable } from "../proxy/retry-policy.js";
import { instanceKey } from "../discovery/instance.js";
import { GatewayError } from "../errors.js";
import type { RequestRouter } from "../routing/request-router.js";
import type { ServiceResolver } from "../routing/service-resolver.js";
import { sendContinue } from "./expect-continue.js";
import { upgradeOf, type UpgradeRequest } from "./upgrade-handler.js";

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
  /** Requests that declare trailers (undici cannot send them). */
  trailerForwarder: TrailerForwarder;
  /** Upgrade requests (WebSocket handshakes), then their connections. */
  upgrader: UpgradeForwarder;
  /** For instances that speak HTTP/2 without TLS (gRPC servers). */
  h2cForwarder: H2cForwarder;
  stats: InstanceStatsRegistry;
  outliers: OutlierDetector;
  retry: RetryOptions;
  /** Bound on a body whose size is not declared (0: none). */
  maxBodyBytes: number;
  /** Which forwarded headers to believe and which to send (GATEWAY_TRUSTED_PROXIES, GATEWAY_FORWARDED, GATEWAY_PRESERVE_HOST). */
  forwarding: ForwardingPolicy;
}

function hasBody(ctx: Context): boolean {
  // HTTP/2 frames a body without either header: a request without one ended with its HEADERS frame.
  if (ctx.req.httpVersionMajor >= 2) return !(ctx.req as unknown as Http2ServerRequest).stream.endAfterHeaders;
  const length = ctx.req.headers["content-length"];
  return length !== undefined ? length !== "0" : ctx.req.headers["transfer-encoding"] !== undefined;
}

/** One upgrade attempt: once the instance switches, the connection stays open until this resolves. */
async function forwardUpgrade(
  upgrader: UpgradeForwarder,
  ctx: Context,
  upgrade: UpgradeRequest,
  instance: Instance,
  instanceStats: InstanceStats,
  upstreamPath: string,
  service: string,
  fwd: ForwardedFor,
  onResponse: (statusCode: number) => void,
): Promise<void> {
  let open = false;
  try {
    const outcome = await upgrader.forward({
      req: ctx.req,
      res: ctx.res,
      socket: upgrade.socket,
      head: upgrade.head,
      instance,
      upstreamPath,
      service,
      fwd,
      // What the middleware set for the client (the request id) goes on the 101 too.
      extraHeaders: ctx.res.getHeaders() as Record<string, string | number | string[]>,
      onAnswer: (status) => {
        onResponse(status);
        if (status === 101) ctx.status = 101;
      },
      onTunnel: () => {
        open = true;
        instanceStats.upgraded += 1;
      },
    });
    if (outcome.switched) (ctx.state as ProxyRequestState).upgradedBytes = outcome.bytesToClient;
  } finally {
    if (open) instanceStats.upgraded -= 1;
  }
}

export function createProxyHandler({ requestRouter, resolver, balancer, forwarder, trailerForwarder, upgrader, h2cForwarder, stats, outliers, retry, maxBodyBytes, forwarding }: ProxyHandlerDeps) {
  return async function proxy(ctx: Context): Promise<void> {
    // A promise only before Consul's first catalog: the path of nearly every request awaits nothing here.
    const routed = requestRouter.route(ctx.req);
    const target = routed instanceof Promise ? await routed : routed;
    // For the request observer (metrics, access log): set here, read once the request is done.
    const state = ctx.state as ProxyRequestState;
    state.service = target.service;
    // Known services are answered without awaiting: no promise hop on the path of nearly every request.
    const instances = resolver.known(target.service, target.tags) ?? (await resolver.resolve(target.service, target.tags));
    const upgrade = upgradeOf(ctx.req);
    // Routable and within limits (requestLimits ran before): only now may the client send its body.
    if (upgrade === undefined) sendContinue(ctx.req, ctx.res);
    const withBody = upgrade === undefined && hasBody(ctx);
    // Only a client that declares trailers takes the node:http path: undici would drop them.
    const via = withBody && ctx.req.headers.trailer !== undefined ? trailerForwarder : forwarder;
    const fwd = forwardedFor(ctx.req, forwarding);
    const startedAt = performance.now();
    /** The instances tried already; made on the first retry only, most requests never need it. */
    let tried: Set<string> | undefined;

    for (let attempt = 1; ; attempt++) {
      const inRotation = outliers.available(instances);
      const untried = tried === undefined ? inRotation : inRotation.filter((i) => !tried!.has(instanceKey(i)));
      const instance = balancer.pick(target.service, untried.length > 0 ? untried : inRotation, { headers: ctx.req.headers, clientAddress: fwd.clientAddress });
      const key = instanceKey(instance);
      // Set at each pick, so that a request that failed after retries counts them too.
      state.attempts = attempt;
      state.instance = key;
      state.upstreamStartedAt ??= startedAt;
      const body = withBody ? new LazyBody(ctx.req, maxBodyBytes) : null;
      const instanceStats = stats.get(key);
      instanceStats.requests += 1;
      instanceStats.inFlight += 1;
      const onResponse = (statusCode: number): void => {
        const ejected = outliers.onResponse(instance, statusCode, instances);
        if (ejected !== undefined) (state.ejections ??= []).push(ejected);
        // The forwarder writes the answer itself; Koa must not.
        ctx.respond = false;
        if (statusCode >= 500) instanceStats.serverErrors += 1;
      };
      try {
        if (upgrade !== undefined) {
          await forwardUpgrade(upgrader, ctx, upgrade, instance, instanceStats, target.upstreamPath, target.service, fwd, onResponse);
        } else if (speaksH2c(instance)) {
          await h2cForwarder.forward(ctx.req, ctx.res, body, instance, target.upstreamPath, target.service, fwd, onResponse, (grpcStatus) => {
            state.grpcStatus = grpcStatus;
          });
        } else {
          await via.forward(ctx.req, ctx.res, body, instance, target.upstreamPath, target.service, fwd, onResponse);
        }
        return;
      } catch (err) {
        if (err instanceof GatewayError && err.code === "PAYLOAD_TOO_LARGE") {
          askToCloseConnection(ctx.req, ctx.res);
          throw err;
        }
        instanceStats.failures += 1;
        const kind = classifyFailure((err as Error).cause ?? err);
        // No answer from the instance: refused or broken connections, and timeouts (an instance that hangs is as bad as one that is gone).
        if (kind !== "other" || (err instanceof GatewayError && err.code === "UPSTREAM_TIMEOUT")) {
          const ejected = outliers.onGatewayFailure(instance, instances);
          if (ejected !== undefined) (state.ejections ??= []).push(ejected);
        }
        const retryable =
          isRetryable(kind, ctx.method, body?.started ?? false) &&
          attempt < retry.maxAttempts &&
          performance.now() - startedAt < retry.deadlineMs &&
          untried.length > 1 &&
          !ctx.res.destroyed;
        // A client that left during the handshake gets nothing more: no retry, and no answer to write.
        if (upgrade?.socket.destroyed) return;
        if (!retryable) throw err;
        (tried ??= new Set()).add(key);
        debug("%s %s: attempt %d on %s failed (%s); retrying on another instance", ctx.method, ctx.req.url, attempt, key, kind);
      } finally {
        instanceStats.inFlight -= 1;
        stats.release(instanceStats);
      }
    }
  };
}
