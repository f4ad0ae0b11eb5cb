/**
 * The watcher's messages as they were applied to the route table, for people
 * and dashboards: each becomes a change notification (what joined, left or
 * changed), kept in a short history and passed to live subscribers, and
 * counted for the metrics. It reads the tables before and after; it never
 * changes them.
 */
import type { WatcherMessage } from "../discovery/messages.js";
import { instancesFingerprint, type Instance } from "../routing/instance.js";
import type { RouteTable } from "../routing/route-table.js";
import type { RouteChange } from "../admin/view-types.js";

export type { RouteChange } from "../admin/view-types.js";

export type ConsulWatchKind = "catalog" | "health";

export class RouteEvents {
  private readonly listeners = new Set<(change: RouteChange) => void>();
  private readonly history: RouteChange[] = [];
  /** Route table updates per service, since the start. */
  readonly updates = new Map<string, number>();
  /** Failed Consul requests per kind of watch, since the start. */
  readonly consulErrors: Record<ConsulWatchKind, number> = { catalog: 0, health: 0 };

  constructor(
    /** How many notifications a newly opened dashboard is shown. */
    private readonly keep = 50,
    private readonly now: () => number = Date.now,
  ) {}

  /** Called once per watcher message, with the tables before and after it was applied. */
  publish(message: WatcherMessage, before: RouteTable, after: RouteTable): void {
    const change = this.describe(message, before, after);
    this.history.push(change);
    if (this.history.length > this.keep) this.history.shift();
    for (const listener of this.listeners) {
      // A subscriber's failure must never reach the watcher's message path.
      try {
        listener(change);
      } catch {
        this.listeners.delete(listener);
      }
    }
  }

  /** Calls `listener` with every later change; returns the function that stops it. */
  subscribe(listener: (change: RouteChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The latest notifications, oldest first. */
  recent(): readonly RouteChange[] {
    return this.history;
  }

  get totalConsulErrors(): number {
    return this.consulErrors.catalog + this.consulErrors.health;
  }

  private describe(message: WatcherMessage, before: RouteTable, after: RouteTable): RouteChange {
    const at = new Date(this.now()).toISOString();
    switch (message.type) {
      case "service": {
        this.updates.set(message.service, (this.updates.get(message.service) ?? 0) + 1);
        const { added, removed, changed } = diffInstances(before.get(message.service)?.instances ?? [], after.get(message.service)?.instances ?? []);
        const parts = [...added.map((id) => `+${id}`), ...removed.map((id) => `-${id}`), ...changed.map((id) => `~${id}`)];
        const summary = `${message.service}: ${parts.length > 0 ? parts.join(" ") : "first list"}; ${message.instances.length} healthy (index ${message.index})`;
        return { type: "service", at, summary, service: message.service, index: message.index, instances: message.instances.length, added, removed, changed };
      }
      case "catalog": {
        const previous = before.catalog?.services ?? new Set<string>();
        const next = new Set(message.services);
        const added = message.services.filter((name) => !previous.has(name));
        const removed = [...previous].filter((name) => !next.has(name)).sort();
        const parts = [...added.map((name) => `+${name}`), ...removed.map((name) => `-${name}`)];
        const summary = `catalog: ${parts.join(" ") || "unchanged"}; ${next.size} services (index ${message.index})`;
        return { type: "catalog", at, summary, index: message.index, services: next.size, added, removed };
      }
      case "watch-error": {
        this.consulErrors[message.service === null ? "catalog" : "health"] += 1;
        const summary = `Consul request failed (${message.service ?? "catalog"}): ${message.message}; last known routes kept`;
        return { type: "watch-error", at, summary, service: message.service, message: message.message };
      }
    }
  }
}

/** Instance ids that joined, left, or stayed with another address, port, tags or meta. */
export function diffInstances(before: readonly Instance[], after: readonly Instance[]): { added: string[]; removed: string[]; changed: string[] } {
  const previous = new Map(before.map((i) => [i.id, instancesFingerprint([i])]));
  const next = new Set(after.map((i) => i.id));
  const added: string[] = [];
  const changed: string[] = [];
  for (const instance of after) {
    const was = previous.get(instance.id);
    if (was === undefined) added.push(instance.id);
    else if (was !== instancesFingerprint([instance])) changed.push(instance.id);
  }
  const removed = before.filter((i) => !next.has(i.id)).map((i) => i.id);
  return { added: added.sort(), removed: removed.sort(), changed: changed.sort() };
}
