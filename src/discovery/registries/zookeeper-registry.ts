/**
 * ZooKeeper as a ServiceRegistry, on the layout Registrator writes
 * (zookeeper-layout.ts): the catalog is the children of /services, a
 * service's instances the children of /services/<name>.
 *
 * Watch handling, and the invariants it keeps:
 * - Re-armed watches never pile up: each watched path has one watcher
 *   function for the registry's lifetime, which the client keeps once per
 *   path, and one read at a time (watched-read.ts).
 * - A service whose node is deleted reports an empty list (its routes empty,
 *   the gateway answers 404/503, never stale routes) and an existence watch
 *   brings it back when the node is created again.
 * - An empty child list is reported like any other.
 * - An expired session is replaced by a new one, on which every watched path
 *   is read again (resynchronised) and every registration made again; a
 *   register, deregister or find caught on the expired session goes again on
 *   the new one, so that its caller sees it done rather than an error.
 */
import createDebug from "debug";
import { isValidServiceName } from "../../service-name.js";
import type { Instance } from "../instance.js";
import { hasTags, type CatalogServices, type RegistryListener, type ServiceRegistration, type ServiceRegistry } from "./registry.js";
import { WatchedRead, type ReadResult } from "./watched-read.js";
import { isNoNode, isNodeExists, isNotEmpty, isSessionExpired, ZooKeeperSession, zxidString, type ZooKeeperWatcher } from "./zookeeper-adapter.js";
import { instancePath, parseInstanceNode, registrationBody, SERVICES_PATH, servicePath } from "./zookeeper-layout.js";

const debug = createDebug("gateway:zookeeper");

/** Asked of the server, which clamps it to its own bounds (2 and 20 ticks by default: 4 s to 40 s). */
const SESSION_TIMEOUT_MS = 30_000;
/** How long close() waits for the server to end the session (which removes our ephemeral nodes at once). */
const CLOSE_WAIT_MS = 1_000;

export interface ZooKeeperRegistryOptions {
  /** host:port[,host:port...] */
  connect: string;
  /** Ceiling of the backoff between failed reads. */
  backoffMaxMs: number;
}

export class ZooKeeperRegistry implements ServiceRegistry {
  private session: ZooKeeperSession;
  private readonly services = new Map<string, WatchedRead<Instance[]>>();
  private catalog: WatchedRead<string[]> | undefined;
  /** One watcher per service for the registry's lifetime (see the header). */
  private readonly serviceWatchers = new Map<string, ZooKeeperWatcher>();
  private readonly catalogWatcher: ZooKeeperWatcher = (event) => {
    debug("event %d on %s", event.getType(), event.getPath());
    this.catalog?.refresh();
  };
  /** What register() made, by node path, to make again on a new session. */
  private readonly registrations = new Map<string, ServiceRegistration>();
  private closed = false;

  constructor(private readonly options: ZooKeeperRegistryOptions) {
    this.session = this.openSession();
  }

  async find(service: string, tags: readonly string[] = []): Promise<Instance[]> {
    const { value } = await this.onSession((session) => this.readService(service, undefined, session));
    return value.filter((instance) => hasTags(instance, tags));
  }

  subscribe(service: string, listener: RegistryListener<Instance[]>): void {
    if (this.services.has(service)) return;
    const watcher = this.serviceWatcher(service);
    const read = new WatchedRead(() => this.readService(service, watcher), listener, this.options.backoffMaxMs);
    this.services.set(service, read);
    read.refresh();
  }

  unsubscribe(service: string): void {
    // ZooKeeper cannot take a watch back: one that fires later finds no subscription and is not re-armed.
    this.services.get(service)?.end();
    this.services.delete(service);
  }

