/**
 * The one place where the request path is observed: a Koa middleware, first
 * in the chain, that gives each request its id, and once the request is done
 * records it in the metrics and the access log. What it cannot see from the
 * outside (service, instance, attempts, ejections) the proxy handler leaves in
 * ctx.state (request-state.ts).
 */
import { performance } from "node:perf_hooks";
import type { ServerResponse } from "node:http";
import type { Context, Middleware, Next } from "koa";
import { accessLogPath, type AccessLog } from "./access-log.js";
import type { RequestMetrics } from "./metrics.js";
import { ensureRequestId, REQUEST_ID_HEADER } from "./request-id.js";
import type { ProxyRequestState } from "./request-state.js";
import { httpStatusOfGrpc } from "../proxy/h2-headers.js";

export interface RequestObserverDeps {
  metrics: RequestMetrics;
  accessLog: AccessLog | undefined;
}

export function requestObserver({ metrics, accessLog }: RequestObserverDeps): Middleware {
  return async function observeRequest(ctx: Context, next: Next): Promise<void> {
    const startedAt = performance.now();
    const requestId = ensureRequestId(ctx.req);
    // Set before anything is written: the forwarder's writeHead keeps it, and so does an error answer.
    ctx.res.setHeader(REQUEST_ID_HEADER, requestId);
    const sentBytes = accessLog === undefined ? undefined : countBodyBytes(ctx.res);
    metrics.requestStarted();
    try {
      await next();
    } finally {
      const endedAt = performance.now();
      const state = ctx.state as ProxyRequestState;
      // When the proxy streamed the answer itself, Koa does not respond (ctx.respond === false).
      const streamed = ctx.respond === false;
      const errorCode = streamed ? undefined : gatewayErrorCode(ctx.body);
      const retries = Math.max(0, (state.attempts ?? 1) - 1);
      metrics.requestFinished({
        service: state.service,
        instance: state.instance,
        // A gRPC call is counted by its grpc-status (what it stands for in HTTP), not by HTTP's 200.
        status: (state.grpcStatus === undefined ? undefined : httpStatusOfGrpc(state.grpcStatus)) ?? ctx.status,
        upstreamSeconds: state.upstreamStartedAt === undefined ? undefined : (endedAt - state.upstreamStartedAt) / 1000,
        errorCode,
        retries,
        ejections: state.ejections ?? [],
      });
      accessLog?.write({
        method: ctx.method,
        path: accessLogPath(ctx.req.url ?? ""),
        service: state.service,
        instance: state.instance,
        status: ctx.status,
        grpcStatus: state.grpcStatus,
        // Koa writes its own (error) bodies after the middleware returns, with a known length.
        bytes: state.upgradedBytes ?? (streamed ? sentBytes!() : (ctx.length ?? 0)),
        durationMs: Math.round((endedAt - startedAt) * 1000) / 1000,
        retries,
        requestId,
        error: errorCode,
        // An upgraded connection never finishes a response: it ends when either side closes.
        detail: state.errorDetail,
        aborted: streamed && state.upgradedBytes === undefined && !ctx.res.writableFinished,
      });
    }
  };
}

/** The `code` of the gateway's JSON error body ({"error":{"code",...}}, set by errorMiddleware), if that is the body. */
function gatewayErrorCode(body: unknown): string | undefined {
  const code = (body as { error?: { code?: unknown } } | null | undefined)?.error?.code;
  return typeof code === "string" ? code : undefined;
}

/**
 * Counts the body bytes written to a response. The forwarder pipes the
 * instance's body straight into `res`, so its write/end are the one place all
 * bytes pass; they are wrapped on this response object only, and only when
 * the access log is on.
 */
function countBodyBytes(res: ServerResponse): () => number {
  let bytes = 0;
  const count = (chunk: unknown, encoding: unknown): void => {
    if (typeof chunk === "string") bytes += Buffer.byteLength(chunk, typeof encoding === "string" ? (encoding as BufferEncoding) : "utf8");
    else if (chunk instanceof Uint8Array) bytes += chunk.byteLength;
  };
  const write = res.write;
  const end = res.end;
  res.write = function (this: ServerResponse, chunk: unknown, ...rest: unknown[]) {
    count(chunk, rest[0]);
    return (write as (...args: unknown[]) => boolean).call(this, chunk, ...rest);
  } as ServerResponse["write"];
  res.end = function (this: ServerResponse, chunk?: unknown, ...rest: unknown[]) {
    if (typeof chunk !== "function") count(chunk, rest[0]);
    return (end as (...args: unknown[]) => ServerResponse).call(this, chunk, ...rest);
  } as ServerResponse["end"];
  return () => bytes;
}
