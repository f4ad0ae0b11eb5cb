/**
 * Runs one service-web instance. With CONSUL_HTTP_ADDR set it registers itself
 * with an HTTP check (the part Registrator plays in Docker) and deregisters on
 * SIGTERM/SIGINT.
 */
import { createServer } from "node:http";
import { once } from "node:events";
import { hostname } from "node:os";
import type { AddressInfo } from "node:net";
import { parseConsulAddress } from "../config.js";
import { ConsulRegistrar } from "../discovery/consul-adapter.js";
import { createServiceWebApp, localIp } from "./app.js";

const env = process.env;
const port = Number(env.SERVICE_WEB_PORT ?? 3000);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`service-web: SERVICE_WEB_PORT: expected 0-65535, got ${JSON.stringify(env.SERVICE_WEB_PORT)}`);
  process.exit(2);
}
const host = env.SERVICE_WEB_HOST ?? "0.0.0.0";
const name = env.SERVICE_WEB_NAME ?? "service-web";

const server = createServer();
server.listen(port, host);
await once(server, "listening");
const boundPort = (server.address() as AddressInfo).port;
const id = env.SERVICE_WEB_ID ?? `${name}-${hostname()}-${boundPort}`;
server.on("request", createServiceWebApp({ id, port: boundPort }).callback());
console.log(`service-web ${id} listening on ${host}:${boundPort}`);

let registrar: ConsulRegistrar | undefined;
if (env.CONSUL_HTTP_ADDR) {
  const address = env.SERVICE_WEB_ADDRESS ?? (host === "0.0.0.0" ? localIp() : host);
  registrar = new ConsulRegistrar(parseConsulAddress(env.CONSUL_HTTP_ADDR.split(",")[0]!.trim()), env.CONSUL_HTTP_TOKEN);
  await registrar.register({
    id,
    name,
    address,
    port: boundPort,
    check: {
      http: `http://${address}:${boundPort}/health`,
      interval: env.SERVICE_WEB_CHECK_INTERVAL ?? "1s",
      timeout: "1s",
      deregisterCriticalServiceAfter: "1m",
    },
  });
  console.log(`service-web ${id} registered in Consul as ${name} at ${address}:${boundPort}`);
}

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  if (registrar) {
    // Deregister first so the gateway stops sending here before we close.
    await registrar.deregister(id).catch((err: Error) => console.error(`service-web ${id}: deregister failed: ${err.message}`));
    registrar.close();
  }
  server.close(() => process.exit(0));
  server.closeIdleConnections();
  setTimeout(() => process.exit(0), 5_000).unref();
}
process.on("SIGTERM", () => void stop());
process.on("SIGINT", () => void stop());
