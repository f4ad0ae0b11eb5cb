/**
 * Streams one request to one instance and its answer back. The request body is
 * piped, never buffered; the answer is piped to the client as it arrives.
 * Connections to each instance are kept alive in undici's per-origin pools.
 */
import { EventEmitter } from "node:events";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Readable } from "node:stream";
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

/**
 * An instance's origin URL, made once per instance object: the table's
 * instances are frozen and replaced on change, so a WeakMap keyed by them is
 * never stale and takes nothing from the request path but a lookup.
 */
const origins = new WeakMap<Instance, string>();
function originOf(instance: Instance): string {
  let origin = origins.get(instance);
  if (origin === undefined) {
    origin = `http://${instance.address.includes(":") ? `[${instance.address}]` : instance.address}:${instance.port}`;
    origins.set(instance, origin);
  }
  return origin;
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
    // undici accepts any EventEmitter as the abort signal. A plain emitter costs
    // far less than an AbortController, whose signal and DOMException showed in
    // the profile (bench/profile.ts).
    const abort = new EventEmitter();
    // The client went away before the answer finished: stop the upstream request too.
    const onClose = (): void => {
      if (!res.writableFinished) abort.emit("abort");
    };
    res.once("close", onClose);
    try {
      return await this.agent.request({
        origin: originOf(instance),
        path: upstreamPath,
        method: req.method as Dispatcher.HttpMethod,
        headers: upstreamRequestHeaders(req.rawHeaders, req.headers.connection, fwd),
        body,
        signal: abort,
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

  /**
   * Writes the upstream's status and headers and streams its body to the
   * client; resolves when the client's response is closed (done or cut).
   * A plain pipe, not stream.pipeline: pipeline builds an AbortController per
   * call and aborts it on finish, and the DOMException that creates cost ~12%
   * of the gateway's CPU in the profile. A client that leaves mid-body stops
   * the upstream through send()'s close listener.
   */
  relay(upstream: Dispatcher.ResponseData, res: ServerResponse): Promise<void> {
    if (res.destroyed) {
      // The client left between the instance's headers and now: its "close" is past, nothing to wait for.
      upstream.body.destroy();
      return Promise.resolve();
    }
    res.writeHead(upstream.statusCode, downstreamResponseHeaders(upstream.headers));
    const body = upstream.body;
    return new Promise((resolve) => {
      const onError = (err: Error): void => {
        // Headers are sent: the only honest signal left is a cut connection.
        debug("response stream broken: %s", err.message);
        res.destroy();
      };
      body.on("error", onError);
      res.once("close", () => {
        if (!body.destroyed && !res.writableFinished) body.destroy();
        resolve();
      });
      body.pipe(res);
    });
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}
