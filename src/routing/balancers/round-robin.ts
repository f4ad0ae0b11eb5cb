import type { Instance } from "../instance.js";
import type { Balancer } from "./balancer.js";

/**
 * Each service's instances in turn. The counter is per service and outlives
 * table swaps; instances are taken in id order so that a swap that only
 * reorders Consul's answer does not reorder the rotation.
 */
export class RoundRobinBalancer implements Balancer {
  private readonly next = new Map<string, number>();
  private readonly sortedCache = new WeakMap<readonly Instance[], readonly Instance[]>();

  pick(service: string, instances: readonly Instance[]): Instance {
    const ordered = this.sorted(instances);
    const turn = this.next.get(service) ?? 0;
    this.next.set(service, (turn + 1) % Number.MAX_SAFE_INTEGER);
    return ordered[turn % ordered.length]!;
  }

  /** The table's arrays are frozen and replaced on change, so sorting once per array is enough. */
  private sorted(instances: readonly Instance[]): readonly Instance[] {
    let ordered = this.sortedCache.get(instances);
    if (ordered === undefined) {
      ordered = [...instances].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      this.sortedCache.set(instances, ordered);
    }
    return ordered;
  }
}
