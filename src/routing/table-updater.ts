import createDebug from "debug";
import type { WatcherMessage } from "../discovery/messages.js";
import { describeInstances } from "../discovery/instance.js";
import type { InstanceStatsRegistry } from "./instance-stats.js";
import type { RouteStore } from "./route-store.js";
import type { RouteTable } from "./route-table.js";

const debug = createDebug("gateway:routes");

type RouteMessage = Extract<WatcherMessage, { type: "service" | "catalog" }>;

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
 */
export class TableUpdater {
  private pending = new Map<string, RouteMessage>();
  /** Set while a window is open. */
  private window: NodeJS.Timeout | undefined;
  private swapsInWindow = 0;

  constructor(
    private readonly store: RouteStore,
    private readonly stats: InstanceStatsRegistry,
    private readonly coalesceMs: number,
    private readonly onSwap: (table: RouteTable) => void = () => {},
  ) {}

  apply(message: WatcherMessage): void {
    if (message.type === "watch-error") {
      // The table is left as it is: a Consul failure never empties it.
      debug("watch error%s: %s; last known routes kept", message.service === null ? " (catalog)" : ` (${message.service})`, message.message);
      return;
    }
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
      debug("catalog index=%s services=%d", message.index, message.services.length);
      return table.withCatalog(message.services, message.index, message.tags);
    }
    debug("change %s index=%s instances=%d [%s]", message.service, message.index, message.instances.length, describeInstances(message.instances));
    const known = table.get(message.service);
    const previous = known?.instances ?? [];
    const next = new Set(message.instances.map((i) => i.id));
    // The first list of a service names instances that were running before we asked: no warm-up for them.
    this.stats.observe(next, { warmUpExempt: known === undefined });
    this.stats.forget(previous.filter((i) => !next.has(i.id)).map((i) => i.id));
    return table.withService(message.service, message.instances, message.index);
  }
}
