/**
 * Methods the gateway does not proxy, answered in the gateway's JSON error
 * shape with 405 rather than forwarded or dropped:
 * - CONNECT asks the gateway to open a tunnel to any host:port: it is not a
 *   forward proxy. Node's HTTP/1.1 server hands CONNECT to a 'connect'
 *   listener (with none, it closes the socket without a word), so it is
 *   answered there, on the raw socket.
 * - TRACE echoes the request back, cookies and credentials included
 *   (cross-site tracing); no instance behind an edge needs it from the internet.
 */
import { STATUS_CODES, type IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import type { Context, Next } from "koa";
import createDebug from "debug";
import { GatewayError } from "../errors.js";

const debug = createDebug("gateway:client");

export const REFUSED_METHODS: ReadonlySet<string> = new Set(["CONNECT", "TRACE"]);

const ALLOW = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS";

function methodNotAllowed(method: string): GatewayError {
  return new GatewayError("METHOD_NOT_ALLOWED", `the gateway does not proxy ${method} requests`);
}

/** One line per refused request, for the access log and the metrics (the Koa chain never sees CONNECT). */
export type RefusedRequestLog = (entry: { method: string; path: string; status: number; error: string }) => void;

/** The server's 'connect' listener: a JSON 405, logged, and the connection closed. */
export function refuseConnect(log: RefusedRequestLog) {
  return function answerConnect(req: IncomingMessage, socket: Duplex): void {
    const error = methodNotAllowed("CONNECT");
    debug("refused CONNECT %s from %s", (req.url ?? "").slice(0, 200), req.socket.remoteAddress);
    log({ method: "CONNECT", path: req.url ?? "", status: error.status, error: error.code });
    if (!socket.writable) {
      socket.destroy();
      return;
    }
    const body = JSON.stringify(error.toJSON());
    socket.end(
      `HTTP/1.1 ${error.status} ${STATUS_CODES[error.status]}\r\nAllow: ${ALLOW}\r\n` +
        `Content-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  };
}

/** The Koa side: TRACE (and CONNECT where a protocol delivers it as a request, as HTTP/2 does). */
export async function refuseMethods(ctx: Context, next: Next): Promise<void> {
  if (REFUSED_METHODS.has(ctx.method)) {
    ctx.set("Allow", ALLOW);
    throw methodNotAllowed(ctx.method);
  }
  await next();
}
