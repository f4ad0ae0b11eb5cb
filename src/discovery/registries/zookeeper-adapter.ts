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
 */
import { createRequire } from "node:module";

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

interface NodeZooKeeperClient {
  connectionManager: { watcherManager: { dataWatchers: WatcherTable; childWatchers: WatcherTable; existenceWatchers: WatcherTable } };
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

const zookeeper = createRequire(import.meta.url)("node-zookeeper-client") as NodeZooKeeperModule;

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

  constructor(options: ZooKeeperSessionOptions) {
    // retries 0: a failed request is reported at once; the registry decides when to read again.
    this.client = zookeeper.createClient(options.connect, { sessionTimeout: options.sessionTimeoutMs, spinDelay: 1000, retries: 0 });
  }

  connect(): void {
    this.client.connect();
  }

  close(): void {
    this.client.close();
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
    return new Promise((resolve, reject) =>
      this.client.getChildren(path, watcher, (err, children, stat) => (err ? reject(wrap(err, "getChildren", path)) : resolve({ children, stat }))),
    );
  }

  getData(path: string, watcher?: ZooKeeperWatcher): Promise<{ data: Buffer | undefined; stat: ZooKeeperStat }> {
    return new Promise((resolve, reject) =>
      this.client.getData(path, watcher, (err, data, stat) => (err ? reject(wrap(err, "getData", path)) : resolve({ data: data ?? undefined, stat }))),
    );
  }

  /** The node's Stat, or null when it does not exist; with a watcher, a watch on its creation, change or deletion. */
  exists(path: string, watcher?: ZooKeeperWatcher): Promise<ZooKeeperStat | null> {
    return new Promise((resolve, reject) => this.client.exists(path, watcher, (err, stat) => (err ? reject(wrap(err, "exists", path)) : resolve(stat))));
  }

  create(path: string, data: Buffer, mode: "persistent" | "ephemeral"): Promise<void> {
    const flag = mode === "ephemeral" ? zookeeper.CreateMode.EPHEMERAL : zookeeper.CreateMode.PERSISTENT;
    return new Promise((resolve, reject) => this.client.create(path, data, flag, (err) => (err ? reject(wrap(err, "create", path)) : resolve())));
  }

  /** Creates `path` and its missing parents, as persistent nodes without data. */
  mkdirp(path: string): Promise<void> {
    return new Promise((resolve, reject) => this.client.mkdirp(path, (err) => (err ? reject(wrap(err, "mkdirp", path)) : resolve())));
  }

  remove(path: string): Promise<void> {
    return new Promise((resolve, reject) => this.client.remove(path, -1, (err) => (err ? reject(wrap(err, "remove", path)) : resolve())));
  }
}

function wrap(err: Error & { getCode(): number }, operation: string, path: string): ZooKeeperError {
  return new ZooKeeperError(`ZooKeeper ${operation} ${path}: ${err.message}`, err.getCode());
}
