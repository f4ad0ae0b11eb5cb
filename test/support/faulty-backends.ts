/**
 * Backends that misbehave the ways outlier detection must notice: one that
 * answers every request with a 5xx of its own, one that accepts connections
 * and never answers (the gateway's upstream timeout fires). Both answer with
 * their `id` where they answer at all, as service-web does, so a test can
 * count which instance a request reached.
 */
import { createServer, type Server, type ServerResponse } from "node:http";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import type { Backend } from "./backends.js";

async function listen(id: string, onRequest: (res: ServerResponse) => void): Promise<Backend> {
  const server: Server = createServer((_req, res) => onRequest(res));
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    id,
    port: (server.address() as AddressInfo).port,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Answers every request with `status` and `{"id": ...}`. */
export function startStatusBackend(id: string, status: number): Promise<Backend> {
  return listen(id, (res) => {
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify({ id }));
  });
}

/** Reads requests and never answers them (until closed). */
export function startSilentBackend(id: string): Promise<Backend> {
  return listen(id, () => {});
}
