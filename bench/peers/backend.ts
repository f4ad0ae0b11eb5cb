/**
 * The one backend every target forwards to: a plain node:http server with a
 * small JSON answer, so that the bench measures the proxies, not the backend.
 * Prints its port on stdout. Answers on any path.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

const body = Buffer.from(JSON.stringify({ ok: true, id: process.env.BENCH_BACKEND_ID ?? "bench-backend" }));
const server = createServer((req, res) => {
  // Drain a request body if any, then answer.
  req.resume();
  res.writeHead(200, { "content-type": "application/json", "content-length": body.length });
  res.end(body);
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.env.PORT ?? 0), "127.0.0.1", () => {
  console.log(`listening ${(server.address() as AddressInfo).port}`);
});
process.on("SIGTERM", () => process.exit(0));
