/**
 * The ceiling a Node forwarder can reach: a bare node:http server that streams
 * each request through an undici keep-alive pool, with no routing, no header
 * rewriting, no error mapping and no abort handling. The gateway's target is
 * 0.85× of this. It pipes with pipe(), not stream.pipeline: pipeline costs
 * ~12% of a forwarder's CPU (see docs/BENCHMARKS.md), and a reference slowed
 * by it would flatter the gateway.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Pool, type Dispatcher } from "undici";

const pool = new Pool(`http://127.0.0.1:${process.env.BACKEND_PORT}`, { keepAliveTimeout: 4_000 });
const server = createServer((req, res) => {
  pool.request({ path: req.url ?? "/", method: req.method as Dispatcher.HttpMethod, headers: req.headers, body: req.method === "GET" || req.method === "HEAD" ? null : req }).then(
    (upstream) => {
      res.writeHead(upstream.statusCode, upstream.headers);
      upstream.body.on("error", () => res.destroy());
      upstream.body.pipe(res);
    },
    () => {
      res.writeHead(502);
      res.end();
    },
  );
});
server.keepAliveTimeout = 60_000;
server.listen(0, "127.0.0.1", () => console.log(`listening ${(server.address() as AddressInfo).port}`));
process.on("SIGTERM", () => process.exit(0));
