/**
 * The floor for relaying WebSocket connections in Node: a TCP server that
 * connects each client to the backend (BACKEND_PORT) and pipes bytes both
 * ways, with no HTTP parsing, routing, timeouts or bookkeeping. What the
 * gateway costs per message and per idle connection beyond this is its own.
 */
import { connect, createServer, type AddressInfo } from "node:net";

const backendPort = Number(process.env.BACKEND_PORT);
const server = createServer((client) => {
  const upstream = connect(backendPort, "127.0.0.1");
  client.setNoDelay(true);
  upstream.setNoDelay(true);
  client.pipe(upstream);
  upstream.pipe(client);
  client.on("error", () => upstream.destroy());
  upstream.on("error", () => client.destroy());
  client.on("close", () => upstream.destroy());
  upstream.on("close", () => client.destroy());
});
server.listen(0, "127.0.0.1", () => console.log(`listening ${(server.address() as AddressInfo).port}`));
process.on("SIGTERM", () => process.exit(0));
