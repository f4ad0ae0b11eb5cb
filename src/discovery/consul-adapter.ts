/**
 * The one place that touches node-consul. node-consul 2.x is unmaintained and
 * its bundled types are wrong in places (a watch's `options` is typed as
 * strings while the index is a BigInt), so this adapter declares the narrow,
 * correct shape it uses and casts once, here.
 *
 * It adds what node-consul's Watch lacks: fail-over between several Consul
 * addresses, with exponential backoff, resuming from the last index.
 */
import ConsulClient from "consul";
import createDebug from "debug";
import type { ConsistencyMode, ConsulAddress } from "../config.js";
import type { ServiceRegistration } from "./registries/registry.js";
import { consulHttpsAgent, type ConsulTlsSettings } from "./consul-tls.js";
import { backoffDelay } from "./restart-backoff.js";

const debug = createDebug("gateway:consul");

/** One entry of GET /v1/health/service/:service, the fields this gateway reads. */
export interface HealthEntry {
  Node: { Node: string; Address: string };
  Service: {
    ID: string;
    Service: string;
    Address: string;
    Port: number;
    Tags: string[] | null;
    Meta: Record<string, string> | null;
    /** Absent from very old Consul versions; Consul fills {Passing: 1, Warning: 1} when a registration sets none. */
    Weights?: { Passing: number; Warning: number };
  };
  Checks: { CheckID: string; Status: string }[];
}

/** One entry of GET /v1/health/state/any: every check in the datacenter, node checks with an empty ServiceName. */
export interface CheckEntry {
  Node: string;
  CheckID: string;
  Status: string;
  ServiceID: string;
  ServiceName: string;
}

/** GET /v1/catalog/services: service name → tags. */
export type CatalogServices = Record<string, string[]>;

interface NodeConsulWatch {
  on(event: "change", listener: (data: unknown, res: { headers: Record<string, string | undefined> }) => void): this;
  on(event: "error", listener: (err: Error) => void): this;
  end(): void;
}

interface NodeConsul {
  agent: { service: { register: (opts: unknown) => Promise<unknown>; deregister: (opts: unknown) => Promise<unknown> } };
  health: { service: (opts: unknown) => Promise<unknown>; state: (opts: unknown) => Promise<unknown> };
  catalog: { service: { list: (opts: unknown) => Promise<unknown> } };
  watch(opts: { method: (opts: unknown) => Promise<unknown>; options: Record<string, unknown>; maxAttempts: number }): NodeConsulWatch;
  destroy(): void;
  /** papi's request hooks: `onCreate` runs before the URL is built from `opts.query`. */
  _ext(event: "onCreate", hook: (request: { opts: { name?: string; query?: Record<string, string> } }, next: () => void) => void): void;
}

/** How to reach Consul beyond its address: the ACL token, TLS (for https:// addresses) and the datacenter. */
export interface ConsulConnection {
  token: string | undefined;
  tls?: ConsulTlsSettings;
  /** Consul's `dc` parameter on every request; undefined: the agent's own datacenter. */
  datacenter?: string | undefined;
}

function createClient(address: ConsulAddress, { token, tls, datacenter }: ConsulConnection): NodeConsul {
  const secure = address.protocol === "https:";
  const defaults = { ...(token === undefined ? {} : { token }), ...(datacenter === undefined ? {} : { dc: datacenter }) };
  return new (ConsulClient as unknown as new (o: unknown) => NodeConsul)({
    host: address.host,
    port: address.port,
    secure,
    // node-consul makes a plain keep-alive agent; for TLS, one that carries the CA, client certificate and checks.
    ...(secure && tls !== undefined ? { agent: consulHttpsAgent(tls) } : {}),
    ...(Object.keys(defaults).length === 0 ? {} : { defaults }),
  });
}

/** Registers and deregisters services with the local Consul agent (the agent API). */
export class ConsulRegistrar {
  private readonly client: NodeConsul;

  constructor(address: ConsulAddress, connection: ConsulConnection) {
    this.client = createClient(address, connection);
  }

  async register(registration: ServiceRegistration): Promise<void> {
    await this.client.agent.service.register(registration);
  }

  async deregister(id: string): Promise<void> {
    await this.client.agent.service.deregister({ id });
  }

  close(): void {
    this.client.destroy();
  }
}

export interface WatchHandle {
  end(): void;
}

export interface ConsulWatcherOptions extends ConsulConnection {
  addresses: readonly ConsulAddress[];
  waitMs: number;
  backoffMaxMs: number;
  consistency: ConsistencyMode;
  /** Adds Consul's `cached` parameter (agent cache with background refresh). */
  cached: boolean;
  /** Ask for every health entry (the caller drops critical ones) instead of Consul's `?passing`. */
  includeWarning: boolean;
}

/** node-consul knows `stale` and `consistent` but not `cached`: add it to the watch requests before their URL is built. */
function addCachedParameter(client: NodeConsul): void {
  client._ext("onCreate", (request, next) => {
    if (request.opts.name === "health.service" || request.opts.name === "catalog.service.list") {
      request.opts.query = { ...request.opts.query, cached: "" };
    }
    next();
  });
}

