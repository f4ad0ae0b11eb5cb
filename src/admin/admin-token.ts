/**
 * GATEWAY_ADMIN_TOKEN: when set, every admin request but the health probes
 * (/health, /ready: load balancers and orchestrators call them without
 * credentials, and they give nothing away) must carry
 * `Authorization: Bearer <token>`; anything else gets 401 in the gateway's
 * JSON error shape. The comparison takes the same time whatever the token
 * sent: both sides are hashed first, so neither the length nor the first
 * differing byte can be timed.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { Context, Next } from "koa";
import { GatewayError } from "../errors.js";

const OPEN_PATHS: ReadonlySet<string> = new Set(["/health", "/ready"]);

const digest = (value: string): Buffer => createHash("sha256").update(value, "utf8").digest();

export function adminTokenGuard(token: string) {
  const expected = digest(token);
  return async function requireAdminToken(ctx: Context, next: Next): Promise<void> {
    if (!OPEN_PATHS.has(ctx.path)) {
      const match = /^Bearer +(\S+) *$/i.exec(ctx.get("authorization"));
      if (match === null || !timingSafeEqual(digest(match[1]!), expected)) {
        ctx.set("WWW-Authenticate", 'Bearer realm="koa-consul-gateway admin"');
        throw new GatewayError("UNAUTHORIZED", "the admin API needs Authorization: Bearer <GATEWAY_ADMIN_TOKEN>");
      }
    }
    await next();
  };
}
