/**
 * `Expect: 100-continue`: the client waits for an interim 100 before it sends
 * its body. Node sends one at once unless a 'checkContinue' listener takes
 * over; this one does, so that 100 Continue goes out only once the request is
 * known to be routable (service, path, instances) and within limits, from the
 * proxy handler (sendContinue). Refused requests get their final answer
 * instead, and the client never sends a body for nothing.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from "node:http";

const awaitingContinue = new WeakSet<IncomingMessage>();

/** The server's 'checkContinue' listener: hands the request to `handle` without a 100 yet. */
export function deferContinue(handle: RequestListener) {
  return function onCheckContinue(req: IncomingMessage, res: ServerResponse): void {
    awaitingContinue.add(req);
    handle(req, res);
  };
}

/** Sends the deferred 100 Continue, once; a no-op for a request that did not ask for one. */
export function sendContinue(req: IncomingMessage, res: ServerResponse): void {
  if (!awaitingContinue.delete(req)) return;
  if (!res.headersSent && !res.destroyed) res.writeContinue();
}
