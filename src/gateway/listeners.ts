/**
 * The proxy's listeners, all serving one request handler (the Koa app):
 * - plain HTTP/1.1 on GATEWAY_PORT; with GATEWAY_H2C=true the same port also
 *   takes HTTP/2 with prior knowledge: the first bytes of each connection are
 *   read, and a connection that opens with HTTP/2's preface goes to an HTTP/2
 *   server, any other to the HTTP/1.1 one (Node's http2.createServer has no
 *   allowHTTP1 for cleartext: it answers an HTTP/1.1 request with garbage);
 * - HTTPS on GATEWAY_HTTPS_PORT: HTTP/2 and HTTP/1.1 by ALPN on one port
 *   (http2.createSecureServer with allowHTTP1), TLS 1.2 at least,
 *   certificates from a CertificateStore (SNI, reload).
 * With `redirect`, the plain listener answers every request with a 308 to the
 * same URL over HTTPS instead.
 * Draining (see gateway.ts) is the same three steps for each: stop accepting,
 * ask idle connections to go (HTTP/2 sessions get a GOAWAY and finish their
 * streams), then cut what is left.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerOptions, type ServerResponse } from "node:http";
import { createServer as createH2Server, createSecureServer, type Http2SecureServer, type Http2Server, type Http2Session, type Http2Stream, type ServerHttp2Session } from "node:http2";
import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from "node:net";
import { once } from "node:events";
import type { Duplex } from "node:stream";
import createDebug from "debug";
import type { CertificateStore } from "./tls-certificates.js";

const debug = createDebug("gateway:listeners");

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;

export interface ListenerOptions {
  host: string;
  port: number;
  /** Undefined: no HTTPS listener. */
  httpsPort: number | undefined;
  certificates: CertificateStore | undefined;
  /** GATEWAY_TLS_RELOAD_MS: how often the certificate files are checked. */
  certificateReloadMs: number;
  h2c: boolean;
  /** Plain HTTP gets a 308 to HTTPS (needs httpsPort). */
  redirectToHttps: boolean;
  /** Node's HTTP/1.1 server options (header size, timeouts). */
  http1: ServerOptions;
  maxHeaderCount: number;
  maxHeaderBytes: number;
  headersTimeoutMs: number;
  /** GATEWAY_CLIENT_IDLE_TIMEOUT_MS: an HTTP/2 session with no stream open for this long is sent a GOAWAY. */
  idleTimeoutMs: number;
  onClientError: (err: Error & { code?: string }, socket: Duplex) => void;
  /**
   * Called with each server before it listens (the plain HTTP/1.1 one, the h2c one, the HTTPS one):
   * for the events Node emits on the server itself (upgrade, connect, checkContinue).
   */
  prepare?: (server: Server) => void;
}

export interface Listeners {
  readonly port: number;
  readonly httpsPort: number | undefined;
  /** The HTTP/1.1 server of the plain port. */
  readonly http1: Server;
  /** Stops accepting; resolves once every connection is closed. */
  close(): Promise<void>;
  /** Idle HTTP/1.1 connections are closed, HTTP/2 sessions are sent a GOAWAY. */
  closeIdleConnections(): void;
  closeAllConnections(): void;
}

/** HTTP/2's connection preface (RFC 9113 §3.4): what a prior-knowledge client sends first. */
const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

/**
 * HTTP/2 server settings matching the HTTP/1.1 limits: the header list size
 * is GATEWAY_MAX_HEADER_BYTES. Up to twice the header count limit (and the
 * pseudo-headers) is let in, so that requestLimits answers a request a little
 * over the limit with the same 431 as over HTTP/1.1; past that, nghttp2
 * resets the stream (ENHANCE_YOUR_CALM) before any of it is decoded into
 * objects.
 */
function h2Options(options: ListenerOptions) {
  return {
    maxHeaderListPairs: options.maxHeaderCount * 2 + 4,
    settings: { maxHeaderListSize: options.maxHeaderBytes },
    maxSessionMemory: 32,
  };
}