type Endpoint = "health" | "catalog" | "checks";

export class ConsulWatcher {
  private readonly clients: NodeConsul[];
  /** The address the next watch starts on; moves on after a failure, shared by all watches. */
  private current = 0;

  constructor(private readonly options: ConsulWatcherOptions) {
    this.clients = options.addresses.map((a) => createClient(a, options));
    if (options.cached) for (const client of this.clients) addCachedParameter(client);
  }

  /**
   * The health entries of `service`: those whose every check passes (Consul's
   * `?passing`), or all of them when warning instances are wanted; Consul has
   * no "passing or warning" filter, so the caller drops the critical ones.
   */
  watchHealth(
    service: string,
    onChange: (entries: HealthEntry[], index: string) => void,
    onError: (err: Error) => void,
  ): WatchHandle {
    const params = this.options.includeWarning ? { service } : { service, passing: true };
    return this.watch("health", params, (data, index) => onChange(data as HealthEntry[], index), onError);
  }

  /** One read (not a watch) of the instances of `service` whose every check passes, from the address watches use now. */
  async passing(service: string): Promise<HealthEntry[]> {
    return (await this.clients[this.current]!.health.service({ service, passing: true })) as HealthEntry[];
  }

  watchCatalog(onChange: (services: CatalogServices, index: string) => void, onError: (err: Error) => void): WatchHandle {
    return this.watch("catalog", {}, (data, index) => onChange(data as CatalogServices, index), onError);
  }

  /** Every check in the datacenter, whatever its state: one blocking query that wakes on any check change. */
  watchChecks(onChange: (checks: CheckEntry[], index: string) => void, onError: (err: Error) => void): WatchHandle {
    return this.watch("checks", { state: "any" }, (data, index) => onChange(data as CheckEntry[], index), onError);
  }

  /**
   * One non-blocking read of a service's health entries, with the parameters
   * watchHealth uses (passing only, or all when warning instances are wanted;
   * the consistency mode), on the address the watches use now; a failure
   * moves that address on, as a failed watch does. The shared watch's read.
   */
  async fetchHealth(service: string): Promise<HealthEntry[]> {
    const at = this.current;
    const params = this.options.includeWarning ? { service } : { service, passing: true };
    try {
      return (await this.clients[at]!.health.service({ ...params, ...this.consistencyParams() })) as HealthEntry[];
    } catch (err) {
      if (this.current === at) this.current = (at + 1) % this.clients.length;
      throw err;
    }
  }

  close(): void {
    for (const client of this.clients) client.destroy();
  }

  private consistencyParams(): Record<string, boolean> {
    return this.options.consistency === "default" ? {} : { [this.options.consistency]: true };
  }

  private addressName(i: number): string {
    const a = this.options.addresses[i]!;
    return `${a.protocol}//${a.host}:${a.port}`;
  }

  /**
   * A blocking-query loop that survives failures: node-consul's Watch is told
   * to stop at its first error (maxAttempts 0); we then move to the next
   * address and start a new Watch from the last index after a backoff.
   */
  private watch(
    endpoint: Endpoint,
    params: Record<string, unknown>,
    onChange: (data: unknown, index: string) => void,
    onError: (err: Error) => void,
  ): WatchHandle {
    let index = "0";
    let failures = 0;
    let ended = false;
    let active: NodeConsulWatch | undefined;
    let retryTimer: NodeJS.Timeout | undefined;

    const start = (): void => {
      if (ended) return;
      const at = this.current;
      const client = this.clients[at]!;
      const method = endpoint === "health" ? client.health.service : endpoint === "checks" ? client.health.state : client.catalog.service.list;
      const consistency = this.consistencyParams();
      const watch = client.watch({
        method,
        options: { ...params, ...consistency, index, wait: `${Math.round(this.options.waitMs / 1000)}s` },
        maxAttempts: 0,
      });
      active = watch;
      watch.on("change", (data, res) => {
        failures = 0;
        const next = res.headers["x-consul-index"] ?? "0";
        debug("%s watch %o answered from %s: index=%s x-cache=%s known-leader=%s", endpoint, params, this.addressName(at), next, res.headers["x-cache"] ?? "-", res.headers["x-consul-knownleader"] ?? "-");
        // node-consul restarts from 0 when the index goes backwards (Consul's rule); we just follow.
        index = next;
        onChange(data, next);
      });
      watch.on("error", (err) => {
        if (ended || active !== watch) return;
        watch.end();
        failures += 1;
        if (this.current === at) this.current = (at + 1) % this.clients.length;
        const delay = backoffDelay(failures, this.options.backoffMaxMs);
        debug("%s watch %o on %s failed (%s); retrying on %s in %d ms", endpoint, params, this.addressName(at), err.message, this.addressName(this.current), delay);
        onError(err);
        retryTimer = setTimeout(start, delay);
      });
    };
    start();

    return {
      end: () => {
        ended = true;
        clearTimeout(retryTimer);
        active?.end();
      },
    };
  }
}
