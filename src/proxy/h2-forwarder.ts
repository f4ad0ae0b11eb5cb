/**
 * Forwards to instances that speak HTTP/2 without TLS (h2c, prior knowledge):
 * gRPC servers above all (instance-protocol.ts says which instances do).
 *
 * Built on node:http2, one session (connection) per instance with the
 * requests multiplexed on it, not on undici's H2CClient, which was tried
 * first: with undici 7.30 its HTTP/2 client completed gRPC responses with
 * empty trailers (its stream 'end' handler calls onComplete({}) before the
 * 'trailers' event), so grpc-js clients failed every call with "13 INTERNAL:
 * Received RST_STREAM with code 0 (Call ended without gRPC status)"; and it
 * cannot send request trailers at all (client-h2.js: "add support for
 * sending trailers"). node:http2 gives both, and the stream's own events.
 */
import { connect, constants, type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders, type IncomingHttpStatusHeader, type OutgoingHttpHeaders } from "node:http2";
import type { IncomingMessage, ServerResponse } from "node:http";
import { connect as netConnect } from "node:net";
import type { Readable } from "node:stream";
import createDebug from "debug";
import type { Instance } from "../discovery/instance.js";
import { GatewayError } from "../errors.js";
import { downstreamResponseHeaders } from "./headers.js";
import { upstreamRequestHeaders, type ForwardedFor } from "./forwarded-headers.js";
import { downstreamTrailers, http1RequestHeaders } from "./h2-headers.js";
import { toGatewayError } from "./upstream-errors.js";
import type { ForwarderOptions } from "./forwarder.js";

const debug = createDebug("gateway:proxy");


/** An idle session to an instance is closed after this long. */
const SESSION_IDLE_MS = 60_000;

function codedError(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

/** The request's headers for an HTTP/2 instance: an object, pseudo-headers first, repeated fields as arrays. */
function toHttp2Headers(flat: readonly string[], method: string, path: string): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = { ":method": method, ":path": path, ":scheme": "http" };
  for (let i = 0; i < flat.length; i += 2) {
    const name = flat[i]!.toLowerCase();
    const value = flat[i + 1]!;
    if (name === "host") {
      headers[":authority"] = value;
      continue;
    }
    const prior = headers[name];
    headers[name] = prior === undefined ? value : Array.isArray(prior) ? [...prior, value] : [String(prior), value];
  }
  return headers;
}

const GRPC_STATUS_FIELDS = ["grpc-status", "grpc-message", "grpc-status-details-bin"];

/** Takes gRPC's status fields out of `headers`; returns them, or undefined when there are none. */
function moveGrpcStatus(headers: Record<string, string | string[]>): Record<string, string | string[]> | undefined {
  let moved: Record<string, string | string[]> | undefined;
  for (const name of GRPC_STATUS_FIELDS) {
    const value = headers[name];
    if (value === undefined) continue;
    (moved ??= {})[name] = value;
    delete headers[name];
  }
  return moved;
}

export class H2cForwarder {
  private readonly sessions = new Map<string, ClientHttp2Session>();
  private readonly connectTimeoutMs: number;

  constructor(private readonly options: ForwarderOptions) {
    this.connectTimeoutMs = Math.min(options.connectTimeoutMs, options.upstreamTimeoutMs);
  }

  /** The open session to `origin`, or a new one; a session that fails or is told to go away is forgotten. */
  private session(origin: string): ClientHttp2Session {
    const open = this.sessions.get(origin);
    if (open !== undefined && !open.closed && !open.destroyed) return open;
    const { hostname, port } = new URL(origin);
    // No Nagle, as undici does for HTTP/1.1: gRPC's small frames must not wait for delayed ACKs.
    debug("h2c session to %s: connecting", origin);
    const session = connect(origin, { createConnection: () => netConnect({ host: hostname.replace(/^\[|\]$/g, ""), port: Number(port), noDelay: true }) });
    const forget = (): void => {
      if (this.sessions.get(origin) === session) this.sessions.delete(origin);
    };
    const connectTimer = setTimeout(() => session.destroy(codedError(`connect timeout after ${this.connectTimeoutMs} ms`, "UND_ERR_CONNECT_TIMEOUT")), this.connectTimeoutMs);
    session.once("connect", () => clearTimeout(connectTimer));
    session.once("close", () => {
      clearTimeout(connectTimer);
      forget();
    });
    session.once("goaway", forget);
    // The streams on it get the error too; the session's own is only worth a debug line.
    session.on("error", (err) => debug("h2c session to %s: %s", origin, err.message));
    session.setTimeout(SESSION_IDLE_MS, () => session.close());
    this.sessions.set(origin, session);
    return session;
  }

