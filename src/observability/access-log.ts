/**
 * The access log: one JSON line per request, written by pino through an
 * asynchronous sonic-boom destination so that a request never waits for a
 * write. Off, to stdout or appended to a file (GATEWAY_ACCESS_LOG).
 */
import { once } from "node:events";
import { pino, type Logger } from "pino";

import type { AccessLogTarget } from "../config.js";

/** One request as the access log records it. Durations in milliseconds, as people read them. */
export interface AccessLogEntry {
  method: string;
  /** The request path without its query string, which often carries tokens. */
  path: string;
  /** The service the request was routed to (by its path, a prefix route or header routing), once known. */
  service: string | undefined;
  /** The instance that answered (the last one tried). */
  instance: string | undefined;
  status: number;
  /** Response body bytes sent to the client. */
  bytes: number;
  durationMs: number;
  retries: number;
  requestId: string;
  /** The gateway's error code when the gateway answered with an error. */
  error: string | undefined;
  /** True when the response was cut off after its headers (the instance or the client went away). */
  aborted: boolean;
}

export interface AccessLog {
  write(entry: AccessLogEntry): void;
  /** Writes out what is buffered and closes a file destination. */
  close(): Promise<void>;
}

/** Long paths are cut so one request cannot write megabytes into the log. */
const MAX_PATH = 2048;

export function accessLogPath(rawUrl: string): string {
  const query = rawUrl.indexOf("?");
  const path = query === -1 ? rawUrl : rawUrl.slice(0, query);
  return path.length > MAX_PATH ? `${path.slice(0, MAX_PATH)}…` : path;
}

export function openAccessLog(target: AccessLogTarget): AccessLog | undefined {
  if (target.kind === "off") return undefined;
  const destination =
    target.kind === "stdout"
      ? pino.destination({ dest: 1, sync: false })
      : pino.destination({ dest: target.path, sync: false, mkdir: true, append: true });
  const logger: Logger = pino(
    {
      // Only the time and the entry's fields: no level, pid or hostname on every line. With
      // the level left out the line starts at the time, so it takes no leading comma
      // (pino's own isoTime has one, for the level before it).
      base: null,
      formatters: { level: () => ({}) },
      timestamp: () => `"time":"${new Date().toISOString()}"`,
    },
    destination,
  );
  let closed = false;
  return {
    write(entry) {
      if (!closed) logger.info(entry);
    },
    async close() {
      if (closed) return;
      closed = true;
      if (target.kind === "stdout") {
        // fd 1 belongs to the process: flush it, never close it.
        await new Promise<void>((resolve) => destination.flush(() => resolve()));
        return;
      }
      const ended = once(destination, "close");
      destination.end();
      await ended;
    },
  };
}
