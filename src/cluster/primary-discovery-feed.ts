/**
 * A cluster worker's discovery feed: the primary, over the worker's IPC channel.
 * The worker owns no Consul connection; the primary relays the one watcher
 * child's messages to every worker and forwards a worker's on-demand
 * subscriptions to the watcher.
 */
import createDebug from "debug";
import { parseWatcherMessage, type WatcherMessage } from "../discovery/messages.js";
import type { DiscoveryFeed } from "../discovery/discovery-feed.js";
import { isReportRequest, type WorkerMessage } from "./messages.js";

const debug = createDebug("gateway:cluster");

export class PrimaryDiscoveryFeed implements DiscoveryFeed {
  private readonly subscriptions = new Set<string>();
  private listener: ((raw: unknown) => void) | undefined;
  /** The watcher child runs in the primary: a worker knows only that its channel to the primary is open. */
  readonly childPid = undefined;
  readonly restarts = 0;

  get running(): boolean {
    return process.connected === true;
  }

  start(onMessage: (message: WatcherMessage) => void): void {
    this.listener = (raw) => {
      // The primary's requests for a report are answered by worker-report.ts, on the same channel.
      if (isReportRequest(raw)) return;
      let message: WatcherMessage;
      try {
        message = parseWatcherMessage(raw);
      } catch (err) {
        debug("worker %d dropped a malformed message from the primary: %s", process.pid, (err as Error).message);
        return;
      }
      // The primary relays every worker's services to all: only those this worker asked for reach its table.
      if (message.type === "service" && !this.subscriptions.has(message.service)) return;
      if (message.type === "service") debug("worker %d got %s index=%s instances=%d", process.pid, message.service, message.index, message.instances.length);
      onMessage(message);
    };
    process.on("message", this.listener);
    // Only now can the replay of the current routes be received: ask for it.
    this.send({ type: "ready" });
  }

  subscribe(service: string): void {
    if (this.subscriptions.has(service)) return;
    this.subscriptions.add(service);
    this.send({ type: "subscribe", service });
  }

  /** Sent even for a service this worker did not ask for: the primary may watch it for GATEWAY_SERVICES. */
  unsubscribe(service: string): void {
    this.subscriptions.delete(service);
    this.send({ type: "unsubscribe", service });
  }

  async stop(): Promise<void> {
    if (this.listener !== undefined) process.off("message", this.listener);
  }

  private send(message: WorkerMessage): void {
    if (process.connected) process.send!(message);
  }
}
