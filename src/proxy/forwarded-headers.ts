/**
 * The request headers an instance receives, built in one pass over the
 * client's raw headers (a flat [name, value, ...] list, so repeated headers
 * stay repeated), in the manner of Traefik's forwardedheaders middleware:
 *
 * - From a peer in GATEWAY_TRUSTED_PROXIES, the forwarded headers it sent are
 *   believed: X-Forwarded-For is extended with the peer's address, and
 *   X-Forwarded-Proto/-Host/-Port/-Prefix, X-Real-IP and Forwarded are kept.
 * - From any other peer, every forwarded header the client sent (Forwarded,
 *   X-Real-IP, every X-Forwarded-*) is dropped and replaced by what the
 *   gateway saw: the peer's address, the connection's scheme, the Host header
 *   and the port the request arrived on.
 * - Underscore variants (X_Forwarded_For, X-Forwarded_Host, X_Real_IP) are
 *   dropped whoever sends them: servers that fold '_' into '-' (nginx with
 *   underscores_in_headers, CGI, PHP) would read them as the real ones.
 * - Hop-by-hop headers and those a Connection header names are dropped, and
 *   only then are the gateway's own headers (request id, forwarded set)
 *   added, so that no `Connection: x-request-id` can remove them.
 * - With GATEWAY_FORWARDED, an RFC 7239 Forwarded element is appended too
 *   (to a trusted peer's chain, or alone).
 */
import type { IncomingMessage } from "node:http";
import { connectionTokens, HOP_BY_HOP } from "./headers.js";
import { requestHost, requestScheme } from "./h2-headers.js";
import { acceptsTrailers } from "./trailers.js";
import type { TrustedProxies } from "../trusted-proxies.js";

/**
 * The client's Host goes in X-Forwarded-Host (unless GATEWAY_PRESERVE_HOST);
 * Expect was answered by the gateway itself (100 Continue), and undici refuses it.
 */
const NEVER_COPIED: ReadonlySet<string> = new Set(["host", "expect"]);

/** Forwarded, X-Real-IP, any X-Forwarded-*; `lower` is a lowercase header name. */
function isForwardedHeader(lower: string): boolean {
  return lower === "forwarded" || lower === "x-real-ip" || lower.startsWith("x-forwarded-");
}

/** An underscore spelling of a forwarded header, which no client has a reason to send. */
function isUnderscoreVariant(lower: string): boolean {
  return lower.includes("_") && isForwardedHeader(lower.replaceAll("_", "-"));
}

/** What the gateway saw of one request, and what it may believe of the headers. */
export interface ForwardedFor {
  /** The peer's address as the socket reports it. */
  clientAddress: string;
  /** The scheme of the connection the request came on. */
  proto: "http" | "https";
  /** The client's Host header. */
  host: string | undefined;
  /** The local port the request arrived on. */
  port: number | undefined;
  /** The peer is in GATEWAY_TRUSTED_PROXIES. */
  trusted: boolean;
  /** Append an RFC 7239 Forwarded element (GATEWAY_FORWARDED). */
  emitForwarded: boolean;
  /** Pass the client's Host on (GATEWAY_PRESERVE_HOST) instead of letting the instance's address stand. */
  preserveHost: boolean;
  /** The request's id, set by the gateway after the hop-by-hop strip; undefined: none to set. */
  requestId: string | undefined;
}

export interface ForwardingPolicy {
  trustedProxies: TrustedProxies;
  emitForwarded: boolean;
  preserveHost: boolean;
}


/** What `req` carries for forwarding, under `policy`. */
export function forwardedFor(req: IncomingMessage, policy: ForwardingPolicy, requestIdHeader = "x-request-id"): ForwardedFor {
  const clientAddress = req.socket.remoteAddress ?? "unknown";
  const requestId = req.headers[requestIdHeader];
  return {
    clientAddress,
    proto: requestScheme(req),
    // Over HTTP/2 the client names the host in :authority.
    host: requestHost(req.headers),
    port: req.socket.localPort,
    trusted: policy.trustedProxies.trusts(req.socket.remoteAddress),
    emitForwarded: policy.emitForwarded,
    preserveHost: policy.preserveHost,
    requestId: typeof requestId === "string" ? requestId : undefined,
  };
}

/** A Forwarded parameter value: a token as it is, anything else quoted (RFC 7239 §4). */
function forwardedValue(value: string): string {
  return /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(value) ? value : `"${value.replace(/["\\]/g, "\\$&")}"`;
}

/** The gateway's own Forwarded element: for (IPv6 in brackets), host, proto. */
export function forwardedElement(fwd: ForwardedFor): string {
  const node = fwd.clientAddress.includes(":") ? `[${fwd.clientAddress}]` : fwd.clientAddress;
  const host = fwd.host === undefined ? "" : `;host=${forwardedValue(fwd.host)}`;
  return `for=${forwardedValue(node)}${host};proto=${fwd.proto}`;
}

/** The headers to send upstream. `requestIdHeader` is the gateway's own request id header (lowercase). */
export function upstreamRequestHeaders(rawHeaders: readonly string[], connection: string | string[] | undefined, fwd: ForwardedFor, requestIdHeader = "x-request-id"): string[] {
  const dropped = connectionTokens(connection);
  const out: string[] = [];
  let priorFor: string | undefined;
  let priorForwarded: string | undefined;
  /** Forwarded headers a trusted peer sent and that were kept: the gateway does not add its own then. */
  let kept: Set<string> | undefined;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    const value = rawHeaders[i + 1]!;
    const lower = name.toLowerCase();
    if (lower === "host") {
      if (fwd.preserveHost) out.push(name, value);
      continue;
    }
    if (lower === "te") {
      // TE is hop-by-hop, but "trailers" is how a gRPC-aware instance learns the client takes them;
      // transfer codings the client accepts are not passed: the gateway does not promise them upstream.
      if (acceptsTrailers(value)) out.push("te", "trailers");
      continue;
    }
    if (HOP_BY_HOP.has(lower) || NEVER_COPIED.has(lower) || dropped.has(lower)) continue;
    if (lower === requestIdHeader && fwd.requestId !== undefined) continue;
    if (isUnderscoreVariant(lower)) continue;
    if (isForwardedHeader(lower)) {
      if (!fwd.trusted) continue;
      if (lower === "x-forwarded-for") {
        priorFor = priorFor === undefined ? value : `${priorFor}, ${value}`;
        continue;
      }
      if (lower === "forwarded" && fwd.emitForwarded) {
        priorForwarded = priorForwarded === undefined ? value : `${priorForwarded}, ${value}`;
        continue;
      }
      (kept ??= new Set()).add(lower);
    }
    out.push(name, value);
  }
  // The gateway's own, after every strip above.
  if (fwd.requestId !== undefined) out.push(requestIdHeader, fwd.requestId);
  out.push("x-forwarded-for", priorFor === undefined ? fwd.clientAddress : `${priorFor}, ${fwd.clientAddress}`);
  if (!kept?.has("x-forwarded-proto")) out.push("x-forwarded-proto", fwd.proto);
  if (fwd.host !== undefined && !kept?.has("x-forwarded-host")) out.push("x-forwarded-host", fwd.host);
  if (fwd.port !== undefined && !kept?.has("x-forwarded-port")) out.push("x-forwarded-port", String(fwd.port));
  if (!kept?.has("x-real-ip")) out.push("x-real-ip", fwd.clientAddress);
  if (fwd.emitForwarded) {
    const element = forwardedElement(fwd);
    out.push("forwarded", priorForwarded === undefined ? element : `${priorForwarded}, ${element}`);
  }
  return out;
}
