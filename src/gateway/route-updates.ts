import createDebug from "debug";
import type { WatcherMessage } from "../discovery/messages.js";
import { describeInstances } from "../routing/instance.js";
import type { InstanceStatsRegistry } from "../routing/instance-stats.js";
import type { RouteStore } from "../routing/route-store.js";

const debug = createDebug("gateway:routes");

/** Turns one validated watcher message into a new route table; logs the change notification. */
export function applyWatcherMessage(store: RouteStore, stats: InstanceStatsRegistry, message: WatcherMessage): void {
  switch (message.type) {
    case "service": {
      debug("change %s index=%s instances=%d [%s]", message.service, message.index, message.instances.length, describeInstances(message.instances));
      const known = store.current.get(message.service);
      const previous = known?.instances ?? [];
      const next = new Set(message.instances.map((i) => i.id));
      // The first list of a service names instances that were running before we asked: no warm-up for them.
      stats.observe(next, { warmUpExempt: known === undefined });
      stats.forget(previous.filter((i) => !next.has(i.id)).map((i) => i.id));
      store.swap(store.current.withService(message.service, message.instances, message.index));
      return;
    }
    case "catalog":
      debug("catalog index=%s services=%d", message.index, message.services.length);
      store.swap(store.current.withCatalog(message.services, message.index, message.tags));
      return;
    case "watch-error":
      // The table is left as it is: a Consul failure never empties it.
      debug("watch error%s: %s; last known routes kept", message.service === null ? " (catalog)" : ` (${message.service})`, message.message);
      return;
  }
}
