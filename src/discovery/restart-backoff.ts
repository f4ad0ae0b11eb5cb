/**
 * Exponential backoff between restarts of a process that keeps dying: 100 ms
 * doubling up to a ceiling. One that lived STABLE_AFTER_MS is taken as healthy,
 * so its next death starts again from the bottom. Shared by the watcher
 * supervisor and the cluster primary (which re-forks dead workers).
 */
const STABLE_AFTER_MS = 10_000;
const FIRST_DELAY_MS = 100;

/**
 * The one backoff curve of the gateway: 100 ms doubling per consecutive
 * failure, up to `maxMs`. Used by the restarts below, the Consul watches, the
 * shared watch and the registries' watched reads, so that one setting
 * (GATEWAY_WATCHER_RESTART_MAX_MS) bounds them all alike.
 */
export function backoffDelay(failures: number, maxMs: number): number {
  return Math.min(maxMs, FIRST_DELAY_MS * 2 ** Math.min(failures, 20));
}

export class RestartBackoff {
  private consecutive = 0;

  constructor(
    private readonly maxMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** The delay before restarting a process that started at `startedAt` and just died. */
  next(startedAt: number): number {
    if (this.now() - startedAt >= STABLE_AFTER_MS) this.consecutive = 0;
    const delay = backoffDelay(this.consecutive, this.maxMs);
    this.consecutive += 1;
    return delay;
  }
}