  /**
   * As Forwarder.forward: rejects with a GatewayError only when the attempt
   * failed before the instance's headers arrived; once they did, the answer
   * is streamed and the promise resolves when it is over, finished or cut.
   * A response broken midway resets the client's stream (HTTP/2) or cuts its
   * connection (HTTP/1.1). `onGrpcStatus` sees the `grpc-status` the instance
   * ended with, in its headers (a trailers-only answer) or its trailers.
   * The client's request trailers are passed on when it announced them (a Trailer header).
   */
  forward(
    req: IncomingMessage,
    res: ServerResponse,
    body: Readable | null,
    instance: Instance,
    upstreamPath: string,
    service: string,
    fwd: ForwardedFor,
    onResponse: (statusCode: number) => void,
    onGrpcStatus: (grpcStatus: string) => void = () => {},
  ): Promise<void> {
    const raw = req.httpVersionMajor >= 2 ? http1RequestHeaders(req.rawHeaders) : req.rawHeaders;
    // TE: trailers is among them when the client sent it: the one way a gRPC server learns that the path to it carries trailers.
    const flat = upstreamRequestHeaders(raw, req.headers.connection, fwd);
    const headers = toHttp2Headers(flat, req.method ?? "GET", upstreamPath);
    const authority = `${instance.address.includes(":") ? `[${instance.address}]` : instance.address}:${instance.port}`;
    headers[":authority"] ??= authority;

    return new Promise<void>((resolve, reject) => {
      let answered = false;
      let settled = false;
      let stream: ClientHttp2Stream;
      try {
        stream = this.session(`http://${authority}`).request(headers, {
          endStream: body === null,
          // Waiting for trailers ends every request with an extra empty DATA frame after a 'wantTrailers'
          // round: only for a client that announced request trailers (a Trailer header, RFC 9110
          // §6.6.2). gRPC clients send none.
          waitForTrailers: body !== null && req.headers.trailer !== undefined,
        });
      } catch (err) {
        reject(toGatewayError(err, service, instance));
        return;
      }
      const onClientClose = (): void => {
        if (!res.writableFinished && !stream.destroyed) stream.close(constants.NGHTTP2_CANCEL);
      };
      res.once("close", onClientClose);
      const settle = (err?: unknown): void => {
        if (settled) return;
        settled = true;
        res.off("close", onClientClose);
        body?.unpipe(stream);
        if (err === undefined) {
          resolve();
        } else if (answered) {
          debug("%s %s → %s (h2c): response stream broken: %s", req.method, upstreamPath, instance.id, (err as Error).message);
          // Headers are out: resetting the client's stream (or connection) is the only honest signal left.
          if (!res.writableFinished) res.destroy(err as Error);
          if (!stream.destroyed) stream.close(constants.NGHTTP2_CANCEL);
          resolve();
        } else {
          if (!stream.destroyed) stream.close(constants.NGHTTP2_CANCEL);
          if (err instanceof GatewayError) reject(err);
          else if (req.readableAborted || req.errored) reject(new GatewayError("BAD_REQUEST", "the request body ended before it was complete", service, { cause: err }));
          else {
            debug("%s %s → %s (h2c) failed before headers: %s", req.method, upstreamPath, instance.id, (err as Error).message);
            reject(toGatewayError(err, service, instance));
          }
        }
      };

      // Until the headers: the headers timeout; after them: the longest pause between chunks.
      stream.setTimeout(this.options.upstreamTimeoutMs, () => {
        settle(answered ? codedError("body timeout", "UND_ERR_BODY_TIMEOUT") : codedError(`no response headers within ${this.options.upstreamTimeoutMs} ms`, "UND_ERR_HEADERS_TIMEOUT"));
      });
      if (body !== null) {
        body.once("error", (err) => settle(err));
        stream.once("wantTrailers", () => {
          const trailers = downstreamTrailers((req as unknown as { trailers?: IncomingHttpHeaders }).trailers);
          // Without trailers Node ends the stream with an empty DATA frame instead.
          stream.sendTrailers(trailers ?? {});
        });
        // Not a byte is read from the client before the stream is open: a session that fails to
        // connect leaves the body whole, so the attempt can be retried on another instance.
        if (stream.pending) stream.once("ready", () => body.pipe(stream));
        else body.pipe(stream);
      }
      stream.once("response", (responseHeaders: IncomingHttpHeaders & IncomingHttpStatusHeader) => {
        answered = true;
        const statusCode = Number(responseHeaders[":status"]);
        onResponse(statusCode);
        const grpcStatus = responseHeaders["grpc-status"];
        if (typeof grpcStatus === "string") onGrpcStatus(grpcStatus);
        if (res.destroyed) return;
        const passed = downstreamResponseHeaders(responseHeaders);
        delete passed[":status"];
        if (grpcStatus !== undefined && req.httpVersionMajor >= 2) {
          // A status in the headers is gRPC's trailers-only answer (an immediate error), which must
          // end in the frame that carries it; the compatibility API cannot send a HEADERS frame with
          // END_STREAM, so the status fields go out as trailers after the headers: the same answer to gRPC.
          const moved = moveGrpcStatus(passed);
          if (moved !== undefined) res.addTrailers(moved);
        }
        res.writeHead(statusCode, passed);
        stream.pipe(res, { end: false });
      });
      stream.once("trailers", (trailers: IncomingHttpHeaders) => {
        const grpcStatus = trailers["grpc-status"];
        if (typeof grpcStatus === "string") onGrpcStatus(grpcStatus);
        const passed = downstreamTrailers(trailers);
        if (passed !== undefined && !res.destroyed) res.addTrailers(passed);
      });
      stream.once("end", () => {
        if (!answered) return settle(codedError("the instance ended the stream without a response", "UND_ERR_SOCKET"));
        if (!res.destroyed) res.end();
        settle();
      });
      stream.once("error", (err) => settle(err));
      stream.once("close", () => {
        if (settled) return;
        // Closed without 'end': a reset by the instance, or its connection gone.
        settle(codedError(`the instance closed the stream (HTTP/2 code ${stream.rstCode})`, stream.rstCode === constants.NGHTTP2_REFUSED_STREAM ? "ECONNRESET" : "UND_ERR_SOCKET"));
      });
    });
  }

  close(): Promise<void> {
    const closing = [...this.sessions.values()].map((session) => new Promise<void>((resolve) => session.close(() => resolve())));
    this.sessions.clear();
    return Promise.all(closing).then(() => undefined);
  }
}
