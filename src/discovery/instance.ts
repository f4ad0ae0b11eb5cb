import type { HealthState } from "../health-state.js";

/** Consul's service Weights: how much traffic the instance takes while passing, and while warning. */
export interface InstanceWeights {
  readonly passing: number;
  readonly warning: number;
}

/** One healthy backend of a service, as the route table holds it. */
export interface Instance {
  /** Consul's service ID: stable across updates, so balancer state is keyed by it. */
  readonly id: string;
  readonly address: string;
  readonly port: number;
  readonly tags: readonly string[];
  readonly meta: Readonly<Record<string, string>>;
  /** The worst of its checks; "warning" only when GATEWAY_HEALTH_STATES lets warning instances in. */
  readonly health: HealthState;
  /** As registered in Consul (Consul fills {passing: 1, warning: 1} when a registration sets none). */
  readonly weights: InstanceWeights;
}

/** A stable text form of an instance list, used to tell a real change from a repeat. */
export function instancesFingerprint(instances: readonly Instance[]): string {
  const sorted = [...instances].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return JSON.stringify(
    sorted.map((i) => [i.id, i.address, i.port, [...i.tags].sort(), Object.entries(i.meta).sort(), i.health, i.weights.passing, i.weights.warning]),
  );
}

export function describeInstances(instances: readonly Instance[]): string {
  return instances.length === 0
    ? "(none)"
    : instances.map((i) => `${i.id}@${i.address}:${i.port}${i.health === "warning" ? " (warning)" : ""}`).join(", ");
}
