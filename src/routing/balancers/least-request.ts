import type { Instance } from "../../discovery/instance.js";
import type { InstanceStatsRegistry } from "../instance-stats.js";
import type { Balancer, Weigh } from "./balancer.js";
import { weightedIndex } from "./weighted-choice.js";

/**
 * Power of two choices (Mitzenmacher; Envoy's least_request): draw two
 * different instances, in proportion to their weights, and take the one with
 * fewer requests in flight per unit of weight. Comparing two instead of
 * scanning all avoids sending every new request to the same momentarily
 * idlest instance (herding), and costs O(1) comparisons.
 * At rest (nothing in flight) the first draw wins, so the traffic follows the weights.
 */
export class LeastRequestBalancer implements Balancer {
  constructor(
    private readonly weigh: Weigh,
    private readonly stats: InstanceStatsRegistry,
    private readonly random: () => number = Math.random,
  ) {}

  pick(_service: string, instances: readonly Instance[]): Instance {
    if (instances.length === 1) return instances[0]!;
    const weights = instances.map(this.weigh);
    const a = weightedIndex(weights, this.random);
    const b = weightedIndex(weights, this.random, a);
    const loadA = this.stats.get(instances[a]!.id).inFlight / weights[a]!;
    const loadB = this.stats.get(instances[b]!.id).inFlight / weights[b]!;
    return instances[loadB < loadA ? b : a]!;
  }
}
