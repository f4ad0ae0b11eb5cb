/**
 * What a balancer setting may say: the balancer names and the hash key forms.
 * The settings check values against these and the balancers act on them, so
 * they sit below both.
 */

export const BALANCER_NAMES = ["random", "round-robin", "weighted", "least-request", "hash"] as const;
export type BalancerName = (typeof BALANCER_NAMES)[number];

export function isBalancerName(value: string): value is BalancerName {
  return (BALANCER_NAMES as readonly string[]).includes(value);
}

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
