/**
 * Upgrade requests (WebSocket handshakes) go through the same Koa app as
 * every other request: request id, limits, routing (path, prefix and header
 * routes), balancing, retries, the JSON error answers, metrics and the access
 * log are the same code. Node hands an upgrade to the server's "upgrade"
 * event with the bare socket and no response object; this gives it one, on
 * that socket, so that the app can answer a refusal (404, 400, 502, ...) as
 * it answers any request, and remembers the socket and its first bytes for
 * the proxy handler, which switches the connection when the instance does.
 */
import { ServerResponse, type IncomingMessage, type Server } from "node:http";
import type { Socket } from "node:net";
import createDebug from "debug";

const debug = createDebug("gateway:upgrade");

export interface UpgradeRequest {
  readonly socket: Socket;
  /** What the client sent after its handshake, before any answer (often nothing). */
  readonly head: Buffer;
}

const upgrades = new WeakMap<IncomingMessage, UpgradeRequest>();

/** The upgrade this request asks for, when it came through the server's "upgrade" event. */
export function upgradeOf(req: IncomingMessage): UpgradeRequest | undefined {
  return upgrades.get(req);
}

export function handleUpgrades(server: Server, handle: (req: IncomingMessage, res: ServerResponse) => void): void {
  server.on("upgrade", (req: IncomingMessage, socket: Socket, head: Buffer) => {
    // Errors of a socket nobody reads yet (a client reset during routing) must not crash the process.
    socket.on("error", (err) => debug("upgrade socket: %s", err.message));
    const res = new ServerResponse(req);
    // An answer that is not a switch is the connection's last: it was never going to carry another request.
    res.shouldKeepAlive = false;
    res.assignSocket(socket);
    res.once("finish", () => socket.destroySoon());
    upgrades.set(req, { socket, head });
    handle(req, res);
  });
}
