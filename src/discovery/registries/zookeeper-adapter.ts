/**
 * The one place that touches node-zookeeper-client. The package ships no
 * types, so this adapter declares the narrow shape it uses, casts once, here,
 * and turns the callbacks into promises.
 *
 * What the rest of the code must know about the client, said once:
 * - A watch is one-shot. The client keeps, per path and kind, a set of
 *   watcher functions and skips a function that is already registered, so
 *   re-arming with the same function never adds a second watcher.
 * - A read that fails (a lost connection) arms no watch.
 * - After a reconnection within the session the client re-sends its watches
 *   (SetWatches), and the server fires those whose node changed meanwhile.
 * - An expired session is final: the client stops, its watches and ephemeral
 *   nodes are gone, and only a new client (a new session) can go on.
 *
 * Gaps of the client (1.1.3, the latest) that this adapter closes:
 * - It waits for the answer to its handshake without a bound (see
 *   guardHandshake below): one connection that a server accepts and never
 *   answers, as a restarting server does, left it stuck for good.
 * - Closed during a handshake, it sends its close request at once and then
 *   reads the handshake's answer as the reply to it, and throws where no one
 *   can catch it (see close()).
 * - When its session expires while it is disconnected, it never answers the
 *   requests it had queued meanwhile: this adapter rejects them then, so that
 *   every promise it returns settles.
 */
import { createRequire } from "node:module";
import type { Socket } from "node:net";
import createDebug from "debug";

const debug = createDebug("gateway:zookeeper");

/** The fields of ZooKeeper's Stat this gateway reads; zxids are 8-byte big-endian buffers. */
export interface ZooKeeperStat {
  mzxid: Buffer;
  pzxid: Buffer;
  ephemeralOwner: Buffer;
}

export interface ZooKeeperEvent {
  getType(): number;
  getPath(): string;
}

export type ZooKeeperWatcher = (event: ZooKeeperEvent) => void;

type Callback<T extends unknown[]> = (error: (Error & { getCode(): number }) | null, ...result: T) => void;

/** The client's own watcher table: per kind, per path, an emitter whose listeners are the armed watcher functions. */
type WatcherTable = Record<string, { listenerCount(event: "notification"): number }>;

/**
 * The client's private ConnectionManager (lib/ConnectionManager.js), as far as
 * this adapter reads it: the watcher table and what guardHandshake needs.
 */
interface ConnectionManager {
  watcherManager: { dataWatchers: WatcherTable; childWatchers: WatcherTable; existenceWatchers: WatcherTable };
  /** One of STATES; "state" is emitted on every change. */
  state: number;
  /** The current connection (attempt); a new one for each attempt. */
  socket: Socket | undefined;
  /** The session timeout over the number of servers: the bound the client puts on a TCP connect, and the Java client on the whole handshake. */
  connectTimeout: number;
  /** The handler connect() binds, per attempt, to the socket's "connect": it sends the handshake and clears the connect timeout. */
  onSocketConnected(): void;
  on(event: "state", listener: (state: number) => void): void;
}

interface NodeZooKeeperClient {
  connectionManager: ConnectionManager;
  connect(): void;
  close(): void;
  getSessionId(): Buffer;
  on(event: "connected" | "disconnected" | "expired", listener: () => void): this;
  getChildren(path: string, watcher: ZooKeeperWatcher | undefined, callback: Callback<[string[], ZooKeeperStat]>): void;
  getData(path: string, watcher: ZooKeeperWatcher | undefined, callback: Callback<[Buffer | null | undefined, ZooKeeperStat]>): void;
  exists(path: string, watcher: ZooKeeperWatcher | undefined, callback: Callback<[ZooKeeperStat | null]>): void;
  create(path: string, data: Buffer, mode: number, callback: Callback<[string]>): void;
  mkdirp(path: string, callback: Callback<[string]>): void;
  remove(path: string, version: number, callback: Callback<[]>): void;
}

interface NodeZooKeeperModule {
  createClient(connect: string, options: { sessionTimeout: number; spinDelay: number; retries: number }): NodeZooKeeperClient;
  CreateMode: { PERSISTENT: number; EPHEMERAL: number };
  Exception: { NO_NODE: number; NODE_EXISTS: number; NOT_EMPTY: number; CONNECTION_LOSS: number; SESSION_EXPIRED: number };
}

