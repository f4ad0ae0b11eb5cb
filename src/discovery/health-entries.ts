import type { Instance } from "../routing/instance.js";
import type { HealthEntry } from "./consul-adapter.js";

/** Consul's health entries (already filtered to `passing` by the query) as route table instances. */
export function toInstances(entries: readonly HealthEntry[]): Instance[] {
  return entries.map((entry) => ({
    id: entry.Service.ID,
    // Consul leaves the service address empty when it is the node's.
    address: entry.Service.Address || entry.Node.Address,
    port: entry.Service.Port,
    tags: entry.Service.Tags ?? [],
    meta: entry.Service.Meta ?? {},
  }));
}
