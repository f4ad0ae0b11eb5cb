import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";

export const REQUEST_ID_HEADER = "x-request-id";

/**
 * A client's id is kept when it is one token of visible ASCII up to 128
 * characters (what tracing systems send); anything else (spaces, control
 * characters, several values) would let a client forge or break log lines,
 * and is replaced.
 */
const ACCEPTED = /^[\x21-\x7e]{1,128}$/;

/**
 * The request's id: the client's X-Request-Id when acceptable, a new UUID
 * otherwise. A new id is written into the request's own headers, so the
 * forwarder, which copies the client's raw headers, passes it upstream like
 * any other header and needs no knowledge of it.
 */
export function ensureRequestId(req: IncomingMessage): string {
  const given = req.headers[REQUEST_ID_HEADER];
  if (typeof given === "string" && ACCEPTED.test(given)) return given;

  const id = randomUUID();
  if (given !== undefined) {
    const raw = req.rawHeaders;
    for (let i = raw.length - 2; i >= 0; i -= 2) {
      if (raw[i]!.toLowerCase() === REQUEST_ID_HEADER) raw.splice(i, 2);
    }
  }
  req.rawHeaders.push(REQUEST_ID_HEADER, id);
  req.headers[REQUEST_ID_HEADER] = id;
  return id;
}
