import type { IncomingHttpHeaders } from "node:http";
import type { Instance } from "../../discovery/instance.js";

/** What a balancer may read of the request (only `hash` reads anything). */
export interface PickRequest {
  readonly headers: IncomingHttpHeaders;
  /** The client socket's address, never a header a client could forge. */
  readonly clientAddress: string;
}

/**
 * Chooses one instance of a service for one request. `instances` is never
 * empty: the caller answers NO_HEALTHY_INSTANCE before asking. A balancer
 * takes whatever list it is given (already narrowed by tags, and by any
 * filter applied before it), keeps no list of its own, and keeps its
 * per-instance state in the InstanceStatsRegistry so that it survives table swaps.
 */
export interface Balancer {
  pick(service: string, instances: readonly Instance[], request: PickRequest): Instance;
}

/** An instance's weight for a balancer (TrafficWeights.weight or .share). */
export type Weigh = (instance: Instance) => number;
