import type { IncomingHttpHeaders } from "node:http";
import { acceptsTrailers } from "./trailers.js";

/** Hop-by-hop headers (RFC 9110 §7.6.1), meaningful for one connection only. */
const HOP_BY_HOP = new Set([
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

/**
 * Request headers the gateway rewrites itself: Host (the upstream gets its own
 * address; the client's goes in X-Forwarded-Host), the X-Forwarded-* set, and
 * Expect (Node already answered 100-continue to the client; undici refuses it).
 */
const REWRITTEN_ON_REQUEST = new Set(["host", "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "expect"]);

const NO_TOKENS: ReadonlySet<string> = new Set();

/** Header names listed in a Connection header are hop-by-hop for that message too. */
function connectionTokens(value: string | string[] | undefined): ReadonlySet<string> {
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

export interface ForwardedFor {
  clientAddress: string;
  proto: "http" | "https";
  host: string | undefined;
  /** Pass the client's Host on (GATEWAY_PRESERVE_HOST) instead of letting the instance's address stand. */
  preserveHost?: boolean;
}

/**
 * The headers to send upstream, in one pass over the client's raw headers
 * (kept as a flat [name, value, ...] list so repeated headers stay repeated).
 */
export function upstreamRequestHeaders(rawHeaders: readonly string[], connection: string | string[] | undefined, fwd: ForwardedFor): string[] {
  const dropped = connectionTokens(connection);
  const out: string[] = [];
  let priorFor: string | undefined;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    const lower = name.toLowerCase();
    if (lower === "x-forwarded-for") {
      priorFor = priorFor === undefined ? rawHeaders[i + 1]! : `${priorFor}, ${rawHeaders[i + 1]!}`;
      continue;
    }
    if (lower === "host" && fwd.preserveHost === true) {
      out.push(name, rawHeaders[i + 1]!);
      continue;
    }
    if (lower === "te") {
      // TE is hop-by-hop, but "trailers" is how a gRPC-aware instance learns the client takes them;
      // transfer codings the client accepts are not passed: the gateway does not promise them upstream.
      if (acceptsTrailers(rawHeaders[i + 1])) out.push("te", "trailers");
      continue;
    }
    if (HOP_BY_HOP.has(lower) || REWRITTEN_ON_REQUEST.has(lower) || dropped.has(lower)) continue;
    out.push(name, rawHeaders[i + 1]!);
  }
  out.push("x-forwarded-for", priorFor === undefined ? fwd.clientAddress : `${priorFor}, ${fwd.clientAddress}`);
  out.push("x-forwarded-proto", fwd.proto);
  if (fwd.host !== undefined) out.push("x-forwarded-host", fwd.host);
  return out;
}

/** The upstream's response headers less the hop-by-hop ones. */
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