/** The plain port's answer under GATEWAY_HTTPS_REDIRECT: the same target, over HTTPS. */
export function redirectToHttps(port: () => number): RequestHandler {
  return (req, res) => {
    const httpsPort = port();
    const host = (req.headers.host ?? (req.headers[":authority"] as string | undefined) ?? "").replace(/:\d+$/, "");
    if (!/^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])$/.test(host)) {
      res.writeHead(400, { "content-type": "application/json; charset=utf-8" });
      res.end(JSON.stringify({ error: { code: "BAD_REQUEST", message: "a redirect to HTTPS needs a Host header naming this gateway" } }));
      return;
    }
    const location = `https://${host}${httpsPort === 443 ? "" : `:${httpsPort}`}${req.url ?? "/"}`;
    // 308, not 301: the method and body are kept, so a POST is repeated as a POST.
    res.writeHead(308, { location, "content-type": "text/plain; charset=utf-8" });
    res.end(`${location}\n`);
  };
}

class SessionTracker {
  readonly sessions = new Set<Http2Session>();

  constructor(private readonly idleTimeoutMs: number) {}

  add(session: ServerHttp2Session): void {
    this.sessions.add(session);
    session.once("close", () => this.sessions.delete(session));
    // A broken client session is that client's problem: logged, never thrown.
    session.on("error", (err) => debug("HTTP/2 session error: %s", err.message));
    // Node keeps an idle HTTP/2 session open for ever, where an idle HTTP/1.1 connection is closed after
    // keepAliveTimeout: without this, idle sessions would hold a descriptor each as long as clients like.
    // Idle means no stream open, so a quiet stream (an event stream, a gRPC watch) keeps its session. The
    // gateway's own timer, not session.setTimeout: that one counts frames and, once fired, is not armed
    // again by the frames of a response.
    let open = 0;
    let idle: NodeJS.Timeout | undefined;
    const armIdleTimer = (): void => {
      idle = setTimeout(() => {
        if (session.closed || session.destroyed) return;
        debug("HTTP/2 session idle for %d ms: GOAWAY", this.idleTimeoutMs);
        session.close();
      }, this.idleTimeoutMs).unref();
    };
    session.on("stream", (stream: Http2Stream) => {
      open += 1;
      clearTimeout(idle);
      stream.once("close", () => {
        open -= 1;
        if (open === 0) armIdleTimer();
      });
    });
    session.once("close", () => clearTimeout(idle));
    armIdleTimer();
  }

  goAway(): void {
    for (const session of this.sessions) if (!session.closed) session.close();
  }

  destroy(): void {
    for (const session of this.sessions) session.destroy();
  }
}

function listen(server: NetServer | Http2SecureServer, port: number, host: string): Promise<number> {
  server.listen(port, host);
  return once(server, "listening").then(() => (server.address() as AddressInfo).port);
}

