/**
 * The route table's changes as people and dashboards see them: each new table
 * is compared with the one before, and every service entry or catalog that is
 * not the same object (the table shares unchanged entries) becomes a change
 * notification (what joined, left or changed), kept in a short history,
 * passed to live subscribers and counted for the metrics. Failed registry
 * requests (Consul or ZooKeeper) reported by the watcher are notifications too. Working from whole
 * tables rather than single watcher messages, it is indifferent to how the
 * messages were applied (one by one, or several coalesced into one swap).
 * It reads tables; it never changes them.
 */
import type { WatcherMessage } from "../discovery/messages.js";
import { REGISTRY_TITLES, type RegistryKind } from "../registry-kind.js";
import { instancesFingerprint, type Instance } from "../discovery/instance.js";
import { RouteTable, type ServiceRoutes } from "../routing/route-table.js";
import type { TableChange } from "./table-change.js";

export type { TableChange } from "./table-change.js";

/** The watcher's two kinds of watch: the catalog (which services exist) and a service's instance list. */
export type RegistryWatchKind = "catalog" | "service";

export interface RouteEventsOptions {
  /** How many notifications a newly opened dashboard is shown. */
  keep?: number;
  now?: () => number;
  /** The registry the watcher reads, named in error notifications. */
  registry?: RegistryKind;
}

export class TableChangeLog {
  private readonly listeners = new Set<(change: TableChange) => void>();
  private readonly history: TableChange[] = [];
  /** The last table seen, to compare the next one with. */
  private table: RouteTable = RouteTable.EMPTY;
  /** Route table updates per service, since the start. */
  readonly updates = new Map<string, number>();
  /** Failed registry requests per kind of watch, since the start. */
  readonly registryErrors: Record<RegistryWatchKind, number> = { catalog: 0, service: 0 };
  readonly registry: RegistryKind;
  private readonly keep: number;
  private readonly now: () => number;

  constructor({ keep = 50, now = Date.now, registry = "consul" }: RouteEventsOptions = {}) {
    this.keep = keep;
    this.now = now;
    this.registry = registry;
  }

  /** Called with each table after it was swapped in. */
  tableSwapped(next: RouteTable): void {
    const before = this.table;
    this.table = next;
    const at = new Date(this.now()).toISOString();
    if (next.catalog !== undefined && next.catalog !== before.catalog) this.emit(catalogChange(at, before, next.catalog));
    for (const service of next.serviceNames()) {
      const entry = next.get(service)!;
      if (entry === before.get(service)) continue;
      this.updates.set(service, (this.updates.get(service) ?? 0) + 1);
      this.emit(serviceChange(at, service, before.get(service), entry));
    }
  }

  /** Called with each failed registry request the watcher reports; the table is left as it is. */
  watchError(message: Extract<WatcherMessage, { type: "watch-error" }>): void {
    this.registryErrors[message.service === null ? "catalog" : "service"] += 1;
    const summary = `${REGISTRY_TITLES[this.registry]} request failed (${message.service ?? "catalog"}): ${message.message}; last known routes kept`;
    this.emit({ type: "watch-error", at: new Date(this.now()).toISOString(), summary, service: message.service, message: message.message });
  }

  /** Calls `listener` with every later change; returns the function that stops it. */
  subscribe(listener: (change: TableChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The latest notifications, oldest first. */
  recent(): readonly TableChange[] {
    return this.history;
  }

  get totalRegistryErrors(): number {
    return this.registryErrors.catalog + this.registryErrors.service;
  }

  private emit(change: TableChange): void {
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
}

function serviceChange(at: string, service: string, before: ServiceRoutes | undefined, after: ServiceRoutes): TableChange {
  const { added, removed, changed } = diffInstances(before?.instances ?? [], after.instances);
  const parts = [...added.map((id) => `+${id}`), ...removed.map((id) => `-${id}`), ...changed.map((id) => `~${id}`)];
  const summary = `${service}: ${parts.length > 0 ? parts.join(" ") : "first list"}; ${after.instances.length} healthy (index ${after.index})`;
  return { type: "service", at, summary, service, index: after.index, instances: after.instances.length, added, removed, changed };
}

function catalogChange(at: string, before: RouteTable, catalog: NonNullable<RouteTable["catalog"]>): TableChange {
  const previous = before.catalog?.services ?? new Set<string>();
  const added = [...catalog.services].filter((name) => !previous.has(name)).sort();
  const removed = [...previous].filter((name) => !catalog.services.has(name)).sort();
  const parts = [...added.map((name) => `+${name}`), ...removed.map((name) => `-${name}`)];
  const summary = `catalog: ${parts.join(" ") || "unchanged"}; ${catalog.services.size} services (index ${catalog.index})`;
  return { type: "catalog", at, summary, index: catalog.index, services: catalog.services.size, added, removed };
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
