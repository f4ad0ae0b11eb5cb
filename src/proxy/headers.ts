import type { IncomingHttpHeaders } from "node:http";

/** Hop-by-hop headers (RFC 9110 §7.6.1), meaningful for one connection only. */
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

const NO_TOKENS: ReadonlySet<string> = new Set();

/** Header names listed in a Connection header are hop-by-hop for that message too. */
export function connectionTokens(value: string | string[] | undefined): ReadonlySet<string> {
  // Most messages name nothing beyond keep-alive/close: no set to build for them.
  if (value === undefined || value === "keep-alive" || value === "close") return NO_TOKENS;
  const tokens = new Set<string>();
  for (const part of Array.isArray(value) ? value : [value]) {
    for (const token of part.split(",")) {
      const name = token.trim().toLowerCase();
      if (name) tokens.add(name);
    }
  }
  return tokens;
}

/** The upstream's response headers less the hop-by-hop ones. (The request's are built in forwarded-headers.ts.) */
export function downstreamResponseHeaders(headers: IncomingHttpHeaders | Record<string, string | string[] | undefined>): Record<string, string | string[]> {
  const dropped = connectionTokens(headers["connection"]);
  const out: Record<string, string | string[]> = {};
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || HOP_BY_HOP.has(name) || dropped.has(name)) continue;
    out[name] = value;
  }
  return out;
}
