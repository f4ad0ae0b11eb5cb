import type { Context, Next } from "koa";
import { GatewayError } from "../errors.js";

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
export function requestLimits(limits: RequestLimits) {
  return async function limitRequest(ctx: Context, next: Next): Promise<void> {
    if ((ctx.req.url ?? "").length > limits.maxUrlLength) {
      throw new GatewayError("URI_TOO_LONG", `the URL is longer than ${limits.maxUrlLength} characters`);
    }
    if (ctx.req.rawHeaders.length / 2 > limits.maxHeaderCount) {
      throw new GatewayError("REQUEST_HEADERS_TOO_LARGE", `more than ${limits.maxHeaderCount} headers`);
    }
    const declared = ctx.req.headers["content-length"];
    if (limits.maxBodyBytes > 0 && declared !== undefined && Number(declared) > limits.maxBodyBytes) {
      // Connection: close, so that the unread body does not have to be drained.
      ctx.set("Connection", "close");
      throw new GatewayError("PAYLOAD_TOO_LARGE", `the body is larger than ${limits.maxBodyBytes} bytes`);
    }
    await next();
  };
}
