/**
 * Which services the gateway keeps watching. A service is subscribed on
 * demand (its first request) and released when it leaves the registry's
 * catalog, or when no request asked for it within the idle time
 * (GATEWAY_SUBSCRIPTION_IDLE_MS): its watch stops and its routes, stats and
 * metric series go, so that the watcher's connections and the gateway's state
 * follow the services in use, not every service ever seen. A name that comes
 * back is subscribed again by its next request, or, when it left the catalog
 * (its last instance deregistered, as in a redeploy) and the catalog names it
 * again within KEEP_RELEASED_WATCH_MS, at once with that catalog: the watcher
 * kept its watch and sends its list right behind the catalog
 * (service-watches.ts), so a returning service is routed without waiting for
 * a request to subscribe it. GATEWAY_SERVICES are
 * configured, not on demand: they are subscribed once a catalog says the
 * exposure policy does not hide them (one not registered yet is watched, so
 * that its first instance is routed at once), and never released for
 * idleness or absence. A hidden service, configured or not, keeps no watch:
 * the catalog the gateway sees holds only exposed services, and `hidden`
 * names the rest.
 */
import { KEEP_RELEASED_WATCH_MS, MAX_KEPT_WATCHES } from "../discovery/service-watches.js";

export interface SubscriptionOptions {
  /** Released after this long without a request; 0 never releases for idleness. */
  readonly idleMs: number;
  /** GATEWAY_SERVICES: watched from the start, never released. */
  readonly pinned: readonly string[];
  readonly now?: () => number;
}

export class Subscriptions {
  /** Subscribed services, with when a request last asked for each. */
  private readonly lastUsed = new Map<string, number>();
  private readonly pinned: ReadonlySet<string>;
  /** Pinned services the exposure policy hides whose watch was released already. */
  private readonly hiddenPinned = new Set<string>();
  /** Services released because they left the catalog, with when: subscribed again if it names them soon. */
  private readonly departed = new Map<string, number>();
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly options: SubscriptionOptions,
    private readonly subscribe: (service: string) => void,
    private readonly release: (services: readonly string[]) => void,
  ) {
    this.pinned = new Set(options.pinned);
    this.now = options.now ?? Date.now;
  }

  get size(): number {
    return this.lastUsed.size;
  }

  has(service: string): boolean {
    return this.lastUsed.has(service);
  }

  /** A request asked for `service`: subscribes it the first time, and keeps it from going idle. */
  use(service: string): void {
    const known = this.lastUsed.has(service);
    this.lastUsed.set(service, this.now());
    if (!known) this.subscribe(service);
  }

  /**
   * The catalog changed. `exposed` is what it names under the exposure policy, `hidden` what the policy
   * takes out of it. Subscribed services it no longer names are released at once (pinned ones stay
   * while not hidden) and remembered as departed; departed ones it names again are subscribed at once;
   * a hidden pinned one is released once, even if only the primary of a cluster watched it; pinned
   * ones not hidden are subscribed.
   */
  catalogChanged(exposed: ReadonlySet<string>, hidden: ReadonlySet<string> = new Set()): void {
    const gone = [...this.lastUsed.keys()].filter((s) => hidden.has(s) || (!exposed.has(s) && !this.pinned.has(s)));
    this.returnDeparted(exposed);
    for (const service of gone) if (!hidden.has(service)) this.departed.set(service, this.now());
    for (const service of this.hiddenPinned) if (!hidden.has(service)) this.hiddenPinned.delete(service);
    for (const service of this.pinned) {
      if (!hidden.has(service) || this.hiddenPinned.has(service)) continue;
      this.hiddenPinned.add(service);
      if (!this.lastUsed.has(service)) gone.push(service);
    }
    this.drop(gone);
    for (const service of this.pinned) if (!hidden.has(service)) this.use(service);
  }

  /**
   * Subscribes the departed services `exposed` names again, and forgets those
   * departed too long ago, or beyond the watcher's bound, whose watch the
   * watcher no longer keeps.
   */
  private returnDeparted(exposed: ReadonlySet<string>): void {
    const since = this.now() - KEEP_RELEASED_WATCH_MS;
    const newestFirst = [...this.departed].sort(([, a], [, b]) => b - a);
    newestFirst.forEach(([service, at], i) => {
      if (at < since || i >= MAX_KEPT_WATCHES) this.departed.delete(service);
      else if (exposed.has(service)) {
        this.departed.delete(service);
        this.use(service);
      }
    });
  }

  /** Releases the services idle for longer than the idle time. */
  sweep(): void {
    if (this.options.idleMs === 0) return;
    const before = this.now() - this.options.idleMs;
    const idle: string[] = [];
    for (const [service, at] of this.lastUsed) if (at < before && !this.pinned.has(service)) idle.push(service);
    this.drop(idle);
  }

  /** Sweeps every quarter of the idle time (at most every minute), until stop(). */
  start(): void {
    if (this.options.idleMs === 0) return;
    const every = Math.max(50, Math.min(60_000, Math.floor(this.options.idleMs / 4)));
    this.timer = setInterval(() => this.sweep(), every);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private drop(services: string[]): void {
    if (services.length === 0) return;
    for (const service of services) this.lastUsed.delete(service);
    this.release(services);
  }
}
