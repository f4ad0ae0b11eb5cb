/** The registries the gateway can discover instances in (GATEWAY_REGISTRY). */
export const REGISTRY_KINDS = ["consul", "zookeeper"] as const;

export type RegistryKind = (typeof REGISTRY_KINDS)[number];

/** How people write each registry's name. */
export const REGISTRY_TITLES: Readonly<Record<RegistryKind, string>> = { consul: "Consul", zookeeper: "ZooKeeper" };
