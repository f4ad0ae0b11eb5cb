/**
 * The registry interface: what the watcher child (and the demo service) need
 * from a service registry: find, subscribe, unsubscribe, register, deregister.
 *
 * Consul (consul-registry.ts) and ZooKeeper (zookeeper-registry.ts) implement
 * it. Whatever the registry, a subscription reports a service's whole list of
 * instances that may take traffic, as the route table holds them; the watcher
 * child turns those reports into the same IPC messages for every registry.
 */
import type { Instance } from "../instance.js";

/**
 * Receives a subscription's reports. `change` may repeat an unchanged value
 * (after a reconnection, a resynchronisation); the watcher child filters repeats.
 */
export interface RegistryListener<T> {
  /** The whole current value, with the registry's version of it (Consul's index, ZooKeeper's zxid) as a decimal string. */
  change(value: T, index: string): void;
  /** A failed read or watch. The registry retries by itself; the last reported value stays valid meanwhile. */
  error(err: Error): void;
}

/** One instance as a service registers itself (service-web does; Registrator does it for containers). */
export interface ServiceRegistration {
  id: string;
  name: string;
  address: string;
  port: number;
  tags?: string[];
  meta?: Record<string, string>;
  /**
   * How the registry tells that the instance is alive. Consul runs this HTTP
   * check; ZooKeeper needs none: the instance's node is ephemeral and leaves
   * with the instance's session.
   */
  check?: { http: string; interval: string; timeout: string; deregisterCriticalServiceAfter: string };
}

/** Service name → its tags. */
export type CatalogServices = Readonly<Record<string, readonly string[]>>;

export interface ServiceRegistry {
  /** The instances of `service` that may take traffic now, those carrying every one of `tags` (a one-off read). */
  find(service: string, tags?: readonly string[]): Promise<Instance[]>;
  /** Watches `service` and reports its whole instance list on each change, the first time at once. Once per service. */
  subscribe(service: string, listener: RegistryListener<Instance[]>): void;
  /** Stops the watch of `service`; its listener hears nothing more. */
  unsubscribe(service: string): void;
  /**
   * Watches the services the registry knows (the gateway answers 404 for others), each with its tags
   * (the union over its instances; prefix routes come from them; [] where the registry has none). Once.
   */
  subscribeCatalog(listener: RegistryListener<CatalogServices>): void;
  register(registration: ServiceRegistration): Promise<void>;
  /** Removes what `register` made for the same registration. */
  deregister(registration: ServiceRegistration): Promise<void>;
  /** Ends every watch and connection. */
  close(): Promise<void>;
}

/** Whether `instance` carries every one of `tags` (find's filter, the same for every registry). */
export function hasTags(instance: Instance, tags: readonly string[]): boolean {
  return tags.every((tag) => instance.tags.includes(tag));
}
