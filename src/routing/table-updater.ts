import createDebug from "debug";
import type { WatcherMessage } from "../discovery/messages.js";
import { describeInstances, instanceKey, type Instance } from "../discovery/instance.js";
import type { InstanceStatsRegistry } from "./instance-stats.js";
import type { RouteStore } from "./route-store.js";
import type { RouteTable } from "./route-table.js";
import { exposedCatalog, ExposurePolicy } from "./exposure.js";

const debug = createDebug("gateway:routes");

type RouteMessage = Extract<WatcherMessage, { type: "service" | "catalog" }>;

const keysOf = (instances: readonly Instance[]): string[] => instances.map(instanceKey);

/**
 * Swaps made at once within one window; past them, what arrives waits for the
 * window's end. One registry change arrives as two messages a few ms apart
 * (the catalog's and the service's list), and a few changes in a row (a
 * deregistration, then a registration) are not yet a burst; a deploy that
 * moves many instances at once is, and it then costs at most this many swaps
 * per window.
 */
export const SWAPS_AT_ONCE_PER_WINDOW = 8;

/**
 * Turns validated watcher messages into route table swaps. A message is
 * applied at once, unless SWAPS_AT_ONCE_PER_WINDOW swaps were already made
 * within `coalesceMs` (the window opened by the first message after a quiet
 * spell): then it waits, with whatever else arrives, for one swap at the
 * window's end, and that swap opens the next window. So a lone change is
 * routed without waiting, and a burst (a deploy of fifty instances) is
 * applied in a few swaps, as Traefik throttles. For one service only its
 * latest list counts. `onSwap` sees every new table.
 *
 * The exposure policy applies here, once per catalog: the table's catalog
 * holds only the exposed services, a service that becomes hidden leaves the
 * table, and lists that still arrive for a hidden service (its watch being
 * dropped) are ignored. `hidden` names the catalog's hidden services, for the
 * gateway to drop their watches.
 */
export class TableUpdater {
  private pending = new Map<string, RouteMessage>();
  private hiddenServices: ReadonlySet<string> = new Set();
  /** Set while a window is open. */
  private window: NodeJS.Timeout | undefined;
  private swapsInWindow = 0;

  constructor(
    private readonly store: RouteStore,
    private readonly stats: InstanceStatsRegistry,
    private readonly coalesceMs: number,
    private readonly onSwap: (table: RouteTable) => void = () => {},
    private readonly exposure: ExposurePolicy = ExposurePolicy.ALL,
  ) {}

  /** The services of the latest catalog that the exposure policy hides. */
  get hidden(): ReadonlySet<string> {
    return this.hiddenServices;
  }

  apply(message: WatcherMessage): void {
    if (message.type === "watch-error") {
      // The table is left as it is: a Consul failure never empties it.
      debug("watch error%s: %s; last known routes kept", message.service === null ? " (catalog)" : ` (${message.service})`, message.message);
      return;
    }
    if (message.type === "watch-mode") return;
    this.pending.set(message.type === "catalog" ? "\0catalog" : message.service, message);
    if (this.coalesceMs === 0) {
      this.flush();
      return;
    }
    if (this.window === undefined) this.openWindow(0);
    if (this.swapsInWindow >= SWAPS_AT_ONCE_PER_WINDOW) return;
    this.swapsInWindow += 1;
    this.flush();
  }

  /** Applies everything pending in one swap, now. */
  flush(): void {
    if (this.pending.size === 0) return;
    const messages = [...this.pending.values()];
    this.pending = new Map();
    let table = this.store.current;
    for (const message of messages) table = this.applyOne(table, message);
    this.store.swap(table);
    if (messages.length > 1) debug("%d updates applied in one swap", messages.length);
    this.onSwap(table);
  }

  /**
   * Takes released services out of the table (subscriptions.ts): their
   * entries, pending updates and stats records go in one swap.
   */
  release(services: readonly string[]): void {
    let table = this.store.current;
    for (const service of services) {
      this.pending.delete(service);
      const known = table.get(service);
      if (known !== undefined) this.stats.forget(keysOf(known.instances));
    }
    table = table.withoutServices(services);
    if (table === this.store.current) return;
    debug("released %d service%s: %s", services.length, services.length === 1 ? "" : "s", services.slice(0, 10).join(", ") + (services.length > 10 ? ", ..." : ""));
    this.store.swap(table);
    this.onSwap(table);
  }

  stop(): void {
    clearTimeout(this.window);
    this.window = undefined;
  }

  private openWindow(swaps: number): void {
    this.swapsInWindow = swaps;
    this.window = setTimeout(() => {
      this.window = undefined;
      if (this.pending.size === 0) return;
      this.flush();
      // The window's closing swap counts in the next one.
      this.openWindow(1);
    }, this.coalesceMs);
  }

  private applyOne(table: RouteTable, message: RouteMessage): RouteTable {
    if (message.type === "catalog") {
      const { catalog, hidden } = exposedCatalog(message, this.exposure);
      debug("catalog index=%s services=%d hidden=%d", message.index, message.services.length, hidden.size);
      this.hiddenServices = hidden;
      const next = table.withCatalog(catalog.services, catalog.index, catalog.tags);
      for (const service of hidden) {
        const gone = next.get(service);
        if (gone === undefined) continue;
        debug("%s is not exposed: removed from the table", service);
        this.stats.forget(keysOf(gone.instances));
      }
      return next.withoutServices(hidden);
    }
    if (this.hiddenServices.has(message.service)) {
      debug("ignored %s index=%s: not exposed", message.service, message.index);
      return table;
    }
    debug("change %s index=%s instances=%d [%s]", message.service, message.index, message.instances.length, describeInstances(message.instances));
    const known = table.get(message.service);
    const previous = known?.instances ?? [];
    const next = new Set(keysOf(message.instances));
    // The first list of a service names instances that were running before we asked: no warm-up for them.
    this.stats.observe(next, { warmUpExempt: known === undefined });
    this.stats.forget(keysOf(previous).filter((key) => !next.has(key)));
    return table.withService(message.service, message.instances, message.index);
  }
}
