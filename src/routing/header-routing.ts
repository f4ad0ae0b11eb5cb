/**
 * Header routing, as the ZooKeeper design did it: a request to the prefix
 * (`/services` by default) names its service in a `service_name` header and
 * its path in an `api_name` header. The header values are input like any
 * URL: the service name passes the same check as a path's, and the path may
 * only ever be a path on the chosen instance (checkUpstreamPath).
 */
import type { IncomingHttpHeaders } from "node:http";
import { GatewayError } from "../errors.js";
import { checkServiceName, checkUpstreamPath, type ProxyTarget } from "./request-target.js";

export const SERVICE_NAME_HEADER = "service_name";
export const API_NAME_HEADER = "api_name";

/** Is `path` (raw, without query) the header-routing endpoint itself: the prefix, or the prefix and "/"? */
export function isHeaderRoute(prefix: string | undefined, path: string): boolean {
  return prefix !== undefined && (path === prefix || path === `${prefix}/`);
}

function single(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * The target named by the headers. The request's own query string (`query`,
 * with its "?") is kept, after any query that `api_name` carries.
 */
export function headerRouteTarget(headers: IncomingHttpHeaders, query: string): ProxyTarget {
  const service = single(headers, SERVICE_NAME_HEADER)?.trim();
  if (service === undefined || service === "") {
    throw new GatewayError("INVALID_SERVICE_NAME", `header routing needs a ${SERVICE_NAME_HEADER} header naming the service`);
  }
  checkServiceName(service);
  const apiName = single(headers, API_NAME_HEADER)?.trim();
  if (apiName === undefined || apiName === "") {
    throw new GatewayError("INVALID_PATH", `header routing needs an ${API_NAME_HEADER} header naming the path ("/" for the root)`, service);
  }
  const path = checkUpstreamPath(apiName, `the ${API_NAME_HEADER} header`);
  const extra = query.length > 1 ? query.slice(1) : "";
  const upstreamPath = extra === "" ? path : `${path}${path.includes("?") ? "&" : "?"}${extra}`;
  return { service, upstreamPath };
}
