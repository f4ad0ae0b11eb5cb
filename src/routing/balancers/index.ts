import type { Balancer } from "./balancer.js";
import { RandomBalancer } from "./random.js";
import { RoundRobinBalancer } from "./round-robin.js";

export type { Balancer } from "./balancer.js";

export const BALANCER_NAMES = ["random", "round-robin"] as const;
export type BalancerName = (typeof BALANCER_NAMES)[number];

export function createBalancer(name: BalancerName): Balancer {
  switch (name) {
    case "random":
      return new RandomBalancer();
    case "round-robin":
      return new RoundRobinBalancer();
  }
}
