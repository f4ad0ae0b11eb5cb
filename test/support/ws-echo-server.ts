/**
 * A WebSocket echo instance as a process of its own, so that a test can kill
 * it with SIGKILL mid-stream: `node --import tsx ws-echo-server.ts <id>`.
 * Prints "listening on <port>" once it listens on 127.0.0.1.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { WebSocketServer } from "ws";
import { attachEcho } from "./websocket.js";

const id = process.argv[2] ?? "ws-echo";
const server = createServer((_req, res) => {
  res.setHeader("content-type", "application/json");
  res.end(JSON.stringify({ id }));
});
attachEcho(new WebSocketServer({ server, maxPayload: 64 * 1024 * 1024 }), id);
server.listen(0, "127.0.0.1", () => {
  console.log(`listening on ${(server.address() as AddressInfo).port}`);
});
process.on("SIGTERM", () => process.exit(0));
