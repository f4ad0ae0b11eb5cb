/**
 * What a cluster worker tells the primary. The other direction carries the
 * watcher's own messages (WatcherMessage), already validated by the
 * supervisor and validated again by the worker, which must not trust another
 * process either. Subscriptions reuse the watcher's command schema.
 */
import { parseWatcherCommand, InvalidMessageError, type WatcherCommand } from "../discovery/messages.js";

export type WorkerMessage =
  /** The worker listens for route messages now: the primary replays the current routes to it. */
  | { type: "ready" }
  | WatcherCommand;

export function parseWorkerMessage(raw: unknown): WorkerMessage {
  if (typeof raw === "object" && raw !== null && (raw as { type?: unknown }).type === "ready") return { type: "ready" };
  if (typeof raw !== "object" || raw === null) throw new InvalidMessageError("worker message: not an object");
  return parseWatcherCommand(raw);
}
