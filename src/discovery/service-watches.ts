/**
 * The watcher child's per-service watches, and what it sends of them: a
 * service's whole instance list each time it changes, never twice the same.
 *
 * A service that leaves the catalog (its last instance deregistered, as in a
 * redeploy) is released by the gateway, and usually comes back within
 * seconds. Its watch is therefore kept for a while after the gateway lets go
 * of it: still blocking on the registry, so that when the service returns
 * its new list is already here. The child then sends that list right after
 * the catalog that names the service again, and the gateway, which
 * re-subscribes such a service in the same swap as that catalog, routes it
 * without a new subscription's round trips (subscriptions.ts). Kept watches
 * are bounded in time and number, so that churn through many names cannot
 * pile them up. A list the gateway does not want is answered with an
 * unsubscribe (supervisor.ts), so a kept watch revived here but not there
 * goes back to being kept, never to a watch nobody reads.
 */
import createDebug from "debug";
import type { WatcherMessage } from "./messages.js";
import type { ServiceRegistry } from "./registries/registry.js";
import { describeInstances, instancesFingerprint, type Instance } from "./instance.js";

const debug = createDebug("gateway:watch");

/** How long a released service's watch is kept: a redeploy's gap between the last old and the first new instance. */
export const KEEP_RELEASED_WATCH_MS = 30_000;
/** At most this many released watches are kept; past it, the oldest ends. */
export const MAX_KEPT_WATCHES = 8;

/** Registry indexes are decimal strings (Consul's index, ZooKeeper's zxid), beyond a double's precision; one that is not counts as current. */
function indexAtLeast(index: string, floor: string): boolean {
  try {
    return BigInt(index) >= BigInt(floor);
  } catch {
    return true;
  }
}

interface Watch {
  /** The latest list the registry reported, once it has reported one. */
  latest: { instances: Instance[]; index: string; fingerprint: string } | undefined;
  /** The fingerprint of the list last sent; "" (matching none) before the first. */
  sent: string;
  /** Set while the gateway does not want the service: when the kept watch ends. */
  keptUntil: number | undefined;
}

export interface ServiceWatchesOptions {
  keepMs?: number;
  maxKept?: number;
  now?: () => number;
}

export class ServiceWatches {
  private readonly watches = new Map<string, Watch>();
  private readonly keepMs: number;
  private readonly maxKept: number;
  private readonly now: () => number;
  private sweepTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly registry: ServiceRegistry,
    private readonly send: (message: WatcherMessage) => void,
    options: ServiceWatchesOptions = {},
  ) {
    this.keepMs = options.keepMs ?? KEEP_RELEASED_WATCH_MS;
    this.maxKept = options.maxKept ?? MAX_KEPT_WATCHES;
    this.now = options.now ?? Date.now;
  }

  /** Services whose watch is kept for the gateway's return. */
  get kept(): string[] {
    return [...this.watches].filter(([, w]) => w.keptUntil !== undefined).map(([service]) => service);
  }

  subscribe(service: string): void {
    const known = this.watches.get(service);
    if (known === undefined) {
      debug("subscribe %s", service);
      this.watches.set(service, { latest: undefined, sent: "", keptUntil: undefined });
      this.registry.subscribe(service, {
        change: (instances, index) => this.changed(service, instances, index),
        error: (err) => {
          if (this.watches.get(service)?.keptUntil === undefined) this.send({ type: "watch-error", service, message: err.message });
        },
      });
      return;
    }
    if (known.keptUntil !== undefined) this.revive(service, known, "0");
  }

  unsubscribe(service: string): void {
    const watch = this.watches.get(service);
    if (watch === undefined || watch.keptUntil !== undefined) return;
    watch.keptUntil = this.now() + this.keepMs;
    // The gateway forgot the service's routes: whatever it wants next time is sent again.
    watch.sent = "";
    debug("unsubscribe %s: its watch is kept for %d ms", service, this.keepMs);
    this.endExpired();
    this.scheduleSweep();
  }

  /**
   * A new catalog, at `index`, was sent. Kept watches of services it names
   * that `previous` did not (they left and came back) are revived: a list the
   * registry reported at that index or later follows at once; an older one
   * (the service's departure) is not sent, and the list its return brings
   * goes when the watch reports it.
   */
  catalogSent(services: readonly string[], index: string, previous: ReadonlySet<string>): void {
    for (const service of services) {
      const watch = this.watches.get(service);
      if (watch?.keptUntil === undefined || previous.has(service)) continue;
      this.revive(service, watch, index);
    }
  }

  close(): void {
    clearTimeout(this.sweepTimer);
  }

  /** The gateway wants the service again: the kept list goes now if the registry reported it at `notBefore` or later. */
  private revive(service: string, watch: Watch, notBefore: string): void {
    watch.keptUntil = undefined;
    const latest = watch.latest;
    const current = latest !== undefined && indexAtLeast(latest.index, notBefore);
    debug("%s: its kept watch is revived%s", service, current ? "" : ", its next list goes");
    if (current) this.sendLatest(service, watch);
  }

  private changed(service: string, instances: Instance[], index: string): void {
    const watch = this.watches.get(service);
    if (watch === undefined) return;
    const fingerprint = instancesFingerprint(instances);
    watch.latest = { instances, index, fingerprint };
    if (watch.keptUntil !== undefined) return;
    if (watch.sent === fingerprint) {
      debug("%s index=%s unchanged (%d instances), not sent", service, index, instances.length);
      return;
    }
    this.sendLatest(service, watch);
  }

  private sendLatest(service: string, watch: Watch): void {
    const { instances, index, fingerprint } = watch.latest!;
    watch.sent = fingerprint;
    debug("change %s index=%s instances=[%s]", service, index, describeInstances(instances));
    this.send({ type: "service", service, index, instances });
  }

  /** Ends the kept watches past their time, and the oldest ones past the bound. */
  private endExpired(): void {
    const now = this.now();
    const kept = [...this.watches].filter(([, w]) => w.keptUntil !== undefined).sort(([, a], [, b]) => a.keptUntil! - b.keptUntil!);
    kept.forEach(([service, watch], i) => {
      if (watch.keptUntil! > now && kept.length - i <= this.maxKept) return;
      this.watches.delete(service);
      this.registry.unsubscribe(service);
      debug("kept watch of %s ended", service);
    });
  }

  private scheduleSweep(): void {
    clearTimeout(this.sweepTimer);
    const next = Math.min(...[...this.watches.values()].flatMap((w) => (w.keptUntil === undefined ? [] : [w.keptUntil])));
    if (!Number.isFinite(next)) return;
    this.sweepTimer = setTimeout(() => {
      this.endExpired();
      this.scheduleSweep();
    }, Math.max(0, next - this.now()));
    this.sweepTimer.unref();
  }
}
