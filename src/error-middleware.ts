import type { Context, Next } from "koa";
import createDebug from "debug";
import { GatewayError } from "./errors.js";

const debug = createDebug("gateway:error");

/**
 * The one place where failures become responses: every error, thrown by any
 * handler, leaves as {"error":{"code","message","service"}} with its status.
 */
export async function errorMiddleware(ctx: Context, next: Next): Promise<void> {
  try {
    await next();
    if (ctx.status === 404 && ctx.body === undefined && ctx.respond !== false) {
      throw new GatewayError("ROUTE_NOT_FOUND", "no route: request /<service>/<path>");
    }
  } catch (err) {
    const error =
      err instanceof GatewayError
        ? err
        : new GatewayError("INTERNAL_ERROR", "the gateway failed to handle the request", undefined, { cause: err });
    if (error.code === "INTERNAL_ERROR") debug("unexpected error: %O", err);
    if (ctx.headerSent || !ctx.writable) {
      // Too late for a JSON answer: cut the connection so the client sees the failure.
      ctx.req.socket.destroy();
      return;
    }
    ctx.respond = true;
    ctx.status = error.status;
    ctx.body = error.toJSON();
  }
}
