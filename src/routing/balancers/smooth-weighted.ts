import type { Instance } from "../../discovery/instance.js";
import type { InstanceStats, InstanceStatsRegistry } from "../instance-stats.js";
import type { Balancer, Weigh } from "./balancer.js";

/**
 * Smooth weighted round-robin (nginx's): each pick adds every instance's
 * weight to its running `currentWeight`, takes the largest, and subtracts the
 * total from it. Over a cycle (the sum of integer weights) each instance gets
 * exactly its weight, interleaved (5,1,1 → a a b a c a a), never in bursts.
 *
 * `round-robin` is this with every instance counting as one (`share`): an
 * exact rotation in id order that still holds warning and warming-up
 * instances back; `weighted` is this with registered weights (`weight`).
 * The running weights live in the instance stats, keyed by id, so a table
 * swap that keeps an instance keeps its place in the cycle.
 */
export class SmoothWeightedBalancer implements Balancer {
  constructor(
    private readonly weigh: Weigh,
    private readonly stats: InstanceStatsRegistry,
  ) {}

  pick(_service: string, instances: readonly Instance[]): Instance {
    let total = 0;
    let best: Instance | undefined;
    let bestStats: InstanceStats | undefined;
    for (const instance of instances) {
      const stats = this.stats.get(instance.id);
      const weight = this.weigh(instance);
      stats.currentWeight += weight;
      total += weight;
      // Ties go to the smaller id, so Consul's answer order never changes the rotation.
      if (bestStats === undefined || stats.currentWeight > bestStats.currentWeight || (stats.currentWeight === bestStats.currentWeight && instance.id < best!.id)) {
        best = instance;
        bestStats = stats;
      }
    }
    bestStats!.currentWeight -= total;
    return best!;
  }
}
