/**
 * The original design's forwarder: a Koa route that fetches the upstream with
 * superagent (the whole answer buffered and parsed) and returns it as the body.
 */
import Koa from "koa";
import Router from "@koa/router";
import superagent from "superagent";
import type { AddressInfo } from "node:net";

const target = `http://127.0.0.1:${process.env.BACKEND_PORT}`;
const app = new Koa();
const router = new Router();
router.all("/:service{/*rest}", async (ctx) => {
  const upstream = await superagent(ctx.method, `${target}/${ctx.params.rest ?? ""}`).ok(() => true);
  ctx.status = upstream.status;
  ctx.body = upstream.body;
});
app.use(router.routes());
const server = app.listen(0, "127.0.0.1", () => console.log(`listening ${(server.address() as AddressInfo).port}`));
server.keepAliveTimeout = 60_000;
process.on("SIGTERM", () => process.exit(0));
