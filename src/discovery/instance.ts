import type { HealthState } from "../health-state.js";

/** Consul's service Weights: how much traffic the instance takes while passing, and while warning. */
export interface InstanceWeights {
  readonly passing: number;
  readonly warning: number;
}

/** One healthy backend of a service, as the route table holds it. */
export interface Instance {
  /** The registry's id: Consul's service ID (unique per agent only), ZooKeeper's ip:port. */
  readonly id: string;
  /**
   * The Consul node the instance is registered on; absent for ZooKeeper (whose
   * ids are addresses already) and in route snapshots written before it existed.
   */
  readonly node?: string;
  readonly address: string;
  readonly port: number;
  readonly tags: readonly string[];
  readonly meta: Readonly<Record<string, string>>;
  /** The worst of its checks; "warning" only when GATEWAY_HEALTH_STATES lets warning instances in. */
  readonly health: HealthState;
  /** As registered in Consul (Consul fills {passing: 1, warning: 1} when a registration sets none). */
  readonly weights: InstanceWeights;
}

/**
 * What makes an instance one in the whole cluster: node + service ID. Consul's
 * service ID is unique per agent, not per cluster (Fabio puts the node in its
 * instance id for the same reason): two hosts that both register "web" are two
 * instances. Balancer state, stats, outlier marks, the retries' tried set and
 * the metrics' `instance` label are keyed by it.
 */
export function instanceKey(instance: Instance): string {
  let key = keys.get(instance);
  if (key === undefined) {
    key = instance.node === undefined ? instance.id : `${instance.node}/${instance.id}`;
    keys.set(instance, key);
  }
  return key;
}

/**
 * Each instance's key, made once: the request path asks for it several times
 * per request (rotation, balancer, stats, outliers), and a key built anew is a
 * new string whose hash each Map lookup computes again. Instances are frozen
 * and shared by the table, so their object identity is a safe cache key.
 */
const keys = new WeakMap<Instance, string>();

/** Orders instances by key, so that views and fingerprints do not follow the registry's answer order. */
export function byKey(a: Instance, b: Instance): number {
  const ka = instanceKey(a);
  const kb = instanceKey(b);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/** A stable text form of an instance list, used to tell a real change from a repeat. */
export function instancesFingerprint(instances: readonly Instance[]): string {
  const sorted = [...instances].sort(byKey);
  return JSON.stringify(
    sorted.map((i) => [instanceKey(i), i.address, i.port, [...i.tags].sort(), Object.entries(i.meta).sort(), i.health, i.weights.passing, i.weights.warning]),
  );
}

export function describeInstances(instances: readonly Instance[]): string {
  return instances.length === 0
    ? "(none)"
    : instances.map((i) => `${instanceKey(i)}@${i.address}:${i.port}${i.health === "warning" ? " (warning)" : ""}`).join(", ");
}
