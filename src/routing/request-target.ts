import { GatewayError } from "../errors.js";
import { isPlainPath } from "../plain-path.js";
import { isValidServiceName } from "../service-name.js";

export interface ProxyTarget {
  readonly service: string;
  /** The path and query to send upstream, taken from the raw request target so encodings survive. */
  readonly upstreamPath: string;
}

/** Throws INVALID_SERVICE_NAME unless `service` is a service name (wherever it came from). */
export function checkServiceName(service: string): string {
  if (!isValidServiceName(service)) {
    throw new GatewayError(
      "INVALID_SERVICE_NAME",
      "a service name has 1-128 letters, digits, '-', '_' or '.' and is not '.' or '..'",
      service.slice(0, 128),
    );
  }
  return service;
}

/**
 * Splits a raw request target `/<service>/<rest>?<query>` into the service name
 * and the upstream path. Works on the raw URL, never on decoded parameters:
 * `%2F` stays `%2F`. Only origin-form targets (starting with "/") are accepted,
 * so an absolute URL or authority can never pick the host we connect to.
 */
export function parseProxyTarget(rawUrl: string): ProxyTarget {
  if (!rawUrl.startsWith("/")) {
    throw new GatewayError("INVALID_PATH", "the request target must be a path starting with '/'");
  }
  let end = 1;
  while (end < rawUrl.length && rawUrl[end] !== "/" && rawUrl[end] !== "?") end++;
  const service = rawUrl.slice(1, end);
  if (service.length === 0) {
    throw new GatewayError("ROUTE_NOT_FOUND", "no route: request /<service>/<path>");
  }
  checkServiceName(service);
  const rest = rawUrl.slice(end);
  return { service, upstreamPath: rest.startsWith("/") ? rest : `/${rest}` };
}

const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:/;

/**
 * Checks a path that did not come from the request line (a header, a route
 * tag) and returns it rooted at "/". It must read as a path and nothing else:
 * only the characters a request line's path may carry, no scheme, no "//"
 * authority, no "." or ".." segment, so it can only name a resource on the
 * instance the balancer picked, never another host.
 */
export function checkUpstreamPath(raw: string, what: string): string {
  const path = raw.startsWith("/") ? raw : `/${raw}`;
  if (SCHEME.test(raw) || !isPlainPath(path)) {
    throw new GatewayError("INVALID_PATH", `${what} must be a path (letters, digits, RFC 3986 punctuation, %XX escapes; no scheme, '//' or dot segments)`);
  }
  return path;
}
