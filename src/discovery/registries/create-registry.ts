/**
 * Which registry to use, as one serialisable value (the supervisor hands it to
 * the watcher child through the environment), and the one place that turns it
 * into a ServiceRegistry.
 */
import type { RegistrySettings, WatchMode } from "../../config.js";
import { ConsulRegistry, type ConsulRegistryOptions } from "./consul-registry.js";
import type { ServiceRegistry } from "./registry.js";
import { REGISTRY_TITLES } from "../../registry-kind.js";
import { ZooKeeperRegistry, type ZooKeeperRegistryOptions } from "./zookeeper-registry.js";

export type RegistryConfig = { kind: "consul"; consul: ConsulRegistryOptions } | { kind: "zookeeper"; zookeeper: ZooKeeperRegistryOptions };

/** `watch` (GATEWAY_WATCH) is the gateway's, not the demo service's: absent, services are watched one by one. */
export function registryConfig(settings: RegistrySettings & { readonly watch?: WatchMode }): RegistryConfig {
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
          watch: settings.watch ?? "per-service",
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
