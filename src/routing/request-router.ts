/**
 * Which service, which upstream path and which tags a request asks for. Three
 * ways to name a target, tried in this order:
 * 1. header routing (`/services` with service_name / api_name headers);
 * 2. a prefix route from a `urlprefix-` tag, when its prefix is at least as
 *    long as the `/<service>` route the path would otherwise take (longest prefix wins);
 * 3. `/<service>/<path>`.
 * The tags are the route tag (a prefix route goes only to instances that carry
 * it), the service's configured tags (GATEWAY_SERVICE_TAGS) and those the
 * request asks for in the tag header (only those GATEWAY_TAG_HEADER_ALLOW lists, when set).
 * All of it is read from the request's canonical path (canonical-path.ts).
 */
import type { IncomingMessage } from "node:http";
import { isValidServiceName } from "../service-name.js";
import { GatewayError } from "../errors.js";
import { canonicalTarget } from "./canonical-path.js";
import { parseProxyTarget, type ProxyTarget } from "./request-target.js";
import { prefixRoutes, routedPath, type PrefixRoute } from "./prefix-routes.js";
import type { RouteStore } from "./route-store.js";
import type { CatalogView } from "./route-table.js";
import { headerRouteTarget, isHeaderRoute } from "./header-routing.js";

export interface RequestTarget extends ProxyTarget {
  /** Every tag the chosen instance must carry, sorted, without repeats. */
  readonly tags: readonly string[];
}

export interface RequestRouterOptions {
  /** GATEWAY_HEADER_ROUTE_PREFIX; undefined turns header routing off. */
  readonly headerRoutePrefix: string | undefined;
  /** GATEWAY_TAG_HEADER, lowercase; undefined ignores requested tags. */
  readonly tagHeader: string | undefined;
  /** GATEWAY_TAG_HEADER_ALLOW: the tags a request may ask for; undefined: any. */
  readonly tagHeaderAllow?: ReadonlySet<string> | undefined;
  /** GATEWAY_SERVICE_TAGS: service → tags its instances must carry. */
  readonly serviceTags: ReadonlyMap<string, readonly string[]>;
}

export class RequestRouter {
  constructor(
    private readonly store: RouteStore,
    /** Waits for Consul's catalog when it has not arrived yet (ServiceResolver.catalog). */
    private readonly waitForCatalog: () => Promise<CatalogView>,
    private readonly options: RequestRouterOptions,
  ) {}

  route(req: IncomingMessage): RequestTarget | Promise<RequestTarget> {
    const rawUrl = req.url ?? "";
    // An absolute URL, "*" or an authority never names a route: INVALID_PATH, as parseProxyTarget says.
    if (!rawUrl.startsWith("/")) parseProxyTarget(rawUrl);
    // Every decision below, and the path sent upstream, read the canonical path (canonical-path.ts).
    const { path, query } = canonicalTarget(rawUrl);
    const url = query === "" ? path : path + query;

    if (isHeaderRoute(this.options.headerRoutePrefix, path)) return this.withTags(headerRouteTarget(req.headers, query), undefined, req);
    // A promise only before Consul's first catalog: afterwards the caller awaits nothing on this path.
    const catalog = this.store.current.catalog;
    if (catalog === undefined) return this.firstCatalog(url).then((first) => this.inCatalog(first, path, query, url, req));
    return this.inCatalog(catalog, path, query, url, req);
  }

  private inCatalog(catalog: CatalogView, path: string, query: string, url: string, req: IncomingMessage): RequestTarget {
    const prefixRoute = this.prefixRoute(catalog, path);
    if (prefixRoute === undefined) return this.withTags(parseProxyTarget(url), undefined, req);
    return this.withTags({ service: prefixRoute.service, upstreamPath: routedPath(prefixRoute, path, query) }, prefixRoute.tag, req);
  }

  private withTags(target: ProxyTarget, routeTag: string | undefined, req: IncomingMessage): RequestTarget {
    // Built field by field rather than by object spread: this runs on every request (docs/PERFORMANCE.md).
    return { service: target.service, upstreamPath: target.upstreamPath, tags: this.tagsFor(target.service, routeTag, req) };
  }

  /**
   * Before Consul's first catalog: a path that cannot be a /<service> route fails at once
   * (400, or 404 for "/") rather than after a wait.
   */
  private firstCatalog(rawUrl: string): Promise<CatalogView> {
    parseProxyTarget(rawUrl);
    return this.waitForCatalog();
  }

  /** The longest prefix route for `path`, unless the path's own /<service> route is longer. */
  private prefixRoute(catalog: CatalogView, path: string): PrefixRoute | undefined {
    const route = prefixRoutes(catalog).match(path);
    if (route === undefined) return undefined;
    const end = path.indexOf("/", 1);
    const first = path.slice(1, end === -1 ? undefined : end);
    const serviceRouteLength = isValidServiceName(first) && catalog.services.has(first) ? 1 + first.length : 0;
    // On a tie the tag route wins: it was asked for, the /<service> route only exists by convention.
    return route.prefix.length >= serviceRouteLength ? route : undefined;
  }

  private tagsFor(service: string, routeTag: string | undefined, req: IncomingMessage): readonly string[] {
    const configured = this.options.serviceTags.get(service);
    const header = this.options.tagHeader === undefined ? undefined : req.headers[this.options.tagHeader];
    if (configured === undefined && routeTag === undefined && typeof header !== "string") return NO_TAGS;
    // A Set: a tag asked for twice (or by both the config and the header) is one condition.
    const tags = new Set(configured);
    if (routeTag !== undefined) tags.add(routeTag);
    if (typeof header === "string") {
      for (const tag of header.split(",")) {
        const trimmed = tag.trim();
        if (trimmed === "") continue;
        if (this.options.tagHeaderAllow !== undefined && !this.options.tagHeaderAllow.has(trimmed)) {
          throw new GatewayError("TAG_NOT_ALLOWED", `the tag ${JSON.stringify(trimmed.slice(0, 100))} may not be asked for`, service);
        }
        tags.add(trimmed);
      }
    }
    return tags.size === 0 ? NO_TAGS : [...tags].sort();
  }
}

const NO_TAGS: readonly string[] = Object.freeze([]);
