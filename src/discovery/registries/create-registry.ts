/**
 * Which registry to use, as one serialisable value (the supervisor hands it to
 * the watcher child through the environment), and the one place that turns it
 * into a ServiceRegistry.
 */
import type { RegistrySettings } from "../../config.js";
import type { ConsulWatcherOptions } from "../consul-adapter.js";
import { ConsulRegistry } from "./consul-registry.js";
import type { ServiceRegistry } from "./registry.js";
import { REGISTRY_TITLES } from "./registry-kind.js";
import { ZooKeeperRegistry, type ZooKeeperRegistryOptions } from "./zookeeper-registry.js";

export type RegistryConfig = { kind: "consul"; consul: ConsulWatcherOptions } | { kind: "zookeeper"; zookeeper: ZooKeeperRegistryOptions };

export function registryConfig(settings: RegistrySettings): RegistryConfig {
  switch (settings.registry) {
    case "consul":
      return {
        kind: "consul",
        consul: {
          addresses: settings.consulAddresses,
          token: settings.consulToken,
          waitMs: settings.consulWaitMs,
          backoffMaxMs: settings.watcherRestartMaxMs,
          consistency: settings.consulConsistency,
          cached: settings.consulCached,
          includeWarning: settings.healthStates.includes("warning"),
        },
      };
    case "zookeeper":
      return { kind: "zookeeper", zookeeper: { connect: settings.zookeeperConnect, backoffMaxMs: settings.watcherRestartMaxMs } };
  }
}

export function createRegistry(config: RegistryConfig): ServiceRegistry {
  switch (config.kind) {
    case "consul":
      return new ConsulRegistry(config.consul);
    case "zookeeper":
      return new ZooKeeperRegistry(config.zookeeper);
  }
}

/** Where the registry is, for people: the start line and the logs. */
export function describeRegistry(config: RegistryConfig): string {
  switch (config.kind) {
    case "consul":
      return `${REGISTRY_TITLES.consul} at ${config.consul.addresses.map((a) => `${a.host}:${a.port}`).join(", ")}`;
    case "zookeeper":
      return `${REGISTRY_TITLES.zookeeper} at ${config.zookeeper.connect}`;
  }
}
