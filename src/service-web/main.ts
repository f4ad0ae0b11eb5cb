/**
 * Runs one service-web instance. It registers itself (the part Registrator
 * plays in Docker) in the registry the gateway's variables select, when that
 * registry's address is set: in Consul with an HTTP check (CONSUL_HTTP_ADDR),
 * or in ZooKeeper as an ephemeral node that leaves with the instance's
 * session (GATEWAY_REGISTRY=zookeeper and ZOOKEEPER_CONNECT). It deregisters
 * on SIGTERM/SIGINT.
 */
import { createServer } from "node:http";
import { once } from "node:events";
import { hostname } from "node:os";
import type { AddressInfo } from "node:net";
import { ConfigError, loadRegistrySettings, type RegistrySettings } from "../config.js";
import { createRegistry, describeRegistry, registryConfig } from "../discovery/registries/create-registry.js";
import type { ServiceRegistration, ServiceRegistry } from "../discovery/registries/registry.js";
import { REGISTRY_TITLES } from "../registry-kind.js";
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

let settings: RegistrySettings;
try {
  settings = loadRegistrySettings(env);
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  console.error(`service-web: invalid configuration: ${err.message}`);
  process.exit(2);
}
// Without the selected registry's address there is nothing to register with (Registrator may do it).
const registryAddressSet = settings.registry === "zookeeper" ? env.ZOOKEEPER_CONNECT : env.CONSUL_HTTP_ADDR;

let registry: ServiceRegistry | undefined;
let registration: ServiceRegistration | undefined;
if (registryAddressSet) {
  const address = env.SERVICE_WEB_ADDRESS ?? (host === "0.0.0.0" ? localIp() : host);
  const config = registryConfig(settings);
  registry = createRegistry(config);
  registration = {
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
  };
  await registry.register(registration);
  console.log(`service-web ${id} registered in ${REGISTRY_TITLES[config.kind]} as ${name} at ${address}:${boundPort} (${describeRegistry(config)})`);
}

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  if (registry && registration) {
    // Deregister first so the gateway stops sending here before we close.
    await registry.deregister(registration).catch((err: Error) => console.error(`service-web ${id}: deregister failed: ${err.message}`));
    await registry.close();
  }
  server.close(() => process.exit(0));
  server.closeIdleConnections();
  setTimeout(() => process.exit(0), 5_000).unref();
}
process.on("SIGTERM", () => void stop());
process.on("SIGINT", () => void stop());