const require = createRequire(import.meta.url);
const zookeeper = require("node-zookeeper-client") as NodeZooKeeperModule;
const { STATES } = require("node-zookeeper-client/lib/ConnectionManager.js") as { STATES: { CONNECTING: number } };

/** A ZooKeeper error, with the server's code (ZooKeeper's KeeperException codes). */
export class ZooKeeperError extends Error {
  override name = "ZooKeeperError";
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
  }
}

export const isNoNode = (err: unknown): boolean => err instanceof ZooKeeperError && err.code === zookeeper.Exception.NO_NODE;
export const isNodeExists = (err: unknown): boolean => err instanceof ZooKeeperError && err.code === zookeeper.Exception.NODE_EXISTS;
export const isNotEmpty = (err: unknown): boolean => err instanceof ZooKeeperError && err.code === zookeeper.Exception.NOT_EMPTY;
export const isSessionExpired = (err: unknown): boolean => err instanceof ZooKeeperError && err.code === zookeeper.Exception.SESSION_EXPIRED;

/** A zxid (or session id) as the decimal string the IPC messages carry as an index. */
export function zxidString(zxid: Buffer): string {
  return zxid.length === 8 ? zxid.readBigUInt64BE(0).toString() : "0";
}

export interface ZooKeeperSessionOptions {
  /** host:port[,host:port...] */
  connect: string;
  /** What the client asks for; the server clamps it to its own min and max. */
  sessionTimeoutMs: number;
}

/** One ZooKeeper session: a client from connect() until close() or expiry. */
export class ZooKeeperSession {
  private readonly client: NodeZooKeeperClient;
  /** How to fail each request not answered yet, should the session expire first (the client would never answer those it had queued). */
  private readonly unanswered = new Set<() => void>();
  /** The connection whose handshake is not answered yet, if any. */
  private readonly awaitingHandshake: () => Socket | undefined;

  constructor(options: ZooKeeperSessionOptions) {
    // retries 0: a failed request is reported at once; the registry decides when to read again.
    this.client = zookeeper.createClient(options.connect, { sessionTimeout: options.sessionTimeoutMs, spinDelay: 1000, retries: 0 });
    this.awaitingHandshake = guardHandshake(this.client.connectionManager);
    // Registered before anyone else's "expired" listener; the rejections reach their handlers after all listeners ran,
    // so a registry that replaces the session on "expired" has done so by then.
    this.client.on("expired", () => {
      for (const fail of [...this.unanswered]) fail();
    });
  }

  connect(): void {
    this.client.connect();
  }

  /** Ends the session (the server then removes its ephemeral nodes at once) and the client. */
  close(): void {
    const handshaking = this.awaitingHandshake();
    this.client.close();
    // The close request just went out ahead of the handshake's answer, which the client would read as the reply to it
    // (an uncaught "Unknown code" error): drop the connection now, so that nothing more is read from it.
    handshaking?.destroy();
  }

  /** The session id (0 until connected): compared with a node's ephemeralOwner to tell our nodes from a dead session's. */
  get id(): string {
    return zxidString(this.client.getSessionId());
  }

  /**
   * How many watcher functions the client holds, by kind and path ("child
   * /services/web"): what would grow if re-armed watches piled up. The client
   * keeps them privately, hence the narrow cast above.
   */
  armedWatchers(): Record<string, number> {
    const { dataWatchers, childWatchers, existenceWatchers } = this.client.connectionManager.watcherManager;
    const counts: Record<string, number> = {};
    for (const [kind, table] of [["data", dataWatchers], ["child", childWatchers], ["existence", existenceWatchers]] as const) {
      for (const [path, emitter] of Object.entries(table)) {
        const count = emitter.listenerCount("notification");
        if (count > 0) counts[`${kind} ${path}`] = count;
      }
    }
    return counts;
  }

  on(event: "connected" | "disconnected" | "expired", listener: () => void): void {
    this.client.on(event, listener);
  }

  getChildren(path: string, watcher?: ZooKeeperWatcher): Promise<{ children: string[]; stat: ZooKeeperStat }> {
    const send = (done: Callback<[string[], ZooKeeperStat]>): void => this.client.getChildren(path, watcher, done);
    return this.request("getChildren", path, send, (children, stat) => ({ children, stat }));
  }

  getData(path: string, watcher?: ZooKeeperWatcher): Promise<{ data: Buffer | undefined; stat: ZooKeeperStat }> {
    const send = (done: Callback<[Buffer | null | undefined, ZooKeeperStat]>): void => this.client.getData(path, watcher, done);
    return this.request("getData", path, send, (data, stat) => ({ data: data ?? undefined, stat }));
  }

