import Koa, { type Middleware } from "koa";
import { errorMiddleware } from "../error-middleware.js";
import { createProxyHandler, type ProxyHandlerDeps } from "./proxy-handler.js";
import { requestLimits, type RequestLimits } from "./request-limits.js";

export interface GatewayAppDeps extends ProxyHandlerDeps {
  limits: RequestLimits;
  /** True once shutdown began: responses then close their connection so clients reconnect elsewhere. */
  draining: () => boolean;
  /** Sees every request first and last (request id, metrics, access log); reads what the handler leaves in ctx.state. */
  observe?: Middleware;
}

/**
 * The Koa app: observe → errors → limits → proxy. Every request is a proxy
 * request; RequestRouter reads its target (service, upstream path, tags) from
 * the raw URL and headers, so encodings survive. The proxy is a plain
 * middleware, not a @koa/router route: a single catch-all route whose
 * parameters are never read would only add the router's matching and
 * parameter decoding to every request (docs/PERFORMANCE.md).
 * Once the instance answers, Koa steps aside (ctx.respond = false) and the
 * forwarder streams the response itself.
 */
export function createGatewayApp(deps: GatewayAppDeps): Koa {
  const app = new Koa();
  // Errors are answered by errorMiddleware; Koa's default printer would only repeat them.
  app.silent = true;
  // First, so that it also sees the answers of errorMiddleware and requestLimits.
  if (deps.observe) app.use(deps.observe);
  app.use(errorMiddleware);
  app.use(async (ctx, next) => {
    if (deps.draining()) ctx.res.setHeader("Connection", "close");
    await next();
  });
  app.use(requestLimits(deps.limits));
  app.use(createProxyHandler(deps));
  return app;
}
