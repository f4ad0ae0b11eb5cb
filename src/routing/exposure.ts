/**
 * Which services the gateway exposes, decided from a service's tags in the
 * registry's catalog, the way Traefik's Consul Catalog provider does it:
 * GATEWAY_EXPOSED_BY_DEFAULT (Traefik's exposedByDefault), the tag
 * `gateway.enable=true|false` on a service (Traefik's `traefik.enable`), and
 * GATEWAY_CONSTRAINTS (Traefik's constraints). A service not exposed is
 * answered exactly like one the registry does not know and is never watched.
 *
 * The catalog's tags are the union over a service's instances: when one
 * instance says gateway.enable=false and another says true, false wins, so
 * that a single instance registered as internal is never made public by its
 * neighbours.
 */
import type { TagConstraint } from "../tag-constraints.js";
import type { GatewayConfig } from "../config.js";

export const ENABLE_TAG = "gateway.enable";

export interface ExposureOptions {
  /** GATEWAY_EXPOSED_BY_DEFAULT. */
  readonly exposedByDefault: boolean;
  /** GATEWAY_CONSTRAINTS; undefined: no constraint. */
  readonly constraint: TagConstraint | undefined;
}

/** gateway.enable=<value> as Traefik reads traefik.enable (Go's ParseBool, less the odd forms). */
function enableValue(tag: string): boolean | undefined {
  if (tag.length < ENABLE_TAG.length + 2 || !tag.startsWith(ENABLE_TAG) || tag[ENABLE_TAG.length] !== "=") return undefined;
  const value = tag.slice(ENABLE_TAG.length + 1).toLowerCase();
  return value === "true" ? true : value === "false" ? false : undefined;
}

export class ExposurePolicy {
  /** Exposes everything: the behaviour before the policy existed, and what unit tests of other parts want. */
  static readonly ALL = new ExposurePolicy({ exposedByDefault: true, constraint: undefined });

  constructor(private readonly options: ExposureOptions) {}

  /** GATEWAY_EXPOSED_BY_DEFAULT and GATEWAY_CONSTRAINTS, for a gateway process and a cluster's primary alike. */
  static of(config: GatewayConfig): ExposurePolicy {
    return new ExposurePolicy({ exposedByDefault: config.exposedByDefault, constraint: config.constraints?.test });
  }

  /** Is a service with these catalog tags exposed? */
  exposes(tags: readonly string[] | undefined): boolean {
    let enabled: boolean | undefined;
    for (const tag of tags ?? []) {
      const value = enableValue(tag);
      if (value === false) return false;
      if (value === true) enabled = true;
    }
    if (!(enabled ?? this.options.exposedByDefault)) return false;
    return this.options.constraint === undefined || this.options.constraint(new Set(tags));
  }
}

/** A catalog as the watcher reports it: every service name, and each one's tags. */
export interface CatalogListing {
  readonly services: readonly string[];
  readonly tags: Readonly<Record<string, readonly string[]>>;
}

/**
 * The catalog less the services `policy` does not expose, and the names of
 * those (`hidden`). The route table only ever holds the exposed part, so a
 * hidden service is, to everything that reads the table (routing by path,
 * header and prefix route, the admin API, the snapshot), a service the
 * registry does not know.
 */
export function exposedCatalog<T extends CatalogListing>(listing: T, policy: ExposurePolicy): { catalog: T; hidden: ReadonlySet<string> } {
  const hidden = new Set<string>();
  for (const service of listing.services) {
    if (!policy.exposes(listing.tags[service])) hidden.add(service);
  }
  if (hidden.size === 0) return { catalog: listing, hidden };
  const tags: Record<string, readonly string[]> = {};
  for (const [service, list] of Object.entries(listing.tags)) if (!hidden.has(service)) tags[service] = list;
  return { catalog: { ...listing, services: listing.services.filter((s) => !hidden.has(s)), tags }, hidden };
}
