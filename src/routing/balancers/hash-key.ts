/** How the `hash` balancer reads its key from a request; the key forms themselves are in balancer-options.ts. */
import type { HashKey } from "../../balancer-options.js";
import type { PickRequest } from "./balancer.js";

function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const pair of header.split(";")) {
    const eq = pair.indexOf("=");
    if (eq !== -1 && pair.slice(0, eq).trim() === name) return pair.slice(eq + 1).trim();
  }
  return undefined;
}

/**
 * The request's key. A request without the header or cookie falls back to its
 * client address, so it still lands on one instance consistently rather than
 * on a random one.
 */
export function requestHashKey(request: PickRequest, key: HashKey): string {
  let value: string | undefined;
  if (key.source === "header") {
    const raw = request.headers[key.name];
    value = Array.isArray(raw) ? raw.join(", ") : raw;
  } else if (key.source === "cookie") {
    value = cookieValue(request.headers.cookie, key.name);
  }
  return value === undefined || value === "" ? `client-address:${request.clientAddress}` : `${key.source}:${value}`;
}