function closed(server: NetServer | Http2SecureServer | Http2Server | Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

export async function startListeners(options: ListenerOptions, handler: RequestHandler): Promise<Listeners> {
  const sessions = new SessionTracker(options.idleTimeoutMs);
  // The port bound, which differs from the one asked for when that is 0.
  let boundHttpsPort = options.httpsPort ?? 443;
  const plainHandler = options.redirectToHttps && options.httpsPort !== undefined ? redirectToHttps(() => boundHttpsPort) : handler;

  const http1 = createHttpServer(options.http1, plainHandler);
  // One more than the limit, so that request-limits.ts can see the limit was passed and say so.
  http1.maxHeadersCount = options.maxHeaderCount + 1;
  http1.on("clientError", options.onClientError);
  options.prepare?.(http1);

  let h2c: Http2Server | undefined;
  let sniffer: NetServer | undefined;
  const sniffing = new Set<Socket>();
  if (options.h2c) {
    h2c = createH2Server(h2Options(options), plainHandler as never);
    h2c.on("session", (session: ServerHttp2Session) => sessions.add(session));
    // An HTTP/2 server emits checkContinue with compatible request and response objects.
    options.prepare?.(h2c as unknown as Server);
    // No Nagle: Node's HTTP/1.1 server turns it off for its own sockets, but HTTP/2 and TLS do not,
    // and a response's small frames would each wait for the client's delayed ACK (~40 ms).
    sniffer = createNetServer({ noDelay: true }, (socket) => {
      sniffing.add(socket);
      // A connection that sends nothing is not kept forever.
      socket.setTimeout(options.headersTimeoutMs, () => socket.destroy());
      socket.on("error", () => socket.destroy());
      let head = Buffer.alloc(0);
      const onReadable = (): void => {
        let chunk: Buffer | null;
        while ((chunk = socket.read() as Buffer | null) !== null) head = Buffer.concat([head, chunk]);
        const seen = Math.min(head.length, PREFACE.length);
        const isPreface = head.subarray(0, seen).equals(PREFACE.subarray(0, seen));
        // Undecided until the whole preface is in, or the bytes differ from it.
        if (isPreface && head.length < PREFACE.length) return;
        socket.off("readable", onReadable);
        socket.setTimeout(0);
        sniffing.delete(socket);
        socket.unshift(head);
        (isPreface ? h2c! : http1).emit("connection", socket);
      };
      socket.on("readable", onReadable);
    });
  }

  let secure: Http2SecureServer | undefined;
  if (options.httpsPort !== undefined && options.certificates !== undefined) {
    const certificates = options.certificates;
    secure = createSecureServer({ ...h2Options(options), ...certificates.serverOptions(), allowHTTP1: true }, handler as never);
    // The HTTP/1.1 connections of the HTTPS port are served by Node's HTTP/1.1 code, which reads these from the server.
    Object.assign(secure, {
      maxHeadersCount: options.maxHeaderCount + 1,
      headersTimeout: options.http1.headersTimeout,
      requestTimeout: options.http1.requestTimeout,
    });
    secure.on("session", (session: ServerHttp2Session) => sessions.add(session));
    secure.on("connection", (socket: Socket) => socket.setNoDelay(true));
    secure.on("tlsClientError", (err) => debug("TLS handshake failed: %s", err.message));
    secure.on("clientError", options.onClientError);
    // Its HTTP/1.1 connections are served by Node's HTTP/1.1 code, which emits upgrade and connect on this server.
    options.prepare?.(secure as unknown as Server);
    certificates.watch(options.certificateReloadMs, (fallback) => secure!.setSecureContext(fallback));
  }
  const tlsSockets = new Set<Duplex>();
  secure?.on("secureConnection", (socket: Duplex) => {
    tlsSockets.add(socket);
    socket.once("close", () => tlsSockets.delete(socket));
  });

  const started: (NetServer | Http2SecureServer)[] = [];
  try {
    const plain = sniffer ?? http1;
    const port = await listen(plain, options.port, options.host);
    started.push(plain);
    const httpsPort = secure === undefined ? undefined : await listen(secure, options.httpsPort!, options.host);
    if (secure !== undefined) started.push(secure);
    boundHttpsPort = httpsPort ?? boundHttpsPort;
    debug("listening on %s:%d%s%s", options.host, port, h2c ? " (HTTP/1.1 and h2c)" : "", httpsPort === undefined ? "" : `, HTTPS on ${httpsPort}`);
    return {
      port,
      httpsPort,
      http1,
      close: () => {
        const all: Promise<void>[] = [closed(http1)];
        if (sniffer) all.push(closed(sniffer));
        if (h2c) all.push(closed(h2c));
        if (secure) all.push(closed(secure));
        options.certificates?.close();
        return Promise.all(all).then(() => undefined);
      },
      closeIdleConnections: () => {
        http1.closeIdleConnections();
        for (const socket of sniffing) socket.destroy();
        sessions.goAway();
      },
      closeAllConnections: () => {
        http1.closeAllConnections();
        sessions.destroy();
        for (const socket of tlsSockets) socket.destroy();
      },
    };
  } catch (err) {
    await Promise.all(started.map((server) => closed(server)));
    options.certificates?.close();
    throw err;
  }
}
