/**
 * Forwards an HTTP/1.1 upgrade (a WebSocket handshake) to one instance and,
 * once the instance switches protocols, pipes bytes both ways until either
 * side closes. The gateway never reads the frames: what it carries is opaque.
 *
 * The split that decides retries is the same as the forwarder's: a failure
 * before the instance answered rejects with a GatewayError the caller may
 * retry elsewhere; once the instance answered, the attempt is the client's.
 * An answer other than 101 is relayed as an ordinary response and the
 * connection closed after it, so a refused upgrade is never a silent close.
 */
import { request as httpRequest, type ClientRequest, type IncomingMessage, type ServerResponse } from "node:http";
import { request as httpsRequest } from "node:https";
import { isIP, type Socket } from "node:net";
import createDebug from "debug";
import type { Instance } from "../discovery/instance.js";
import { downstreamResponseHeaders } from "./headers.js";
import { upstreamRequestHeaders, type ForwardedFor } from "./forwarded-headers.js";
import { instanceHost, instanceProtocol } from "./instance-protocol.js";
import { toGatewayError } from "./upstream-errors.js";

const debug = createDebug("gateway:upgrade");

export interface UpgradeForwarderOptions {
  /** Longest wait for the instance's answer to the handshake (connecting included). */
  handshakeTimeoutMs: number;
  /** An upgraded connection with no bytes either way for this long is closed (0: never). */
  idleTimeoutMs: number;
  /** CA certificates for instances that serve HTTPS (GATEWAY_UPSTREAM_CA); undefined: the system's. */
  upstreamCa: Buffer | undefined;
}

/** One upgraded connection, open between a client and an instance. */
export interface Tunnel {
  readonly service: string;
  readonly instanceId: string;
  /** Bytes sent to the client after the switch, the 101 head excluded. */
  readonly bytesToClient: number;
  /** Cuts both sides now. */
  destroy(): void;
}

export type UpgradeOutcome =
  /** The instance answered without switching; its answer went to the client through `res`. */
  | { switched: false; status: number }
  /** The connection was upgraded and has closed since; `bytesToClient` as in Tunnel. */
  | { switched: true; status: 101; bytesToClient: number };

export interface UpgradeAttempt {
  req: IncomingMessage;
  /** The response on the client's socket, for answers that are not a switch. */
  res: ServerResponse;
  socket: Socket;
  /** Bytes the client sent after its handshake, before the switch. */
  head: Buffer;
  instance: Instance;
  upstreamPath: string;
  service: string;
  fwd: ForwardedFor;
  /** Headers the gateway adds to the 101 it relays (the request id). */
  extraHeaders: Readonly<Record<string, number | string | readonly string[]>>;
  /** Called once the instance answered (101 or not), before anything is written to the client. */
  onAnswer: (status: number) => void;
  /** Called once the connection is upgraded, with its tunnel; it stays open until the returned promise settles. */
  onTunnel?: (tunnel: Tunnel) => void;
}

/** Thrown into a handshake that took too long; failureCode() reads the code. */
class HandshakeTimeout extends Error {
  constructor(readonly code: "UND_ERR_CONNECT_TIMEOUT" | "ETIMEDOUT") {
    super(code === "ETIMEDOUT" ? "no answer to the upgrade within the handshake timeout" : "no connection within the handshake timeout");
  }
}

/** How long one side of a tunnel may stay open after the other closed, to take what is still on its way. */
const LINGER_MS = 5_000;

/** The head of the 101 as one string: the instance's status line and headers (hop-by-hop ones included: they are the switch). */
function switchHead(res: IncomingMessage, extra: UpgradeAttempt["extraHeaders"]): string {
  let head = `HTTP/1.1 101 ${res.statusMessage || "Switching Protocols"}\r\n`;
  const raw = res.rawHeaders;
  const present = new Set<string>();
  for (let i = 0; i < raw.length; i += 2) {
    present.add(raw[i]!.toLowerCase());
    head += `${raw[i]}: ${raw[i + 1]}\r\n`;
  }
  for (const [name, value] of Object.entries(extra)) {
    if (present.has(name.toLowerCase())) continue;
    for (const v of Array.isArray(value) ? value : [value]) head += `${name}: ${String(v)}\r\n`;
  }
  return head + "\r\n";
}

export class UpgradeForwarder {
  private readonly tunnels = new Set<Tunnel>();
  private readonly perService = new Map<string, number>();

  constructor(private readonly options: UpgradeForwarderOptions) {}

  /** Upgraded connections open now. */
  get open(): ReadonlySet<Tunnel> {
    return this.tunnels;
  }

  /** Upgraded connections open now to the instances of `service`. */
  openTo(service: string): number {
    return this.perService.get(service) ?? 0;
  }

  /** Cuts every upgraded connection (the end of a drain). */
  destroyAll(): void {
    for (const tunnel of [...this.tunnels]) tunnel.destroy();
  }

