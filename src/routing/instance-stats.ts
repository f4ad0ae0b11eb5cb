/**
 * Live per-instance counters, keyed by instance id so that they survive route
 * table swaps that keep the instance (the table itself stays an immutable
 * value; this is the one mutable companion). Balancers (least-request,
 * warm-up), passive health and the admin surface all read the same record.
 */
export interface InstanceStats {
  readonly id: string;
  /** When this gateway first saw the instance (warm-up starts here). */
  readonly firstSeenAt: number;
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
}

export class InstanceStatsRegistry {
  private readonly byId = new Map<string, InstanceStats>();

  constructor(private readonly now: () => number = Date.now) {}

  /** The record of an instance, created on first use. */
  get(id: string): InstanceStats {
    let stats = this.byId.get(id);
    if (stats === undefined) {
      stats = { id, firstSeenAt: this.now(), inFlight: 0, requests: 0, failures: 0, serverErrors: 0, outlier: { consecutiveFailures: 0, ejectedUntil: 0, ejections: 0 } };
      this.byId.set(id, stats);
    }
    return stats;
  }

  peek(id: string): InstanceStats | undefined {
    return this.byId.get(id);
  }

  /** Marks instances as seen (a table update) so that their first-seen time is the update's, not their first request's. */
  observe(ids: Iterable<string>): void {
    for (const id of ids) this.get(id);
  }

  /** Forgets instances that left their service, unless requests to them are still in flight. */
  forget(ids: Iterable<string>): void {
    for (const id of ids) {
      if (this.byId.get(id)?.inFlight === 0) this.byId.delete(id);
    }
  }
}
