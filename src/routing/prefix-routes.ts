/**
 * Routes from tags, the Fabio convention: an instance tagged
 * `urlprefix-/api strip=/api` has requests whose path starts with /api routed
 * to it (in addition to /<service>/...), with /api stripped. The longest
 * matching prefix wins.
 *
 * Chosen over a meta key because it is what Fabio users already write, and
 * because Consul meta keys cannot hold the dot of `gateway.route` nor carry
 * several routes per instance, while tags can. Supported: path routes with an
 * optional `strip=`. A tag with a host (`urlprefix-example.com/`) or any other
 * option (`allow=`, `proto=`, `redirect=`...) is not routed at all rather than
 * routed without the restriction or behaviour it asks for.
 */
import createDebug from "debug";
import { isPlainPath } from "../plain-path.js";
import type { CatalogView } from "./route-table.js";

const debug = createDebug("gateway:routes");

export const ROUTE_TAG_PREFIX = "urlprefix-";

export interface PrefixRoute {
  /** The path prefix, matched segment by segment: /api matches /api, /api/x and /api?q, not /apix. */
  readonly prefix: string;
  /** Removed from the front of the path before it is sent (Fabio's strip=). */
  readonly strip: string | undefined;
  readonly service: string;
  /** The exact tag: only the service's instances that carry it receive the route's traffic. */
  readonly tag: string;
}

/** A route tag's prefix and strip, or the reason it is not served. */
export function parseRouteTag(tag: string): { prefix: string; strip: string | undefined } | { skipped: string } | undefined {
  if (!tag.startsWith(ROUTE_TAG_PREFIX)) return undefined;
  const [route = "", ...options] = tag.slice(ROUTE_TAG_PREFIX.length).trim().split(/\s+/);
  if (!route.startsWith("/")) return { skipped: "host routes are not supported, only paths" };
  if (!isPlainPath(route) || route.includes("?")) return { skipped: "the prefix is not a plain path" };
  let strip: string | undefined;
  for (const option of options) {
    if (option.startsWith("strip=") && strip === undefined) {
      strip = option.slice("strip=".length);
      if (!(route === strip || route.startsWith(strip.endsWith("/") ? strip : `${strip}/`)) || !isPlainPath(strip)) {
        return { skipped: "strip= must be a leading part of the prefix" };
      }
    } else {
      return { skipped: `option ${JSON.stringify(option)} is not supported` };
    }
  }
  return { prefix: route, strip };
}

/** Does `prefix` cover `path` (a raw path, without the query)? */
export function prefixMatches(prefix: string, path: string): boolean {
  if (!path.startsWith(prefix)) return false;
  return path.length === prefix.length || prefix.endsWith("/") || path[prefix.length] === "/";
}

/** The path to send upstream: `path` less the route's strip, then the query. */
export function routedPath(route: PrefixRoute, path: string, query: string): string {
  const rest = route.strip === undefined ? path : path.slice(route.strip.length);
  return (rest.startsWith("/") ? rest : `/${rest}`) + query;
}

/** Every route of a catalog, longest prefix first; one route per prefix. */
export class PrefixRouteIndex {
  private constructor(readonly routes: readonly PrefixRoute[]) {}

  static fromCatalog(catalog: CatalogView): PrefixRouteIndex {
    const all: PrefixRoute[] = [];
    for (const [service, tags] of catalog.tags) {
      for (const tag of tags) {
        const parsed = parseRouteTag(tag);
        if (parsed === undefined) continue;
        if ("skipped" in parsed) debug("tag %j of %s not routed: %s", tag, service, parsed.skipped);
        else all.push({ ...parsed, service, tag });
      }
    }
    // Longest first; for one prefix claimed twice, the first service (then tag) by name, so the choice is stable.
    all.sort((a, b) => b.prefix.length - a.prefix.length || cmp(a.prefix, b.prefix) || cmp(a.service, b.service) || cmp(a.tag, b.tag));
    const routes = all.filter((route, i) => {
      const kept = i === 0 || all[i - 1]!.prefix !== route.prefix;
      if (!kept) debug("prefix %s of %s (%j) shadowed by an earlier claim", route.prefix, route.service, route.tag);
      return kept;
    });
    return new PrefixRouteIndex(routes);
  }

  /** The longest route covering `path`. */
  match(path: string): PrefixRoute | undefined {
    return this.routes.find((route) => prefixMatches(route.prefix, path));
  }
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Catalog views are immutable: each one's index is built once, on first use. */
const indexes = new WeakMap<CatalogView, PrefixRouteIndex>();

export function prefixRoutes(catalog: CatalogView): PrefixRouteIndex {
  let index = indexes.get(catalog);
  if (index === undefined) indexes.set(catalog, (index = PrefixRouteIndex.fromCatalog(catalog)));
  return index;
}
