/**
 * One small harness per registry, so that the same behaviour tests run
 * against each (test/integration/registry-behaviour.test.ts): start the
 * registry, register and deregister a backend the way that registry's users
 * do, stop and start it again, and the settings that point a gateway at it.
 */
import type { RegistryKind } from "../../src/registry-kind.js";
import { ZooKeeperRegistry } from "../../src/discovery/registries/zookeeper-registry.js";
import { httpCheckedRegistration, type Backend } from "./backends.js";
import { ConsulAgent } from "./consul.js";
import { ZooKeeperServer } from "./zookeeper.js";

export interface RegistryHarness {
  readonly kind: RegistryKind;
  /** The settings that point a gateway (or service-web) at this registry. */
  readonly env: Record<string, string>;
  register(backend: Backend, service?: string): Promise<void>;
  deregister(backend: Backend, service?: string): Promise<void>;
  /** Stops the registry's server, its data kept. */
  stop(): Promise<void>;
  /** Starts it again after stop(). */
  start(): Promise<void>;
  /** Stops everything and removes the data. */
  destroy(): Promise<void>;
}

/** Consul: a server agent; backends registered with an HTTP check on /health, as service-web does. */
async function startConsul(): Promise<RegistryHarness> {
  const agent = await ConsulAgent.start();
  return {
    kind: "consul",
    env: { CONSUL_HTTP_ADDR: agent.address },
    register: (backend, service) => agent.register(httpCheckedRegistration(backend, service)),
    deregister: (backend) => agent.deregister(backend.id),
    stop: () => agent.stop(),
    start: () => agent.boot(),
    destroy: () => agent.destroy(),
  };
}

/** ZooKeeper: a standalone server; backends registered as ephemeral nodes in Registrator's layout, from one session. */
async function startZooKeeper(): Promise<RegistryHarness> {
  const server = await ZooKeeperServer.start();
  const registrar = new ZooKeeperRegistry({ connect: server.connect, backoffMaxMs: 1_000 });
  const registration = (backend: Backend, service = "service-web") => ({ id: backend.id, name: service, address: "127.0.0.1", port: backend.port });
  return {
    kind: "zookeeper",
    env: { GATEWAY_REGISTRY: "zookeeper", ZOOKEEPER_CONNECT: server.connect },
    register: (backend, service) => registrar.register(registration(backend, service)),
    deregister: (backend, service) => registrar.deregister(registration(backend, service)),
    stop: () => server.stop(),
    start: () => server.boot(),
    async destroy() {
      await registrar.close();
      await server.destroy();
    },
  };
}

export const REGISTRY_HARNESSES: readonly { kind: RegistryKind; start(): Promise<RegistryHarness> }[] = [
  { kind: "consul", start: startConsul },
  { kind: "zookeeper", start: startZooKeeper },
];
