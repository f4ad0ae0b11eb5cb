/**
 * The demo backend. `/getRemoteIp` answers with the host's address; the others
 * exist so that the gateway's behaviour can be observed from outside (echo,
 * request inspection, chosen statuses, slow answers, a health switch).
 */
import Koa from "koa";
import Router from "@koa/router";
import { networkInterfaces } from "node:os";

export interface ServiceWebIdentity {
  id: string;
  port: number;
}

/** The host's first non-internal IPv4 address (what /getRemoteIp answers). */
export function localIp(): string {
  for (const addresses of Object.values(networkInterfaces())) {
    for (const a of addresses ?? []) {
      if (a.family === "IPv4" && !a.internal) return a.address;
    }
  }
  return "127.0.0.1";
}

export function createServiceWebApp(identity: ServiceWebIdentity): Koa {
  const app = new Koa();
  const router = new Router();
  let healthy = true;
  const ip = localIp();

  router.get("/getRemoteIp", (ctx) => {
    ctx.body = { ip, port: identity.port, id: identity.id };
  });

  router.get("/health", (ctx) => {
    ctx.status = healthy ? 200 : 503;
    ctx.body = { status: healthy ? "ok" : "failing", id: identity.id };
  });
  // Flips the health answer, to watch Consul's HTTP check take the instance out and back.
  router.put("/health/:state", (ctx) => {
    if (ctx.params.state !== "ok" && ctx.params.state !== "failing") ctx.throw(400, "state is ok or failing");
    healthy = ctx.params.state === "ok";
    ctx.body = { status: ctx.params.state, id: identity.id };
  });

  // Streams the request body back unchanged; what arrived is told in headers.
  router.all("/echo{/*rest}", (ctx) => {
    ctx.set("x-echo-method", ctx.method);
    ctx.set("x-echo-url", ctx.req.url ?? "");
    ctx.set("x-echo-id", identity.id);
    ctx.type = ctx.get("content-type") || "application/octet-stream";
    ctx.body = ctx.req;
  });

  // The request as this instance saw it, for header and path tests.
  router.all("/inspect{/*rest}", (ctx) => {
    ctx.body = { id: identity.id, method: ctx.method, url: ctx.req.url, headers: ctx.req.headers, rawHeaders: ctx.req.rawHeaders };
  });

  router.get("/status/:code", (ctx) => {
    const code = Number(ctx.params.code);
    if (!Number.isInteger(code) || code < 200 || code > 599) ctx.throw(400, "code is 200-599");
    ctx.status = code;
    ctx.set("x-service-web-id", identity.id);
    ctx.set("set-cookie", ["a=1; Path=/", "b=2; Path=/"]);
    ctx.body = { status: code, id: identity.id };
  });

  router.get("/slow", async (ctx) => {
    const ms = Math.min(Number(ctx.query.ms ?? 1000) || 0, 60_000);
    await new Promise((resolve) => setTimeout(resolve, ms));
    ctx.body = { sleptMs: ms, id: identity.id };
  });

  app.use(router.routes());
  return app;
}
