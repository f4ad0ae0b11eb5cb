/**
 * The balancers by name, and the per-service choice between them: the
 * operator's config map first (GATEWAY_SERVICE_BALANCERS), then what the
 * service's own registrations ask for (Consul service meta), then the
 * default (GATEWAY_BALANCER).
 */
import type { Instance } from "../../discovery/instance.js";
import type { InstanceStatsRegistry } from "../instance-stats.js";
import type { TrafficWeights } from "../traffic-weights.js";
import type { Balancer, PickRequest } from "./balancer.js";
import { HashBalancer } from "./hash.js";
import { isBalancerName, type BalancerName, formatHashKey, parseHashKey, type HashKey } from "../../balancer-options.js";
import { LeastRequestBalancer } from "./least-request.js";
import { RandomBalancer } from "./random.js";
import { SmoothWeightedBalancer } from "./smooth-weighted.js";

export type { Balancer, PickRequest } from "./balancer.js";


/** Service meta keys (Consul allows letters, digits, '-' and '_' in meta keys; no dots). */
export const BALANCER_META_KEY = "gateway-balancer";
export const HASH_KEY_META_KEY = "gateway-hash-key";

export interface BalancerDeps {
  readonly stats: InstanceStatsRegistry;
  readonly weights: TrafficWeights;
  readonly hashKey: HashKey;
  readonly random?: () => number;
}

export function createBalancer(name: BalancerName, deps: BalancerDeps): Balancer {
  const weight = (i: Instance): number => deps.weights.weight(i);
  const share = (i: Instance): number => deps.weights.share(i);
  switch (name) {
    case "random":
      return new RandomBalancer(share, deps.random);
    case "round-robin":
      return new SmoothWeightedBalancer(share, deps.stats);
    case "weighted":
      return new SmoothWeightedBalancer(weight, deps.stats);
    case "least-request":
      return new LeastRequestBalancer(weight, deps.stats, deps.random);
    case "hash":
      return new HashBalancer(weight, deps.hashKey);
  }
}

/**
 * The meta value most of the instances carry (ties: the smaller value), among
 * those `accept` takes; undefined when none carries an accepted one. Taking
 * the majority keeps a rolling deploy that changes the value from flapping.
 */
function metaConsensus(instances: readonly Instance[], key: string, accept: (value: string) => boolean): string | undefined {
  const counts = new Map<string, number>();
  for (const instance of instances) {
    const value = instance.meta[key];
    if (value !== undefined && accept(value)) counts.set(value, (counts.get(value) ?? 0) + 1);
  }
  let best: string | undefined;
  for (const [value, count] of counts) {
    const bestCount = best === undefined ? 0 : counts.get(best)!;
    if (count > bestCount || (count === bestCount && value < best!)) best = value;
  }
  return best;
}

export interface ServiceBalancerOptions {
  readonly defaultBalancer: BalancerName;
  /** GATEWAY_SERVICE_BALANCERS: service → balancer, above anything the service's meta says. */
  readonly serviceBalancers: ReadonlyMap<string, BalancerName>;
}

/** Picks with the balancer each service chose; itself a Balancer, so the app sees one. */
export class ServiceBalancers implements Balancer {
  /** One balancer per name (and per hash key): their state is per instance, in the stats, not per service. */
  private readonly byName = new Map<string, Balancer>();
  /** The choice read from meta, once per instance list (lists are frozen and replaced on change). */
  private readonly fromMeta = new WeakMap<readonly Instance[], Balancer>();

  constructor(
    private readonly options: ServiceBalancerOptions,
    private readonly deps: BalancerDeps,
  ) {}

  pick(service: string, instances: readonly Instance[], request: PickRequest): Instance {
    return this.balancerFor(service, instances).pick(service, instances, request);
  }

  balancerFor(service: string, instances: readonly Instance[]): Balancer {
    const configured = this.options.serviceBalancers.get(service);
    if (configured !== undefined) return this.named(configured, this.deps.hashKey);
    let balancer = this.fromMeta.get(instances);
    if (balancer === undefined) {
      const name = (metaConsensus(instances, BALANCER_META_KEY, isBalancerName) as BalancerName | undefined) ?? this.options.defaultBalancer;
      const hashKey = metaConsensus(instances, HASH_KEY_META_KEY, (v) => parseHashKey(v) !== undefined);
      balancer = this.named(name, hashKey === undefined ? this.deps.hashKey : parseHashKey(hashKey)!);
      this.fromMeta.set(instances, balancer);
    }
    return balancer;
  }

  private named(name: BalancerName, hashKey: HashKey): Balancer {
    const id = name === "hash" ? `hash ${formatHashKey(hashKey)}` : name;
    let balancer = this.byName.get(id);
    if (balancer === undefined) {
      balancer = createBalancer(name, { ...this.deps, hashKey });
      this.byName.set(id, balancer);
    }
    return balancer;
  }
}
