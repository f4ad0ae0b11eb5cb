/**
 * The per-request figures of the metrics as plain numbers: the request path
 * adds to arrays and fields, and prom-client reads them only when /metrics is
 * scraped. prom-client's own `inc()`/`observe()` validate and hash the label
 * set on every call, which on a proxy that does little else per request was a
 * measurable part of its CPU (docs/PERFORMANCE.md).
 */

/** Upper bounds of gateway_upstream_duration_seconds, in seconds (+Inf is implied). */
export const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30] as const;

export const STATUS_CLASSES = ["1xx", "2xx", "3xx", "4xx", "5xx"] as const;

/** 0-4 for 1xx-5xx; anything outside 100-599 counts as 5xx. */
export function statusClassIndex(status: number): number {
  const digit = Math.floor(status / 100);
  return digit >= 1 && digit <= 5 ? digit - 1 : 4;
}

/** What one service's requests added up to so far. */
export class ServiceCounts {
  /** Requests by instance ("" when none was picked), by status class. */
  readonly requests = new Map<string, number[]>();
  /** Upstream durations, one count per bucket (not cumulative); the last is +Inf. */
  readonly durationBuckets = new Array<number>(DURATION_BUCKETS.length + 1).fill(0);
  durationSum = 0;
  durationCount = 0;
  /** Failures to get a response from an instance, by the gateway's error code. */
  readonly upstreamErrors = new Map<string, number>();
  retries = 0;
  /** Ejections by trigger (outlier-detector.ts's reasons). */
  readonly ejections = new Map<string, number>();

  countRequest(instance: string, status: number): void {
    let byClass = this.requests.get(instance);
    if (byClass === undefined) {
      byClass = [0, 0, 0, 0, 0];
      this.requests.set(instance, byClass);
    }
    byClass[statusClassIndex(status)]! += 1;
  }

  observeDuration(seconds: number): void {
    let bucket = 0;
    while (bucket < DURATION_BUCKETS.length && seconds > DURATION_BUCKETS[bucket]!) bucket++;
    this.durationBuckets[bucket]! += 1;
    this.durationSum += seconds;
    this.durationCount += 1;
  }

  countEjection(reason: string): void {
    this.ejections.set(reason, (this.ejections.get(reason) ?? 0) + 1);
  }

  countUpstreamError(code: string): void {
    this.upstreamErrors.set(code, (this.upstreamErrors.get(code) ?? 0) + 1);
  }
}
