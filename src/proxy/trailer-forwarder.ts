/**
 * Forwards a request that carries trailers (it declares them in a `Trailer`
 * header, as RFC 9110 §6.6.2 asks a sender to) with node:http, because undici
 * cannot send request trailers: its HTTP/1.1 writer ends a chunked body with
 * an empty last chunk and nothing after it. Everything else goes through the
 * undici Forwarder, which is faster; this path is the exception, taken only
 * when the client asked for it by declaring trailers.
 *
 * Same contract as Forwarder.forward: rejects with a GatewayError only before
 * the instance's status line and headers arrived (the caller may retry);
 * afterwards the answer, its trailers included, is streamed to `res`.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage, type ServerResponse } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import type { Readable } from "node:stream";
import createDebug from "debug";
import { GatewayError } from "../errors.js";
import type { Instance } from "../discovery/instance.js";
import { downstreamResponseHeaders } from "./headers.js";
import { upstreamRequestHeaders, type ForwardedFor } from "./forwarded-headers.js";
import { trailerPairs } from "./trailers.js";
import { instanceHost, instanceProtocol } from "./instance-protocol.js";
import { toGatewayError } from "./upstream-errors.js";

const debug = createDebug("gateway:proxy");

export interface TrailerForwarderOptions {
  upstreamTimeoutMs: number;
  upstreamCa: Buffer | undefined;
}

class ResponseTimeout extends Error {
  readonly code = "ETIMEDOUT";
}

export class TrailerForwarder {
  private readonly http = new HttpAgent({ keepAlive: true, keepAliveMsecs: 4_000 });
  private readonly https: HttpsAgent;

  constructor(private readonly options: TrailerForwarderOptions) {
    this.https = new HttpsAgent({ keepAlive: true, keepAliveMsecs: 4_000, ca: options.upstreamCa });
  }

  forward(
    req: IncomingMessage,
    res: ServerResponse,
    body: Readable | null,
    instance: Instance,
    upstreamPath: string,
    service: string,
    fwd: ForwardedFor,
    onResponse: (statusCode: number) => void,
  ): Promise<void> {
    const tls = instanceProtocol(instance) === "https";
    const headers = upstreamRequestHeaders(req.rawHeaders, req.headers.connection, fwd);
    // The body is re-chunked upstream, and the trailers it announces follow it.
    headers.push("transfer-encoding", "chunked");
    if (req.headers.trailer !== undefined) headers.push("trailer", req.headers.trailer);
    // node:http adds no Host of its own to headers given as a list: the instance's, unless the client's is kept.
    if (!headers.some((h, i) => i % 2 === 0 && h.toLowerCase() === "host")) headers.push("host", instanceHost(instance));
    const upstream = (tls ? httpsRequest : httpRequest)({
      host: instance.address,
      port: instance.port,
      method: req.method,
      path: upstreamPath,
      headers,
      agent: tls ? this.https : this.http,
    });
    upstream.setTimeout(this.options.upstreamTimeoutMs, () => upstream.destroy(new ResponseTimeout("no answer within the upstream timeout")));

    return new Promise<void>((resolve, reject) => {
      let answered = false;
      const onClientClose = (): void => {
        if (!res.writableFinished) upstream.destroy();
      };
      res.once("close", onClientClose);

      // `on`, not `once`: a reset after the head can follow an earlier error and must not go unhandled.
      upstream.on("error", (err) => {
        res.off("close", onClientClose);
        if (answered) {
          debug("%s %s → %s:%d: response stream broken: %s", req.method, upstreamPath, instance.address, instance.port, err.message);
          res.destroy();
          resolve();
          return;
        }
        if (err instanceof GatewayError) return reject(err);
        if (req.readableAborted || req.errored) {
          return reject(new GatewayError("BAD_REQUEST", "the request body ended before it was complete", service, { cause: err }));
        }
        reject(toGatewayError(err, service, instance));
      });

      upstream.once("response", (answer) => {
        answered = true;
        onResponse(answer.statusCode ?? 502);
        if (!res.destroyed) res.writeHead(answer.statusCode ?? 502, downstreamResponseHeaders(answer.headers));
        answer.pipe(res, { end: false });
        answer.once("end", () => {
          if (answer.rawTrailers.length > 0) res.addTrailers(trailerPairs(answer.rawTrailers));
          res.end();
        });
        answer.on("error", () => res.destroy());
        res.once("close", () => {
          res.off("close", onClientClose);
          resolve();
        });
      });

      if (body === null) {
        upstream.end();
        return;
      }
      body.pipe(upstream, { end: false });
      // The client's trailers are known once its body has ended.
      body.once("end", () => {
        if (req.rawTrailers.length > 0) upstream.addTrailers(trailerPairs(req.rawTrailers));
        upstream.end();
      });
      body.once("error", (err) => upstream.destroy(err));
    });
  }

  close(): void {
    this.http.destroy();
    this.https.destroy();
  }
}
