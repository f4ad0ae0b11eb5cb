/**
 * Consul as a ServiceRegistry: a thin layer over consul-adapter.ts, which
 * keeps everything Consul-specific (blocking queries, fail-over between
 * addresses, the typed node-consul client).
 *
 * Services are watched one blocking query each (`watch: "per-service"`), or
 * with `watch: "shared"` (GATEWAY_WATCH=shared) all through one watch on every
 * check (shared-watch.ts), which also needs the catalog's index: the catalog
 * subscription feeds it, and the watcher child always makes one.
 */
import type { WatchMode } from "../../config.js";
import { ConsulRegistrar, ConsulWatcher, type ConsulWatcherOptions, type HealthEntry, type WatchHandle } from "../consul-adapter.js";
import { toInstances } from "../health-entries.js";
import { SharedServiceWatch } from "../shared-watch.js";
import type { Instance } from "../instance.js";
import { hasTags, type CatalogServices, type RegistryListener, type ServiceRegistration, type ServiceRegistry } from "./registry.js";

export interface ConsulRegistryOptions extends ConsulWatcherOptions {
  /** How services are watched; per-service when absent (the demo service watches nothing). */
  watch?: WatchMode;
}

export class ConsulRegistry implements ServiceRegistry {
  private readonly watcher: ConsulWatcher;
  private readonly watches = new Map<string, WatchHandle>();
  private catalog: WatchHandle | undefined;
  private catalogListener: RegistryListener<CatalogServices> | undefined;
  /** GATEWAY_WATCH=shared: every subscribed service through one watch on every check, made on first subscription. */
  private shared: SharedServiceWatch | undefined;
  private readonly sharedListeners = new Map<string, RegistryListener<Instance[]>>();
  /** The agent API, on the first address: registrations belong to the agent they were made with. Made on first use. */
  private registrar: ConsulRegistrar | undefined;

  constructor(private readonly options: ConsulRegistryOptions) {
    this.watcher = new ConsulWatcher(options);
  }

  async find(service: string, tags: readonly string[] = []): Promise<Instance[]> {
    return toInstances(await this.watcher.passing(service)).filter((instance) => hasTags(instance, tags));
  }

  subscribe(service: string, listener: RegistryListener<Instance[]>): void {
    if (this.watches.has(service)) return;
    if (this.options.watch === "shared") {
      const shared = this.sharedWatch();
      this.sharedListeners.set(service, listener);
      shared.subscribe(service);
      this.watches.set(service, {
        end: () => {
          shared.unsubscribe(service);
          this.sharedListeners.delete(service);
        },
      });
      return;
    }
    this.watches.set(
      service,
      this.watcher.watchHealth(
        service,
        (entries, index) => listener.change(this.instances(entries), index),
        (err) => listener.error(withHint(err)),
      ),
    );
  }

  unsubscribe(service: string): void {
    this.watches.get(service)?.end();
    this.watches.delete(service);
  }

  subscribeCatalog(listener: RegistryListener<CatalogServices>): void {
    this.catalogListener ??= listener;
    this.catalog ??= this.watcher.watchCatalog(
      (services, index) => {
        this.shared?.catalogChanged(index);
        listener.change(services, index);
      },
      (err) => listener.error(err),
    );
  }

  async register(registration: ServiceRegistration): Promise<void> {
    await this.agent().register(registration);
  }

  async deregister(registration: ServiceRegistration): Promise<void> {
    await this.agent().deregister(registration.id);
  }

  async close(): Promise<void> {
    this.catalog?.end();
    this.shared?.end();
    for (const watch of this.watches.values()) watch.end();
    this.watches.clear();
    this.watcher.close();
    this.registrar?.close();
  }

  private instances(entries: HealthEntry[]): Instance[] {
    return toInstances(entries, { includeWarning: this.options.includeWarning });
  }

  private sharedWatch(): SharedServiceWatch {
    this.shared ??= new SharedServiceWatch(
      this.watcher,
      {
        onInstances: (service, entries, index) => this.sharedListeners.get(service)?.change(this.instances(entries), index),
        // The check watch's own failures concern no one service: the catalog's listener hears them.
        onError: (service, err) => (service === null ? this.catalogListener : this.sharedListeners.get(service))?.error(err),
      },
      this.options.backoffMaxMs,
    );
    return this.shared;
  }

  private agent(): ConsulRegistrar {
    this.registrar ??= new ConsulRegistrar(this.options.addresses[0]!, this.options.token);
    return this.registrar;
  }
}

/** Consul answers 429 past its connections-per-client limit: say what to do about it. */
function withHint(err: Error): Error {
  if (!/too many requests/i.test(err.message)) return err;
  return new Error(`${err.message} (Consul's http_max_conns_per_client: use GATEWAY_WATCH=shared for this many services)`);
}
