/**
 * Streams one request to one instance and its answer back. The request body is
 * piped, never buffered; the answer is piped to the client as it arrives.
 * Connections to each instance are kept alive in undici's per-origin pools.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { Agent, type Dispatcher } from "undici";
import createDebug from "debug";
import type { Instance } from "../routing/instance.js";
import { downstreamResponseHeaders, upstreamRequestHeaders, type ForwardedFor } from "./headers.js";
import { toGatewayError } from "./upstream-errors.js";
import { GatewayError } from "../gateway/errors.js";

const debug = createDebug("gateway:proxy");

export interface ForwarderOptions {
  /** Longest wait for response headers and between body chunks. */
  upstreamTimeoutMs: number;
}

export class Forwarder {
  private readonly agent: Agent;

  constructor(options: ForwarderOptions) {
    this.agent = new Agent({
      keepAliveTimeout: 4_000,
      headersTimeout: options.upstreamTimeoutMs,
      bodyTimeout: options.upstreamTimeoutMs,
      connect: { timeout: Math.min(options.upstreamTimeoutMs, 10_000) },
    });
  }

  /**
   * Sends the request and resolves with the instance's response once its
   * headers arrive; throws a GatewayError before that. The caller writes the
   * head and pipes the body with `relay`. `body` is null for a request without one.
   */
  async send(req: IncomingMessage, res: ServerResponse, body: Readable | null, instance: Instance, upstreamPath: string, service: string, fwd: ForwardedFor): Promise<Dispatcher.ResponseData> {
    const abort = new AbortController();
    // The client went away before the answer finished: stop the upstream request too.
    const onClose = (): void => {
      if (!res.writableFinished) abort.abort();
    };
    res.once("close", onClose);
    try {
      return await this.agent.request({
        origin: `http://${instance.address.includes(":") ? `[${instance.address}]` : instance.address}:${instance.port}`,
        path: upstreamPath,
        method: req.method as Dispatcher.HttpMethod,
        headers: upstreamRequestHeaders(req.rawHeaders, req.headers.connection, fwd),
        body,
        signal: abort.signal,
      });
    } catch (err) {
      res.off("close", onClose);
      // A limit of the gateway's own (the body grew too large) is not the instance's failure.
      if (err instanceof GatewayError) throw err;
      // Nor is a client that stopped sending before its declared body was complete.
      if (req.readableAborted || req.errored) {
        throw new GatewayError("BAD_REQUEST", "the request body ended before it was complete", service, { cause: err });
      }
      debug("%s %s → %s:%d failed before headers: %s", req.method, upstreamPath, instance.address, instance.port, (err as Error).message);
      throw toGatewayError(err, service, instance.id);
    }
  }

  /** Writes the upstream's status and headers and streams its body to the client. */
  async relay(upstream: Dispatcher.ResponseData, res: ServerResponse): Promise<void> {
    res.writeHead(upstream.statusCode, downstreamResponseHeaders(upstream.headers));
    try {
      await pipeline(upstream.body, res);
    } catch (err) {
      // Headers are sent: the only honest signal left is a cut connection.
      debug("response stream broken: %s", (err as Error).message);
      res.destroy();
    }
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}
