import type { Instance } from "../instance.js";
import type { Balancer } from "./balancer.js";

/** Uniform random choice, as the original design did. Stateless. */
export class RandomBalancer implements Balancer {
  constructor(private readonly random: () => number = Math.random) {}

  pick(_service: string, instances: readonly Instance[]): Instance {
    return instances[Math.floor(this.random() * instances.length)]!;
  }
}
