/**
 * What changes when a request arrives over HTTP/2 or goes to an instance over
 * HTTP/2 (RFC 9113 §8.2-8.3): pseudo-headers are not headers, `:authority`
 * stands for Host, cookies may be split across fields, and connection-specific
 * fields are forbidden. headers.ts does the hop-by-hop and X-Forwarded-* work
 * for every request; this module only translates between the two framings.
 */
import type { IncomingHttpHeaders } from "node:http";
import { NOT_IN_TRAILERS } from "./trailers.js";

/**
 * An HTTP/2 request's raw headers as an HTTP/1.1 request would carry them:
 * no pseudo-headers, `:authority` as Host (unless the client also sent a
 * Host, which RFC 9113 lets it), and the cookie fields joined with "; " into
 * one (§8.2.3: an HTTP/1.1 instance expects a single Cookie header).
 */
export function http1RequestHeaders(rawHeaders: readonly string[]): string[] {
  const out: string[] = [];
  let authority: string | undefined;
  let hasHost = false;
  let cookie: string | undefined;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    const value = rawHeaders[i + 1]!;
    if (name.charCodeAt(0) === 58 /* ":" */) {
      if (name === ":authority") authority = value;
      continue;
    }
    const lower = name.toLowerCase();
    if (lower === "cookie") {
      cookie = cookie === undefined ? value : `${cookie}; ${value}`;
      continue;
    }
    if (lower === "host") hasHost = true;
    out.push(name, value);
  }
  if (!hasHost && authority !== undefined) out.push("host", authority);
  if (cookie !== undefined) out.push("cookie", cookie);
  return out;
}

/** The Host a request named: its Host header, or over HTTP/2 its `:authority`. */
export function requestHost(headers: IncomingHttpHeaders): string | undefined {
  return headers.host ?? (headers[":authority"] as string | undefined);
}

/** An instance's trailers as they may be passed on to the client (trailers.ts's rules, and no pseudo-headers); undefined when none remain. */
export function downstreamTrailers(trailers: IncomingHttpHeaders | null | undefined): Record<string, string | string[]> | undefined {
  if (trailers === null || trailers === undefined) return undefined;
  let out: Record<string, string | string[]> | undefined;
  for (const name in trailers) {
    const value = trailers[name];
    if (value === undefined || name.startsWith(":") || NOT_IN_TRAILERS.has(name)) continue;
    (out ??= {})[name] = value;
  }
  return out;
}

/**
 * The HTTP status a gRPC status stands for, as gRPC's own HTTP mapping
 * (google.rpc.Code) gives it: what the metrics' status class counts for a
 * gRPC call, whose HTTP status is 200 whatever the outcome.
 */
const GRPC_TO_HTTP: readonly number[] = [200, 499, 500, 400, 504, 404, 409, 403, 429, 400, 409, 400, 501, 500, 503, 500, 401];

export function httpStatusOfGrpc(grpcStatus: string | string[] | undefined): number | undefined {
  const raw = Array.isArray(grpcStatus) ? grpcStatus[0] : grpcStatus;
  if (raw === undefined || !/^\d{1,2}$/.test(raw)) return undefined;
  return GRPC_TO_HTTP[Number(raw)] ?? 500;
}

/**
 * The scheme the client used, from its connection (a TLSSocket is
 * `encrypted`; over HTTP/2, `req.socket` stands for the session's socket):
 * what X-Forwarded-Proto says. Never from a header the client could set.
 */
export function requestScheme(req: { socket: unknown }): "http" | "https" {
  return (req.socket as { encrypted?: boolean } | null)?.encrypted === true ? "https" : "http";
}

/**
 * Asks the client to close the connection after this answer (the unread rest
 * of a body need not be drained; a draining gateway wants clients elsewhere).
 * HTTP/1.1 says so with `Connection: close`; HTTP/2 forbids that header, and
 * the listener's GOAWAY does the same for a whole session.
 */
export function askToCloseConnection(req: { httpVersionMajor: number }, res: { setHeader(name: string, value: string): unknown }): void {
  if (req.httpVersionMajor < 2) res.setHeader("Connection", "close");
}
