import type { Instance } from "../discovery/instance.js";
import type { RouteStore } from "./route-store.js";
import type { CatalogView, RouteTable } from "./route-table.js";
import { missingTags, withTags } from "./tag-filter.js";
import { GatewayError } from "../errors.js";

/**
 * Answers "which instances may serve this service now?" from the route table
 * alone; it never calls the registry. A service the table has no entry for yet is
 * subscribed to, and the request waits a bounded time for the first answer.
 * Names the registry's catalog does not know are refused without a subscription,
 * so random names cannot make the watcher open unbounded watches.
 * With tags, only the instances that carry all of them may serve.
 */
export class ServiceResolver {
  constructor(
    private readonly store: RouteStore,
    private readonly subscribe: (service: string) => void,
    private readonly discoveryTimeoutMs: number,
  ) {}

  /**
   * The instances (those carrying `tags`) when the table already has some,
   * without a promise: the path of nearly every request, which then awaits
   * nothing here. Undefined otherwise: `resolve` waits, or says what is missing.
   */
  known(service: string, tags: readonly string[] = []): readonly Instance[] | undefined {
    const instances = this.store.current.get(service)?.instances;
    if (instances === undefined || instances.length === 0) return undefined;
    const tagged = withTags(instances, tags);
    return tagged.length > 0 ? tagged : undefined;
  }

  async resolve(service: string, tags: readonly string[] = []): Promise<readonly Instance[]> {
    const known = this.store.current.get(service);
    const instances = known !== undefined && known.instances.length > 0 ? known.instances : await this.firstInstances(service);
    const tagged = withTags(instances, tags);
    if (tagged.length === 0) {
      const named = missingTags(instances, tags);
      const list = named.slice(0, 5).map((tag) => JSON.stringify(tag.slice(0, 100))).join(", ") + (named.length > 5 ? ", ..." : "");
      throw new GatewayError("NO_HEALTHY_INSTANCE", `no healthy instance carries the tag${named.length === 1 ? "" : "s"} ${list}`, service);
    }
    return tagged;
  }

  /** The table's catalog, waiting for its first arrival as a request for a new service does. */
  async catalog(): Promise<CatalogView> {
    const current = this.store.current.catalog;
    if (current !== undefined) return current;
    return (await this.waitOrFail(undefined, (t) => t.catalog !== undefined, "Consul's service catalog")).catalog!;
  }

  /** A service the table has no instances of yet: subscribe if the catalog knows it, and wait. */
  private async firstInstances(service: string): Promise<readonly Instance[]> {
    let table = this.store.current;
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

  private async waitOrFail(service: string | undefined, until: (t: RouteTable) => boolean, what: string): Promise<RouteTable> {
    const table = await this.store.waitFor(until, this.discoveryTimeoutMs);
    if (table === undefined) {
      throw new GatewayError("DISCOVERY_TIMEOUT", `no answer from discovery for ${what} within ${this.discoveryTimeoutMs} ms`, service);
    }
    return table;
  }
}
