import type { Instance } from "../discovery/instance.js";

/** What the table knows of one subscribed service. */
export interface ServiceRoutes {
  readonly instances: readonly Instance[];
  /** The X-Consul-Index the list came from. */
  readonly index: string;
  readonly updatedAt: number;
}

/** The set of service names Consul's catalog knows, with the index it came from. */
export interface CatalogView {
  readonly services: ReadonlySet<string>;
  /** Each service's tags (the union over its instances): prefix routes are read from them. */
  readonly tags: ReadonlyMap<string, readonly string[]>;
  readonly index: string;
}

/**
 * The route table: an immutable value (as in Fabio's route/table.go). An update
 * builds a new table and the holder swaps it in one assignment, so a request
 * reads one consistent snapshot and no reader ever locks.
 */
export class RouteTable {
  static readonly EMPTY = new RouteTable(new Map(), undefined);

  private constructor(
    private readonly services: ReadonlyMap<string, ServiceRoutes>,
    /** undefined until the watcher has sent the catalog once. */
    readonly catalog: CatalogView | undefined,
  ) {
    Object.freeze(this);
  }

  get(service: string): ServiceRoutes | undefined {
    return this.services.get(service);
  }

  serviceNames(): string[] {
    return [...this.services.keys()].sort();
  }

  /** A new table with one service replaced; the other services' entries are shared, not copied. */
  withService(service: string, instances: readonly Instance[], index: string, now = Date.now()): RouteTable {
    const next = new Map(this.services);
    next.set(service, Object.freeze({ instances: Object.freeze([...instances]), index, updatedAt: now }));
    return new RouteTable(next, this.catalog);
  }

  withCatalog(services: Iterable<string>, index: string, tags: Readonly<Record<string, readonly string[]>> = {}): RouteTable {
    const tagMap = new Map(Object.entries(tags).map(([name, list]) => [name, Object.freeze([...list])] as const));
    return new RouteTable(this.services, Object.freeze({ services: new Set(services), tags: tagMap, index }));
  }

  /** A plain form for people and the admin surface (Fabio's Dump()). */
  toJSON(): Record<string, { index: string; updatedAt: string; instances: readonly Instance[] }> {
    const out: Record<string, { index: string; updatedAt: string; instances: readonly Instance[] }> = {};
    for (const name of this.serviceNames()) {
      const entry = this.services.get(name)!;
      out[name] = { index: entry.index, updatedAt: new Date(entry.updatedAt).toISOString(), instances: entry.instances };
    }
    return out;
  }
}
