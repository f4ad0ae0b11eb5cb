/**
 * Trailer fields passed through (RFC 9110 §6.5). A trailer may not carry
 * what frames, routes or authenticates a message (§6.5.1): those are dropped
 * rather than passed, since a recipient that merged them into the header
 * section could be misled.
 */
export const NOT_IN_TRAILERS: ReadonlySet<string> = new Set([
  "proxy-connection",
  "content-length",
  "content-encoding",
  "content-type",
  "content-range",
  "transfer-encoding",
  "trailer",
  "te",
  "host",
  "connection",
  "keep-alive",
  "upgrade",
  "authorization",
  "proxy-authorization",
  "set-cookie",
  "cookie",
]);

/** The trailers of a message's raw [name, value, ...] list, as pairs for addTrailers(), less the forbidden ones. */
export function trailerPairs(rawTrailers: readonly string[]): [string, string][] {
  const pairs: [string, string][] = [];
  for (let i = 0; i < rawTrailers.length; i += 2) {
    if (!NOT_IN_TRAILERS.has(rawTrailers[i]!.toLowerCase())) pairs.push([rawTrailers[i]!, rawTrailers[i + 1]!]);
  }
  return pairs;
}

/** Whether the client's TE header accepts trailers: the one TE token the gateway passes on. */
export function acceptsTrailers(te: string | string[] | undefined): boolean {
  if (te === undefined) return false;
  for (const part of (Array.isArray(te) ? te.join(",") : te).split(",")) {
    if (part.split(";", 1)[0]!.trim().toLowerCase() === "trailers") return true;
  }
  return false;
}
