/**
 * Which services the gateway watches, under the exposure policy: the
 * configured ones (GATEWAY_SERVICES) from the first catalog on, unless it
 * hides them (one not registered yet is watched, so that its first instance
 * is routed at once), and never a hidden one. Called after every table swap with the updater's
 * `hidden` set: a service that becomes hidden has its watch dropped, once.
 * (Services asked for by requests are subscribed by the ServiceResolver,
 * which only does so for names the exposed catalog lists.)
 */
import type { DiscoveryFeed } from "../discovery/discovery-feed.js";
import type { RouteTable } from "./route-table.js";

export class ExposedSubscriptions {
  /** Hidden services whose watch was dropped already. */
  private readonly dropped = new Set<string>();

  constructor(
    private readonly feed: Pick<DiscoveryFeed, "subscribe" | "unsubscribe">,
    private readonly configured: readonly string[],
  ) {}

  reconcile(table: RouteTable, hidden: ReadonlySet<string>): void {
    if (table.catalog === undefined) return;
    for (const service of this.dropped) if (!hidden.has(service)) this.dropped.delete(service);
    for (const service of hidden) {
      if (this.dropped.has(service)) continue;
      this.dropped.add(service);
      this.feed.unsubscribe(service);
    }
    for (const service of this.configured) if (!hidden.has(service)) this.feed.subscribe(service);
  }
}
