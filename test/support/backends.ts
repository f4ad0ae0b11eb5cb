/** service-web instances running inside the test process, on free loopback ports. */
import { createServer, type Server } from "node:http";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { createServiceWebApp } from "../../src/service-web/app.js";
import type { TestRegistration } from "./consul.js";

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

/**
 * A registration with a TTL check that starts passing and stays so until the
 * test sets it (ConsulAgent.setTtl(ttlCheckId(id), ...)): health states change
 * when the test says, never because a loaded machine missed an HTTP check.
 */
export function ttlRegistration(backend: Backend, name: string, extra: Partial<TestRegistration> = {}): TestRegistration {
  return { ID: backend.id, Name: name, Address: "127.0.0.1", Port: backend.port, Check: { TTL: "1h", Status: "passing" }, ...extra };
}

/** The id Consul gives the check of a registration made with ttlRegistration. */
export const ttlCheckId = (serviceId: string): string => `service:${serviceId}`;