  forward(attempt: UpgradeAttempt): Promise<UpgradeOutcome> {
    const { req, instance, upstreamPath, fwd } = attempt;
    const tls = instanceProtocol(instance) === "https";
    const headers = upstreamRequestHeaders(req.rawHeaders, req.headers.connection, fwd);
    // upstreamRequestHeaders drops the hop-by-hop Connection and Upgrade: here they are the point.
    headers.push("connection", "Upgrade", "upgrade", String(req.headers.upgrade));
    // node:http adds no Host of its own to headers given as a list: the instance's, unless the client's is kept.
    if (!headers.some((h, i) => i % 2 === 0 && h.toLowerCase() === "host")) headers.push("host", instanceHost(instance));
    const upstream: ClientRequest = (tls ? httpsRequest : httpRequest)({
      host: instance.address,
      port: instance.port,
      method: req.method,
      path: upstreamPath,
      headers,
      // An upgraded connection is never given back to a pool.
      agent: false,
      ...(tls ? { ca: this.options.upstreamCa, servername: isIP(instance.address) === 0 ? instance.address : undefined } : {}),
    });

    return new Promise<UpgradeOutcome>((resolve, reject) => {
      let answered = false;
      let connected = false;
      const timer = setTimeout(() => {
        upstream.destroy(new HandshakeTimeout(connected ? "ETIMEDOUT" : "UND_ERR_CONNECT_TIMEOUT"));
      }, this.options.handshakeTimeoutMs);
      upstream.once("socket", (s: Socket) => {
        if (!s.connecting) connected = true;
        else s.once(tls ? "secureConnect" : "connect", () => (connected = true));
      });
      // The client gave up while the handshake was on its way.
      const onClientClose = (): void => {
        if (!answered) upstream.destroy(new Error("the client closed before the instance answered"));
      };
      attempt.socket.once("close", onClientClose);
      const settle = (): void => {
        clearTimeout(timer);
        attempt.socket.off("close", onClientClose);
      };

      // `on`, not `once`: a second error (a reset while a refusal's body streams) must not go unhandled.
      upstream.on("error", (err) => {
        settle();
        if (answered) return;
        debug("upgrade %s → %s:%d failed before an answer: %s", upstreamPath, instance.address, instance.port, err.message);
        reject(toGatewayError(err, attempt.service, instance));
      });

      upstream.once("response", (answer) => {
        // The instance refused the upgrade: its answer is the client's, then the connection ends.
        answered = true;
        settle();
        attempt.onAnswer(answer.statusCode ?? 502);
        const { res } = attempt;
        res.shouldKeepAlive = false;
        if (!res.destroyed) res.writeHead(answer.statusCode ?? 502, downstreamResponseHeaders(answer.headers));
        answer.pipe(res);
        answer.on("error", () => res.destroy());
        res.once("close", () => {
          answer.destroy();
          resolve({ switched: false, status: answer.statusCode ?? 502 });
        });
      });

      upstream.once("upgrade", (answer, instanceSocket, instanceHead) => {
        answered = true;
        settle();
        attempt.onAnswer(101);
        const client = attempt.socket;
        if (client.destroyed) {
          instanceSocket.destroy();
          resolve({ switched: true, status: 101, bytesToClient: 0 });
          return;
        }
        client.write(switchHead(answer, attempt.extraHeaders));
        const tunnel = this.pipe(attempt, client, instanceSocket, instanceHead, () => {
          this.tunnels.delete(tunnel);
          const left = (this.perService.get(attempt.service) ?? 1) - 1;
          if (left === 0) this.perService.delete(attempt.service);
          else this.perService.set(attempt.service, left);
          resolve({ switched: true, status: 101, bytesToClient: tunnel.bytesToClient });
        });
        this.tunnels.add(tunnel);
        this.perService.set(attempt.service, (this.perService.get(attempt.service) ?? 0) + 1);
        attempt.onTunnel?.(tunnel);
      });

      upstream.end();
    });
  }

  /** Pipes both ways; `onClosed` runs once, when both sockets are closed. */
  private pipe(attempt: UpgradeAttempt, client: Socket, instance: Socket, instanceHead: Buffer, onClosed: () => void): Tunnel {
    let bytesToClient = 0;
    const tunnel: Tunnel = {
      service: attempt.service,
      instanceId: attempt.instance.id,
      get bytesToClient() {
        return bytesToClient;
      },
      destroy() {
        client.destroy();
        instance.destroy();
      },
    };
    for (const socket of [client, instance]) {
      socket.setNoDelay(true);
      // Both sockets see every byte (one reads it, the other writes it), so either one's idle timer is the tunnel's.
      if (this.options.idleTimeoutMs > 0) socket.setTimeout(this.options.idleTimeoutMs, () => {
        debug("upgraded connection to %s idle for %d ms: closed", attempt.instance.id, this.options.idleTimeoutMs);
        tunnel.destroy();
      });
      else socket.setTimeout(0);
      // A reset on one side (an instance killed, a client gone) cuts the other: nothing more can pass.
      socket.on("error", (err) => {
        debug("upgraded connection to %s: %s", attempt.instance.id, err.message);
        tunnel.destroy();
      });
    }
    instance.on("data", (chunk: Buffer) => (bytesToClient += chunk.length));
    if (instanceHead.length > 0) {
      bytesToClient += instanceHead.length;
      client.write(instanceHead);
    }
    if (attempt.head.length > 0) instance.write(attempt.head);
    // pipe() ends the other side when one side ends, so a half-close passes through.
    client.pipe(instance);
    instance.pipe(client);
    let open = 2;
    const onClose = (other: Socket) => (hadError: boolean): void => {
      if (hadError) other.destroy();
      else if (!other.destroyed) {
        // What is still buffered for the other side may leave; a peer that never closes is cut after a while.
        other.end();
        setTimeout(() => other.destroy(), LINGER_MS).unref();
      }
      if (--open === 0) onClosed();
    };
    client.once("close", onClose(instance));
    instance.once("close", onClose(client));
    return tunnel;
  }
}
