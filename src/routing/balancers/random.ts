import type { Instance } from "../../discovery/instance.js";
import type { Balancer, Weigh } from "./balancer.js";
import { weightedIndex } from "./weighted-choice.js";

/**
 * Random choice (Fabio's default). Instances
 * count as equals (`share`): only warning and warming-up ones are drawn less
 * often. Stateless.
 */
export class RandomBalancer implements Balancer {
  constructor(
    private readonly weigh: Weigh,
    private readonly random: () => number = Math.random,
  ) {}

  pick(_service: string, instances: readonly Instance[]): Instance {
    return instances[weightedIndex(instances.map(this.weigh), this.random)]!;
  }
}
