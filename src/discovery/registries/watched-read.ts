/**
 * A read that re-runs whenever its one-shot watch fires, for registries whose
 * watches are one-shot (ZooKeeper). It guarantees:
 * - at most one read in flight: events that arrive during a read coalesce
 *   into one more read after it, so a burst never multiplies reads (and the
 *   watches each read re-arms);
 * - a failed read is retried with exponential backoff, and the last reported
 *   value stays valid meanwhile;
 * - `restart()` abandons a read whose answer no longer matters (one sent on a
 *   session that expired, which fails later or, with a client that drops such
 *   requests, never) and reads again at once.
 */
import type { RegistryListener } from "./registry.js";
import { backoffDelay } from "../restart-backoff.js";

export interface ReadResult<T> {
  value: T;
  index: string;
}

export class WatchedRead<T> {
  /** The read in flight, as a token: an answer whose token is no longer current is dropped. */
  private inFlight: object | undefined;
  /** An event arrived during the read in flight: read again after it. */
  private dirty = false;
  private failures = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private ended = false;

  constructor(
    /** Reads the current value and re-arms the watch that calls refresh(). */
    private readonly read: () => Promise<ReadResult<T>>,
    private readonly listener: RegistryListener<T>,
    private readonly backoffMaxMs: number,
  ) {}

  /** Reads now, or once more after the read in flight. */
  refresh(): void {
    if (this.ended) return;
    if (this.inFlight !== undefined) {
      this.dirty = true;
      return;
    }
    this.start();
  }

  /** Forgets the read in flight (it may never answer) and reads again. */
  restart(): void {
    this.inFlight = undefined;
    this.refresh();
  }

  /** A failure seen outside a read (a lost connection): the listener hears of it, the last value stays. */
  reportError(err: Error): void {
    if (!this.ended) this.listener.error(err);
  }

  end(): void {
    this.ended = true;
    this.inFlight = undefined;
    clearTimeout(this.retryTimer);
  }

  private start(): void {
    clearTimeout(this.retryTimer);
    const token = {};
    this.inFlight = token;
    this.dirty = false;
    this.read().then(
      (result) => {
        if (!this.settle(token)) return;
        this.failures = 0;
        this.listener.change(result.value, result.index);
        if (this.dirty) this.start();
      },
      (err: unknown) => {
        if (!this.settle(token)) return;
        this.failures += 1;
        this.listener.error(err instanceof Error ? err : new Error(String(err)));
        if (this.dirty) this.start();
        else this.retryTimer = setTimeout(() => this.refresh(), backoffDelay(this.failures, this.backoffMaxMs));
      },
    );
  }

  /** Whether the answer with `token` is still wanted; if so, no read is in flight any more. */
  private settle(token: object): boolean {
    if (this.ended || this.inFlight !== token) return false;
    this.inFlight = undefined;
    return true;
  }
}
