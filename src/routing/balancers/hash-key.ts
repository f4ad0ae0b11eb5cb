import type { PickRequest } from "./balancer.js";

/** What `hash` hashes: a request header, a cookie, or the client's address. */
export type HashKey = { readonly source: "header" | "cookie"; readonly name: string } | { readonly source: "client-address" };

export const HASH_KEY_FORM = "client-address, header:NAME or cookie:NAME";

/** RFC 9110 token characters: what a header or cookie name may be made of. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$/;

/** `client-address`, `header:X-User-Id`, `cookie:session`; undefined for anything else. */
export function parseHashKey(raw: string): HashKey | undefined {
  const text = raw.trim();
  if (text === "client-address") return { source: "client-address" };
  const colon = text.indexOf(":");
  const source = text.slice(0, colon);
  const name = text.slice(colon + 1).trim();
  if ((source !== "header" && source !== "cookie") || !TOKEN.test(name)) return undefined;
  // Node lowercases incoming header names; cookie names are case-sensitive.
  return { source, name: source === "header" ? name.toLowerCase() : name };
}

export function formatHashKey(key: HashKey): string {
  return key.source === "client-address" ? key.source : `${key.source}:${key.name}`;
}

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
