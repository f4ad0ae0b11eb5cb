import type { WatcherMessage } from "./messages.js";

/** What the admin API's readiness and the metrics read about the watcher child. */
export interface WatcherStatus {
  /** The watcher (or, in a cluster worker, the channel to the primary that relays it) is up. */
  readonly running: boolean;
  /** The watcher child's pid; undefined where this process does not run it (a cluster worker). */
  readonly childPid: number | undefined;
  /** How many times the watcher child has been re-forked after dying (0 where unknown). */
  readonly restarts: number;
}

/**
 * Where a gateway process gets its watcher messages from, and where it asks for
 * a service to be watched. In one process that is the watcher supervisor
 * (which forks the watcher child); in a cluster worker it is the primary,
 * which relays the one watcher's messages to every worker. The gateway needs
 * nothing else from either, so it takes this and never builds one itself.
 */
export interface DiscoveryFeed extends WatcherStatus {
  /** Starts delivering validated messages to `onMessage`. Called once. */
  start(onMessage: (message: WatcherMessage) => void): void;
  /** Asks for a service's instances; repeated calls for one service are no-ops. */
  subscribe(service: string): void;
  stop(): Promise<void>;
}
