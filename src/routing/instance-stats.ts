/**
 * Live per-instance counters, keyed by instance id so that they survive route
 * table swaps that keep the instance (the table itself stays an immutable
 * value; this is the one mutable companion). Balancers (least-request,
 * weighted, warm-up), passive health and the admin surface all read the same record.
 */
export interface InstanceStats {
  readonly id: string;
  /** When this gateway first saw the instance (warm-up starts here). */
  readonly firstSeenAt: number;
  /**
   * The instance was already there when the gateway first heard of its service
   * (at start, or at the service's first subscription): it is not new, only new
   * to us, so it takes full traffic at once.
   */
  readonly warmUpExempt: boolean;
  inFlight: number;
  requests: number;
  /** Requests that ended in a gateway error (5xx produced by the gateway, not by the instance). */
  failures: number;
  /** Responses with status 500-599 that the instance itself sent (the dashboard's error rate counts both). */
  serverErrors: number;
  /** Passive health (outlier-detector.ts). */
  outlier: {
    /** Connection failures in a row, reset by any successful connection. */
    consecutiveFailures: number;
    /** Out of rotation until this time (ms since epoch); 0 when never ejected. */
    ejectedUntil: number;
    /** Ejections since the instance last proved healthy; lengthens the next one. */
    ejections: number;
  };
  /** Smooth weighted round-robin's running weight (nginx's `current_weight`); 0 for a new instance. */
  currentWeight: number;
}

export class InstanceStatsRegistry {
  private readonly byId = new Map<string, InstanceStats>();

  constructor(readonly now: () => number = Date.now) {}

  /** The record of an instance, created on first use. */
  get(id: string): InstanceStats {
    return this.byId.get(id) ?? this.create(id, false);
  }

  peek(id: string): InstanceStats | undefined {
    return this.byId.get(id);
  }

  /** Every record (a cluster worker reports them to the primary). */
  all(): IterableIterator<InstanceStats> {
    return this.byId.values();
  }

  /**
   * Marks instances as seen (a table update) so that their first-seen time is
   * the update's, not their first request's. `warmUpExempt` applies to the
   * records this call creates; an instance already known keeps its record.
   */
  observe(ids: Iterable<string>, options: { warmUpExempt: boolean } = { warmUpExempt: false }): void {
    for (const id of ids) {
      if (!this.byId.has(id)) this.create(id, options.warmUpExempt);
    }
  }

  /** Forgets instances that left their service, unless requests to them are still in flight. */
  forget(ids: Iterable<string>): void {
    for (const id of ids) {
      if (this.byId.get(id)?.inFlight === 0) this.byId.delete(id);
    }
  }

  private create(id: string, warmUpExempt: boolean): InstanceStats {
    const stats: InstanceStats = { id, firstSeenAt: this.now(), warmUpExempt, inFlight: 0, requests: 0, failures: 0, serverErrors: 0, currentWeight: 0, outlier: { consecutiveFailures: 0, ejectedUntil: 0, ejections: 0 } };
    this.byId.set(id, stats);
    return stats;
  }
}