  subscribeCatalog(listener: RegistryListener<CatalogServices>): void {
    if (this.catalog !== undefined) return;
    // The catalog is the children of /services: no tags there (they live in each instance's node), so no prefix routes.
    const names: RegistryListener<string[]> = { change: (services, index) => listener.change(Object.fromEntries(services.map((name) => [name, []])), index), error: (err) => listener.error(err) };
    this.catalog = new WatchedRead(() => this.readCatalog(), names, this.options.backoffMaxMs);
    this.catalog.refresh();
  }

  async register(registration: ServiceRegistration): Promise<void> {
    this.registrations.set(instancePath(registration), registration);
    await this.onSession((session) => this.createInstanceNode(registration, session));
  }

  async deregister(registration: ServiceRegistration): Promise<void> {
    this.registrations.delete(instancePath(registration));
    await this.onSession((session) => session.remove(instancePath(registration))).catch(unless(isNoNode));
    // As Registrator does: the service's node goes with its last instance, so the catalog forgets the service.
    await this.onSession((session) => session.remove(servicePath(registration.name))).catch(unless((err) => isNotEmpty(err) || isNoNode(err)));
  }

  /** Watcher functions the current session holds (see ZooKeeperSession.armedWatchers): a diagnostic the tests read. */
  armedWatchers(): Record<string, number> {
    return this.session.armedWatchers();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.catalog?.end();
    for (const read of this.services.values()) read.end();
    this.services.clear();
    const session = this.session;
    await new Promise<void>((resolve) => {
      session.on("disconnected", resolve);
      setTimeout(resolve, CLOSE_WAIT_MS).unref();
      session.close();
    });
  }

  private openSession(): ZooKeeperSession {
    const session = new ZooKeeperSession({ connect: this.options.connect, sessionTimeoutMs: SESSION_TIMEOUT_MS });
    session.on("connected", () => debug("connected to %s (session %s)", this.options.connect, session.id));
    session.on("disconnected", () => this.reportDisconnected(session));
    session.on("expired", () => this.replaceExpired(session));
    session.connect();
    return session;
  }

  /**
   * Told to every listener, as a failed Consul query would be: the last
   * reported lists stay valid, and the client reconnects by itself, its
   * watches re-sent, so that changes made meanwhile still fire.
   */
  private reportDisconnected(session: ZooKeeperSession): void {
    if (this.closed || session !== this.session) return;
    const err = new Error(`disconnected from ZooKeeper at ${this.options.connect}; reconnecting, watches kept`);
    debug("%s", err.message);
    this.catalog?.reportError(err);
    for (const read of this.services.values()) read.reportError(err);
  }

  /** Watches and ephemeral nodes died with the session: read (and watch) everything again, register again. */
  private replaceExpired(expired: ZooKeeperSession): void {
    if (this.closed || expired !== this.session) return;
    debug("session %s expired; opening a new one, resynchronising %d services and the catalog", expired.id, this.services.size);
    expired.close();
    this.session = this.openSession();
    this.catalog?.restart();
    for (const read of this.services.values()) read.restart();
    for (const registration of this.registrations.values()) {
      this.createInstanceNode(registration, this.session).catch((err: Error) => debug("registering %s again failed: %s", instancePath(registration), err.message));
    }
  }

  /**
   * Runs `operation` on the current session and, if that session expires
   * under it, once more on the session that replaced it (replaceExpired runs
   * before the failure arrives). Its nodes went with the expired session, so
   * going again is what the caller meant.
   */
  private async onSession<T>(operation: (session: ZooKeeperSession) => Promise<T>): Promise<T> {
    const session = this.session;
    try {
      return await operation(session);
    } catch (err) {
      if (this.closed || !isSessionExpired(err) || session === this.session) throw err;
      debug("session %s expired under a request; going again on the session that replaced it", session.id);
      return operation(this.session);
    }
  }

  private serviceWatcher(service: string): ZooKeeperWatcher {
    let watcher = this.serviceWatchers.get(service);
    if (watcher === undefined) {
      watcher = (event) => {
        debug("event %d on %s", event.getType(), event.getPath());
        this.services.get(service)?.refresh();
      };
      this.serviceWatchers.set(service, watcher);
    }
    return watcher;
  }

