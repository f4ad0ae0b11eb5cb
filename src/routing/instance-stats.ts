/**
 * Live per-instance counters, keyed by instance key (node + service ID, see
 * instanceKey) so that they survive route table swaps that keep the instance
 * (the table itself stays an immutable value; this is the one mutable
 * companion). Balancers (least-request, weighted, warm-up), passive health and
 * the admin surface all read the same record.
 *
 * Records are made when a table update brings an instance (observe) and
 * deleted when one takes it away (forget), or, if requests to it are still in
 * flight then, when the last of them ends (release): the number of records
 * follows the table, however many instances came and went. A lookup of an
 * instance the registry does not hold (one that left while a request was
 * choosing it) gets a record of its own that is not kept.
 */
export interface InstanceStats {
  readonly key: string;
  /** When this gateway first saw the instance (warm-up starts here). */
  readonly firstSeenAt: number;
  /**
   * The instance was already there when the gateway first heard of its service
   * (at start, or at the service's first subscription): it is not new, only new
   * to us, so it takes full traffic at once.
   */
  readonly warmUpExempt: boolean;
  inFlight: number;
  /** Upgraded (WebSocket) connections open to the instance now; each also counts in inFlight while open. */
  upgraded: number;
  requests: number;
  /** Requests that ended in a gateway error (5xx produced by the gateway, not by the instance). */
  failures: number;
  /** Responses with status 500-599 that the instance itself sent (the dashboard's error rate counts both). */
  serverErrors: number;
  /** Passive health (outlier-detector.ts). */
  outlier: {
    /** Gateway failures in a row (refused or broken connections, timeouts), reset by any answer. */
    consecutiveGatewayFailures: number;
    /** 5xx answers of the instance's own in a row, reset by any other answer. */
    consecutive5xx: number;
    /** What caused the last ejection. */
    lastReason: "consecutive_5xx" | "consecutive_gateway_failures" | undefined;
    /** Out of rotation until this time (ms since epoch); 0 when never ejected. */
    ejectedUntil: number;
    /** Ejections since the instance last proved healthy; lengthens the next one. */
    ejections: number;
  };
  /** Smooth weighted round-robin's running weight (nginx's `current_weight`); 0 for a new instance. */
  currentWeight: number;
  /** The instance left the table while requests to it were in flight: deleted when the last one ends. */
  departed: boolean;
}

export class InstanceStatsRegistry {
  private readonly byKey = new Map<string, InstanceStats>();

  constructor(readonly now: () => number = Date.now) {}

  /** How many records are kept (one per instance in the table, plus departed ones with requests in flight). */
  get size(): number {
    return this.byKey.size;
  }

  /** The record of an instance; one the registry does not hold gets a fresh record that is not kept. */
  get(key: string): InstanceStats {
    return this.byKey.get(key) ?? this.record(key, false);
  }

  peek(key: string): InstanceStats | undefined {
    return this.byKey.get(key);
  }

  /** Every record (a cluster worker reports them to the primary). */
  all(): IterableIterator<InstanceStats> {
    return this.byKey.values();
  }

  /**
   * Marks instances as seen (a table update) so that their first-seen time is
   * the update's, not their first request's. `warmUpExempt` applies to the
   * records this call creates; an instance already known keeps its record.
   */
  observe(keys: Iterable<string>, options: { warmUpExempt: boolean } = { warmUpExempt: false }): void {
    for (const key of keys) {
      const known = this.byKey.get(key);
      if (known === undefined) this.byKey.set(key, this.record(key, options.warmUpExempt));
      else known.departed = false;
    }
  }

  /** Forgets instances that left the table; those with requests in flight once the last one ends. */
  forget(keys: Iterable<string>): void {
    for (const key of keys) {
      const stats = this.byKey.get(key);
      if (stats === undefined) continue;
      if (stats.inFlight === 0) this.byKey.delete(key);
      else stats.departed = true;
    }
  }

  /** A request to the instance ended (after its inFlight was decremented): a departed instance's record may go now. */
  release(stats: InstanceStats): void {
    if (stats.departed && stats.inFlight === 0 && this.byKey.get(stats.key) === stats) this.byKey.delete(stats.key);
  }

  private record(key: string, warmUpExempt: boolean): InstanceStats {
    return {
      key,
      firstSeenAt: this.now(),
      warmUpExempt,
      inFlight: 0,
      upgraded: 0,
      requests: 0,
      failures: 0,
      serverErrors: 0,
      currentWeight: 0,
      departed: false,
      outlier: { consecutiveGatewayFailures: 0, consecutive5xx: 0, ejectedUntil: 0, ejections: 0, lastReason: undefined },
    };
  }
}
