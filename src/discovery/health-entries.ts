import type { HealthState } from "../health-state.js";
import type { Instance } from "./instance.js";
import type { HealthEntry } from "./consul-adapter.js";

export interface HealthFilter {
  /** Keep instances whose worst check is `warning` (GATEWAY_HEALTH_STATES=passing,warning). */
  readonly includeWarning: boolean;
}

/** Worst first: an instance is as healthy as its worst check (Consul's own rule for `?passing`). */
const RANK: Readonly<Record<string, number>> = { passing: 0, warning: 1, critical: 2 };

/** The worst status of an entry's checks; maintenance and anything unknown count as critical. */
function worstStatus(entry: HealthEntry): "passing" | "warning" | "critical" {
  let worst = 0;
  for (const check of entry.Checks) worst = Math.max(worst, RANK[check.Status] ?? 2);
  return worst === 0 ? "passing" : worst === 1 ? "warning" : "critical";
}

/**
 * Consul's health entries as route table instances. With `passing` only, the
 * query already left out the rest; with warning included it asked for every
 * entry, and critical ones are dropped here, as are warning ones whose
 * registration set Weights.Warning to 0 (Consul's way of saying "no traffic
 * while warning").
 */
export function toInstances(entries: readonly HealthEntry[], filter: HealthFilter = { includeWarning: false }): Instance[] {
  const instances: Instance[] = [];
  for (const entry of entries) {
    const status = worstStatus(entry);
    const weights = { passing: entry.Service.Weights?.Passing ?? 1, warning: entry.Service.Weights?.Warning ?? 1 };
    if (status === "critical") continue;
    if (status === "warning" && (!filter.includeWarning || weights.warning === 0)) continue;
    instances.push({
      id: entry.Service.ID,
      // Consul leaves the service address empty when it is the node's.
      address: entry.Service.Address || entry.Node.Address,
      port: entry.Service.Port,
      tags: entry.Service.Tags ?? [],
      meta: entry.Service.Meta ?? {},
      health: status satisfies HealthState,
      weights,
    });
  }
  return instances;
}