  /**
   * The instances under /services/<service>, watching the list and each
   * instance's data when `watcher` is given. The index is the newest zxid
   * among the list's and the instances' last changes.
   */
  private async readService(service: string, watcher: ZooKeeperWatcher | undefined, session = this.session): Promise<ReadResult<Instance[]>> {
    const path = servicePath(service);
    debug("read %s", path);
    const listing = await this.childrenOrNothing(session, path, watcher);
    if (listing === undefined) return { value: [], index: "0" };

    const nodes = await Promise.all(
      listing.children.sort().map(async (name) => {
        try {
          return { name, ...(await session.getData(`${path}/${name}`, watcher)) };
        } catch (err) {
          // Gone between the two reads: the list's watch fires for it and the next read has the truth.
          if (isNoNode(err)) return undefined;
          throw err;
        }
      }),
    );
    let index = BigInt(zxidString(listing.stat.pzxid));
    const instances: Instance[] = [];
    for (const node of nodes) {
      if (node === undefined) continue;
      const parsed = parseInstanceNode(node.name, node.data);
      if ("skipped" in parsed) {
        debug("%s: skipped: %s", path, parsed.skipped);
        continue;
      }
      instances.push(parsed.instance);
      const changed = BigInt(zxidString(node.stat.mzxid));
      if (changed > index) index = changed;
    }
    return { value: instances, index: index.toString() };
  }

  private async readCatalog(): Promise<ReadResult<string[]>> {
    debug("read %s", SERVICES_PATH);
    const listing = await this.childrenOrNothing(this.session, SERVICES_PATH, this.catalogWatcher);
    if (listing === undefined) return { value: [], index: "0" };
    const names = listing.children.filter((name) => isValidServiceName(name)).sort();
    if (names.length < listing.children.length) debug("%s: skipped children that are not service names", SERVICES_PATH);
    return { value: names, index: zxidString(listing.stat.pzxid) };
  }

  /**
   * The children of `path`, or undefined when the node does not exist; then,
   * with a watcher, an existence watch fires when it is created.
   */
  private async childrenOrNothing(session: ZooKeeperSession, path: string, watcher: ZooKeeperWatcher | undefined) {
    try {
      return await session.getChildren(path, watcher);
    } catch (err) {
      if (!isNoNode(err)) throw err;
    }
    if ((await session.exists(path, watcher)) === null) return undefined;
    // Created between the two calls: read it now (the exists call armed a watch on its data, not its children).
    return session.getChildren(path, watcher);
  }

  /** The instance's ephemeral node, and the service's node above it when missing. */
  private async createInstanceNode(registration: ServiceRegistration, session: ZooKeeperSession): Promise<void> {
    const path = instancePath(registration);
    for (let attempt = 1; ; attempt++) {
      try {
        await session.mkdirp(servicePath(registration.name));
        await session.create(path, registrationBody(registration), "ephemeral");
        debug("registered %s (session %s)", path, session.id);
        return;
      } catch (err) {
        if (attempt >= 3) throw err;
        if (isNodeExists(err)) {
          // A node at our address that another session owns (a previous run of this instance, its session not yet
          // expired) would vanish with that session and take our registration along: replace it.
          const stat = await session.exists(path);
          if (stat !== null && zxidString(stat.ephemeralOwner) === session.id) return;
          await session.remove(path).catch(unless(isNoNode));
        } else if (!isNoNode(err)) {
          // NO_NODE: the service's node left with its last instance between mkdirp and create; go again.
          throw err;
        }
      }
    }
  }
}

/** A catch handler that swallows the errors `expected` accepts and rethrows the others. */
function unless(expected: (err: unknown) => boolean): (err: unknown) => void {
  return (err) => {
    if (!expected(err)) throw err;
  };
}
