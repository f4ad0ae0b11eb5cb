import { once } from "node:events";
import { createServer } from "node:net";

/**
 * A TCP listener on 127.0.0.1 that no request may ever reach: it counts and
 * drops every connection, so a test that names its address in a hostile
 * request can assert that the gateway never dialled it.
 */
export interface TrapListener {
  readonly port: number;
  /** Connections it was sent so far. */
  readonly connections: number;
  close(): void;
}

export async function startTrapListener(): Promise<TrapListener> {
  let connections = 0;
  const server = createServer((socket) => {
    connections += 1;
    socket.destroy();
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const port = (server.address() as { port: number }).port;
  return {
    port,
    get connections() {
      return connections;
    },
    close: () => void server.close(),
  };
}
