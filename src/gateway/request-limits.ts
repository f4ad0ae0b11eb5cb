import type { Context, Next } from "koa";
import { GatewayError } from "../errors.js";
import { askToCloseConnection } from "../proxy/h2-headers.js";

export interface RequestLimits {
  maxUrlLength: number;
  maxHeaderCount: number;
  /** 0: no limit. */
  maxBodyBytes: number;
}

/**
 * Limits Node's parser does not apply with a clear answer: URL length, header
 * count, and a declared body size over the limit (a body without a declared
 * size is counted as it streams, in LazyBody).
 */
/** Header fields, not counting HTTP/2's pseudo-headers (:method, :path...), which stand for the request line. */
function headerCount(rawHeaders: readonly string[]): number {
  let count = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) if (rawHeaders[i]!.charCodeAt(0) !== 58 /* ":" */) count++;
  return count;
}

export function requestLimits(limits: RequestLimits) {
  return async function limitRequest(ctx: Context, next: Next): Promise<void> {
    if ((ctx.req.url ?? "").length > limits.maxUrlLength) {
      throw new GatewayError("URI_TOO_LONG", `the URL is longer than ${limits.maxUrlLength} characters`);
    }
    const count = ctx.req.httpVersionMajor >= 2 ? headerCount(ctx.req.rawHeaders) : ctx.req.rawHeaders.length / 2;
    if (count > limits.maxHeaderCount) {
      throw new GatewayError("REQUEST_HEADERS_TOO_LARGE", `more than ${limits.maxHeaderCount} headers`);
    }
    const declared = ctx.req.headers["content-length"];
    if (limits.maxBodyBytes > 0 && declared !== undefined && Number(declared) > limits.maxBodyBytes) {
      // Connection: close, so that the unread body does not have to be drained.
      askToCloseConnection(ctx.req, ctx.res);
      throw new GatewayError("PAYLOAD_TOO_LARGE", `the body is larger than ${limits.maxBodyBytes} bytes`);
    }
    await next();
  };
}
