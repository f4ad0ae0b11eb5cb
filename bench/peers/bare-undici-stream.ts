/**
 * The bare forwarder again, with undici's stream() API instead of request():
 * undici writes the upstream body straight into the client's response, with
 * no Readable and no pipe between them. It shows what restructuring the
 * gateway's forwarder around stream() could gain (see docs/BENCHMARKS.md).
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Pool, type Dispatcher } from "undici";

const pool = new Pool(`http://127.0.0.1:${process.env.BACKEND_PORT}`, { keepAliveTimeout: 4_000 });
const server = createServer((req, res) => {
  pool
    .stream(
      { path: req.url ?? "/", method: req.method as Dispatcher.HttpMethod, headers: req.headers, body: req.method === "GET" || req.method === "HEAD" ? null : req },
      ({ statusCode, headers }) => {
        res.writeHead(statusCode, headers as Record<string, string | string[]>);
        return res;
      },
    )
    .catch(() => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
});
server.keepAliveTimeout = 60_000;
server.listen(0, "127.0.0.1", () => console.log(`listening ${(server.address() as AddressInfo).port}`));
process.on("SIGTERM", () => process.exit(0));
