/** service-web instances running inside the test process, on free loopback ports. */
import { createServer, type Server } from "node:http";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { createServiceWebApp } from "../../src/service-web/app.js";

export interface Backend {
  id: string;
  port: number;
  server: Server;
  close(): Promise<void>;
}

export async function startBackend(id: string): Promise<Backend> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const port = (server.address() as AddressInfo).port;
  server.on("request", createServiceWebApp({ id, port }).callback());
  return {
    id,
    port,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** A registration as service-web makes for itself: an HTTP check on /health every second. */
export function httpCheckedRegistration(backend: Backend, name = "service-web") {
  return {
    ID: backend.id,
    Name: name,
    Address: "127.0.0.1",
    Port: backend.port,
    Check: { HTTP: `http://127.0.0.1:${backend.port}/health`, Interval: "1s", Timeout: "1s", Status: "passing" },
  };
}
