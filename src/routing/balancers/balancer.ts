import type { Instance } from "../instance.js";

/**
 * Chooses one instance of a service for one request. `instances` is never
 * empty: the caller answers NO_HEALTHY_INSTANCE before asking.
 */
export interface Balancer {
  pick(service: string, instances: readonly Instance[]): Instance;
}
