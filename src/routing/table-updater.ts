import createDebug from "debug";
import type { WatcherMessage } from "../discovery/messages.js";
import { describeInstances } from "../discovery/instance.js";
import type { InstanceStatsRegistry } from "./instance-stats.js";
import type { RouteStore } from "./route-store.js";
import type { RouteTable } from "./route-table.js";

const debug = createDebug("gateway:routes");

type RouteMessage = Extract<WatcherMessage, { type: "service" | "catalog" }>;

/**
 * Turns validated watcher messages into route table swaps. The first message
 * after a quiet spell is applied at once; messages that follow within
 * `coalesceMs` of it are applied together in one swap when the window ends
 * (a deploy of fifty instances rebuilds a few times, not fifty, as Traefik
 * throttles), and a window that applied something opens the next one. For one
 * service only its latest list counts. `onSwap` sees every new table.
 */
export class TableUpdater {
  private pending = new Map<string, RouteMessage>();
  /** Set while a coalescing window is open: messages wait for its end. */
  private window: NodeJS.Timeout | undefined;

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
    if (this.window !== undefined) return;
    this.flush();
    if (this.coalesceMs > 0) this.openWindow();
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

  private openWindow(): void {
    this.window = setTimeout(() => {
      this.window = undefined;
      if (this.pending.size === 0) return;
      this.flush();
      this.openWindow();
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