  /** The node's Stat, or null when it does not exist; with a watcher, a watch on its creation, change or deletion. */
  exists(path: string, watcher?: ZooKeeperWatcher): Promise<ZooKeeperStat | null> {
    return this.request("exists", path, (done: Callback<[ZooKeeperStat | null]>) => this.client.exists(path, watcher, done), (stat) => stat);
  }

  create(path: string, data: Buffer, mode: "persistent" | "ephemeral"): Promise<void> {
    const flag = mode === "ephemeral" ? zookeeper.CreateMode.EPHEMERAL : zookeeper.CreateMode.PERSISTENT;
    return this.request("create", path, (done: Callback<[string]>) => this.client.create(path, data, flag, done), () => undefined);
  }

  /** Creates `path` and its missing parents, as persistent nodes without data. */
  mkdirp(path: string): Promise<void> {
    return this.request("mkdirp", path, (done: Callback<[string]>) => this.client.mkdirp(path, done), () => undefined);
  }

  remove(path: string): Promise<void> {
    return this.request("remove", path, (done: Callback<[]>) => this.client.remove(path, -1, done), () => undefined);
  }

  /** Sends one request; the promise settles with the client's answer, or fails when the session expires before it. */
  private request<R extends unknown[], T>(operation: string, path: string, send: (done: Callback<R>) => void, result: (...answer: R) => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const fail = (): void => {
        this.unanswered.delete(fail);
        reject(new ZooKeeperError(`ZooKeeper ${operation} ${path}: the session expired before an answer`, zookeeper.Exception.SESSION_EXPIRED));
      };
      this.unanswered.add(fail);
      send((err, ...answer) => {
        this.unanswered.delete(fail);
        if (err) reject(wrap(err, operation, path));
        else resolve(result(...answer));
      });
    });
  }
}

/**
 * The client clears its connect timeout as soon as TCP connects, then waits
 * for the server's answer to the handshake (ConnectResponse) with no bound at
 * all: no timer, and no ping until connected (a known gap, upstream pull
 * request alexguan/node-zookeeper-client#57, never merged). A connection the
 * server accepts and never answers leaves the client CONNECTING for good: it
 * never connects again, never learns that its session expired, and what was
 * queued meanwhile waits with it. ZooKeeper 3.8 does that to a connection that
 * arrives while it restarts, between binding its port and loading its data:
 * refusing it fails halfway (a NullPointerException, ZOOKEEPER-5051) and the
 * socket stays open. Under load that window is long enough to be hit.
 *
 * As the Java client does, bound the whole handshake by the connect timeout:
 * a connection still unanswered then is destroyed, and the client's own close
 * handling connects again (with the same session, if it still lives).
 * Returns the connection whose handshake is not answered yet, for close().
 */
function guardHandshake(manager: ConnectionManager): () => Socket | undefined {
  const sendHandshake = manager.onSocketConnected;
  if (typeof sendHandshake !== "function" || typeof manager.connectTimeout !== "number" || typeof STATES?.CONNECTING !== "number") {
    throw new Error("node-zookeeper-client's ConnectionManager is not the one guardHandshake (zookeeper-adapter.ts) was written for");
  }
  let timer: NodeJS.Timeout | undefined;
  let awaiting: Socket | undefined;
  manager.onSocketConnected = function (this: ConnectionManager) {
    sendHandshake.call(this);
    const socket = manager.socket;
    awaiting = socket;
    const boundMs = manager.connectTimeout;
    clearTimeout(timer);
    timer = setTimeout(() => {
      if (manager.state !== STATES.CONNECTING || manager.socket !== socket || socket === undefined) return;
      debug("no answer to the handshake within %d ms; dropping that connection and connecting again", boundMs);
      socket.destroy();
    }, boundMs);
    timer.unref();
  };
  // Answered (connected, or told that the session expired), or the connection closed: the bound is met.
  manager.on("state", (state) => {
    if (state === STATES.CONNECTING) return;
    clearTimeout(timer);
    awaiting = undefined;
  });
  return () => awaiting;
}

function wrap(err: Error & { getCode(): number }, operation: string, path: string): ZooKeeperError {
  return new ZooKeeperError(`ZooKeeper ${operation} ${path}: ${err.message}`, err.getCode());
}
