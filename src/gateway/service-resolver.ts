import type { Instance } from "../routing/instance.js";
import type { RouteStore } from "../routing/route-store.js";
import type { RouteTable } from "../routing/route-table.js";
import { GatewayError } from "./errors.js";

/**
 * Answers "which instances may serve this service now?" from the route table
 * alone; it never calls the registry. A service the table has no entry for yet is
 * subscribed to, and the request waits a bounded time for the first answer.
 * Names the registry's catalog does not know are refused without a subscription,
 * so random names cannot make the watcher open unbounded watches.
 */
export class ServiceResolver {
  constructor(
    private readonly store: RouteStore,
    private readonly subscribe: (service: string) => void,
    private readonly discoveryTimeoutMs: number,
  ) {}

  async resolve(service: string): Promise<readonly Instance[]> {
    let table = this.store.current;
    const known = table.get(service);
    if (known !== undefined && known.instances.length > 0) return known.instances;

    if (table.catalog === undefined) {
      table = await this.waitOrFail(service, (t) => t.catalog !== undefined, "the registry's service catalog");
    }
    if (!table.catalog!.services.has(service) && !(table.get(service)?.instances.length ?? 0)) {
      throw new GatewayError("UNKNOWN_SERVICE", "the registry knows no service of this name", service);
    }
    if (table.get(service) === undefined) {
      this.subscribe(service);
      table = await this.waitOrFail(service, (t) => t.get(service) !== undefined || !t.catalog!.services.has(service), "the service's instances");
      if (table.get(service) === undefined) {
        throw new GatewayError("UNKNOWN_SERVICE", "the registry knows no service of this name", service);
      }
    }
    const instances = table.get(service)!.instances;
    if (instances.length === 0) {
      throw new GatewayError("NO_HEALTHY_INSTANCE", "the service has no instance whose health checks pass", service);
    }
    return instances;
  }

  private async waitOrFail(service: string, until: (t: RouteTable) => boolean, what: string): Promise<RouteTable> {
    const table = await this.store.waitFor(until, this.discoveryTimeoutMs);
    if (table === undefined) {
      throw new GatewayError("DISCOVERY_TIMEOUT", `no answer from discovery for ${what} within ${this.discoveryTimeoutMs} ms`, service);
    }
    return table;
  }
}
