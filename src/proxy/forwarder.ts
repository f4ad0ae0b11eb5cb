/**
 * Streams one request to one instance and its answer back. The request body is
 * streamed, never buffered; the answer is written to the client as it arrives.
 * Connections to each instance are kept alive in undici's per-origin pools.
 */
import { EventEmitter } from "node:events";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Readable } from "node:stream";
import { Agent, type Dispatcher } from "undici";
import createDebug from "debug";
import type { Instance } from "../discovery/instance.js";
import { downstreamResponseHeaders, upstreamRequestHeaders, type ForwardedFor } from "./headers.js";
import { toGatewayError } from "./upstream-errors.js";
import { GatewayError } from "../errors.js";

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
   * Sends the request to the instance and streams its answer to `res` with
   * undici's stream(): undici writes the instance's body straight into the
   * client's response, with no Readable and no pipe between them, and the
   * split that decides retries (before or after the instance's headers) sits
   * in one call.
   *
   * Rejects with a GatewayError only when the attempt failed before the
   * instance's status line and headers arrived: that is the one case the
   * caller may retry elsewhere. Once they arrive, `onResponse` is called with
   * the status, the head is written, and the promise resolves when the
   * response is over, finished or cut (a body broken midway can only be
   * signalled by cutting the client's connection, which undici does).
   * `body` is null for a request without one.
   */
  async forward(
    req: IncomingMessage,
    res: ServerResponse,
    body: Readable | null,
    instance: Instance,
    upstreamPath: string,
    service: string,
    fwd: ForwardedFor,
    onResponse: (statusCode: number) => void,
  ): Promise<void> {
    // undici accepts any EventEmitter as the abort signal: a plain emitter is
    // lighter than an AbortController with its signal and DOMException.
    const abort = new EventEmitter();
    // The client went away before the instance answered: stop the upstream request too.
    // (After the head, undici sees the response close by itself and aborts.)
    const onClose = (): void => {
      if (!res.writableFinished) abort.emit("abort");
    };
    res.once("close", onClose);
    let answered = false;
    try {
      await this.agent.stream(
        {
          origin: originOf(instance),
          path: upstreamPath,
          method: req.method as Dispatcher.HttpMethod,
          headers: upstreamRequestHeaders(req.rawHeaders, req.headers.connection, fwd),
          body,
          signal: abort,
        },
        ({ statusCode, headers }) => {
          answered = true;
          onResponse(statusCode);
          // A response already closed is handed over as it is: undici sees it closed and aborts the upstream.
          if (!res.destroyed) res.writeHead(statusCode, downstreamResponseHeaders(headers));
          return res;
        },
      );
    } catch (err) {
      if (answered) {
        // Headers are sent: undici has cut the client's connection, the only honest signal left.
        debug("%s %s → %s:%d: response stream broken: %s", req.method, upstreamPath, instance.address, instance.port, (err as Error).message);
        return;
      }
      // A limit of the gateway's own (the body grew too large) is not the instance's failure.
      if (err instanceof GatewayError) throw err;
      // Nor is a client that stopped sending before its declared body was complete.
      if (req.readableAborted || req.errored) {
        throw new GatewayError("BAD_REQUEST", "the request body ended before it was complete", service, { cause: err });
      }
      debug("%s %s → %s:%d failed before headers: %s", req.method, upstreamPath, instance.address, instance.port, (err as Error).message);
      throw toGatewayError(err, service, instance.id);
    } finally {
      res.off("close", onClose);
    }
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}
