/**
 * The shared watch (GATEWAY_WATCH=shared): every subscribed service through a
 * constant number of blocking queries, however many services there are, as
 * Fabio and Traefik do. One watch per service holds one HTTP connection per
 * service, and Consul refuses more than 200 per client address by default
 * (http_max_conns_per_client), so that mode stops at about 200 services.
 *
 * Here one blocking query on /v1/health/state/any wakes on any check change;
 * the services whose checks (or whose nodes' checks) changed are read again
 * with one short request each, and only those. A registration or
 * deregistration writes the service and its checks at one Consul index, so
 * the check watch sees it too. One without any check moves only the catalog's
 * index (watched for the catalog message already): when the check watch has
 * not reached that index shortly after, every subscribed service not read
 * since is read again, since nothing says which one changed.
 * Reads are limited to a few at a time, below Consul's per-client limit, and
 * a service is read at most once at a time: a change seen during its read
 * waits for it and is read after it, so that an older answer can never be
 * applied after a newer one. An answer for an index below one already
 * applied is dropped (the registry's index never goes back unless Consul lost
 * its state, which starts everything over).
 */
import type { CheckEntry, ConsulWatcher, HealthEntry, WatchHandle } from "./consul-adapter.js";
import { checkState, NO_CHECKS, servicesTouched, type CheckState } from "./check-changes.js";
import { backoffDelay } from "./restart-backoff.js";

const MAX_READS_IN_FLIGHT = 16;
/** How long a catalog change waits for the check watch to explain it (both answer within a few ms). */
const CATALOG_GRACE_MS = 100;

export interface SharedWatchCallbacks {
  /** A service's passing instances, read at (at least) `index`. */
  onInstances(service: string, entries: HealthEntry[], index: string): void;
  onError(service: string | null, err: Error): void;
}

export class SharedServiceWatch {
  private readonly subscribed = new Set<string>();
  /** Each service's nodes, as last read: a node check change touches these services. */
  private readonly nodesOf = new Map<string, Set<string>>();
  /** The index each service's instances were last read at, at least. */
  private readonly readAt = new Map<string, bigint>();
  /** Services waiting to be read, with the index the read must reach. */
  private readonly queue = new Map<string, bigint>();
  /** Services with a read in flight, each with the token of its subscription (a new subscription makes a new one). */
  private readonly reading = new Map<string, object>();
  /** Each subscription's token: an answer for an ended subscription is dropped even when the service is subscribed again. */
  private readonly tokens = new Map<string, object>();
  /** The index each service's last applied answer was read at. */
  private readonly appliedAt = new Map<string, bigint>();
  private checks: CheckState = NO_CHECKS;
  private checksIndex = 0n;
  private catalogIndex = 0n;
  private inFlight = 0;
  private failures = 0;
  private ended = false;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly checkWatch: WatchHandle;

  constructor(
    private readonly consul: ConsulWatcher,
    private readonly callbacks: SharedWatchCallbacks,
    private readonly backoffMaxMs: number,
  ) {
    this.checkWatch = consul.watchChecks(
      (checks, index) => this.checksChanged(checks, BigInt(index)),
      (err) => callbacks.onError(null, err),
    );
  }

  subscribe(service: string): void {
    if (this.subscribed.has(service)) return;
    this.subscribed.add(service);
    this.tokens.set(service, {});
    // Before the check watch's first answer, every subscribed service is read once it comes.
    if (this.checksIndex > 0n) this.enqueue(service, this.checksIndex > this.catalogIndex ? this.checksIndex : this.catalogIndex);
  }

  unsubscribe(service: string): void {
    this.subscribed.delete(service);
    this.nodesOf.delete(service);
    this.readAt.delete(service);
    this.queue.delete(service);
    this.tokens.delete(service);
    this.appliedAt.delete(service);
  }

  /** The catalog watch saw a new index: a registration, a deregistration, or a change of tags. */
  catalogChanged(index: string): void {
    const at = BigInt(index);
    // An index that goes backwards is a Consul that lost its state: nothing read before counts.
    if (at < this.catalogIndex) this.startOver();
    this.catalogIndex = at;
    this.later(CATALOG_GRACE_MS, () => {
      // Explained by the check watch, or before its first answer (which reads every service anyway).
      if (this.checksIndex >= at || this.checksIndex === 0n) return;
      for (const service of this.subscribed) {
        if ((this.readAt.get(service) ?? -1n) < at) this.enqueue(service, at);
      }
    });
  }

  end(): void {
    this.ended = true;
    this.checkWatch.end();
    for (const timer of this.timers) clearTimeout(timer);
  }

  private checksChanged(checks: readonly CheckEntry[], index: bigint): void {
    const next = checkState(checks);
    const first = this.checksIndex === 0n;
    const touched = first ? this.subscribed : servicesTouched(this.checks, next, this.nodesOf);
    if (index < this.checksIndex) this.startOver();
    this.checks = next;
    this.checksIndex = index;
    for (const service of touched) if (this.subscribed.has(service)) this.enqueue(service, index);
  }

  private enqueue(service: string, at: bigint): void {
    const waiting = this.queue.get(service);
    if (waiting === undefined || waiting < at) this.queue.set(service, at);
    this.pump();
  }

  /** Consul lost its state (an index went backwards): nothing read or applied before counts. */
  private startOver(): void {
    this.readAt.clear();
    this.appliedAt.clear();
  }

  private pump(): void {
    if (this.ended) return;
    for (const [service, at] of this.queue) {
      if (this.inFlight >= MAX_READS_IN_FLIGHT) return;
      // One read per service at a time: this one waits in the queue for the read in flight.
      if (this.reading.has(service)) continue;
      this.queue.delete(service);
      this.read(service, at);
    }
  }

  private read(service: string, at: bigint): void {
    const token = this.tokens.get(service)!;
    this.reading.set(service, token);
    this.inFlight += 1;
    const current = (): boolean => !this.ended && this.tokens.get(service) === token;
    this.consul.fetchHealth(service).then(
      (entries) => {
        this.failures = 0;
        if (!current()) return;
        if (at < (this.appliedAt.get(service) ?? -1n)) return;
        this.appliedAt.set(service, at);
        this.nodesOf.set(service, new Set(entries.map((e) => e.Node.Node)));
        if ((this.readAt.get(service) ?? -1n) < at) this.readAt.set(service, at);
        this.callbacks.onInstances(service, entries, String(at));
      },
      (err: Error) => {
        this.failures += 1;
        if (!current()) return;
        this.callbacks.onError(service, err);
        const delay = backoffDelay(this.failures, this.backoffMaxMs);
        this.later(delay, () => {
          if (current()) this.enqueue(service, at);
        });
      },
    ).finally(() => {
      if (this.reading.get(service) === token) this.reading.delete(service);
      this.inFlight -= 1;
      this.pump();
    });
  }

  private later(ms: number, run: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (!this.ended) run();
    }, ms);
    this.timers.add(timer);
  }
}
