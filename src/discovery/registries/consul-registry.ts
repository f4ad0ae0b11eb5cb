/**
 * Consul as a ServiceRegistry: a thin layer over consul-adapter.ts, which
 * keeps everything Consul-specific (blocking queries, fail-over between
 * addresses, the typed node-consul client).
 */
import { ConsulRegistrar, ConsulWatcher, type ConsulWatcherOptions, type WatchHandle } from "../consul-adapter.js";
import { toInstances } from "../health-entries.js";
import type { Instance } from "../../routing/instance.js";
import { hasTags, type CatalogServices, type RegistryListener, type ServiceRegistration, type ServiceRegistry } from "./registry.js";

export class ConsulRegistry implements ServiceRegistry {
  private readonly watcher: ConsulWatcher;
  private readonly watches = new Map<string, WatchHandle>();
  private catalog: WatchHandle | undefined;
  /** The agent API, on the first address: registrations belong to the agent they were made with. Made on first use. */
  private registrar: ConsulRegistrar | undefined;

  constructor(private readonly options: ConsulWatcherOptions) {
    this.watcher = new ConsulWatcher(options);
  }

  async find(service: string, tags: readonly string[] = []): Promise<Instance[]> {
    return toInstances(await this.watcher.passing(service)).filter((instance) => hasTags(instance, tags));
  }

  subscribe(service: string, listener: RegistryListener<Instance[]>): void {
    if (this.watches.has(service)) return;
    this.watches.set(
      service,
      this.watcher.watchHealth(
        service,
        (entries, index) => listener.change(toInstances(entries, { includeWarning: this.options.includeWarning }), index),
        (err) => listener.error(err),
      ),
    );
  }

  unsubscribe(service: string): void {
    this.watches.get(service)?.end();
    this.watches.delete(service);
  }

  subscribeCatalog(listener: RegistryListener<CatalogServices>): void {
    this.catalog ??= this.watcher.watchCatalog((services, index) => listener.change(services, index), (err) => listener.error(err));
  }

  async register(registration: ServiceRegistration): Promise<void> {
    await this.agent().register(registration);
  }

  async deregister(registration: ServiceRegistration): Promise<void> {
    await this.agent().deregister(registration.id);
  }

  async close(): Promise<void> {
    this.catalog?.end();
    for (const watch of this.watches.values()) watch.end();
    this.watches.clear();
    this.watcher.close();
    this.registrar?.close();
  }

  private agent(): ConsulRegistrar {
    this.registrar ??= new ConsulRegistrar(this.options.addresses[0]!, this.options.token);
    return this.registrar;
  }
}
