import { GatewayError } from "../gateway/errors.js";
import { isValidServiceName } from "../discovery/messages.js";

export interface ProxyTarget {
  readonly service: string;
  /** The path and query to send upstream, taken from the raw request target so encodings survive. */
  readonly upstreamPath: string;
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
  if (!isValidServiceName(service)) {
    throw new GatewayError(
      "INVALID_SERVICE_NAME",
      "a service name has 1-128 letters, digits, '-', '_' or '.' and is not '.' or '..'",
      service.slice(0, 128),
    );
  }
  const rest = rawUrl.slice(end);
  return { service, upstreamPath: rest.startsWith("/") ? rest : `/${rest}` };
}
