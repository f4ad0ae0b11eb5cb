/**
 * Wires what lets people see the proxy's traffic: the request observer
 * (metrics and access log) for the proxy app. gateway.ts creates it, hooks in
 * the middleware and hands the metrics to the admin server it starts.
 */
import type { Middleware } from "koa";
import type { GatewayConfig } from "../config.js";
import type { WatcherStatus } from "../discovery/discovery-feed.js";
import type { RouteStore } from "../routing/route-store.js";
import { openAccessLog } from "./access-log.js";
import { GatewayMetrics } from "./metrics.js";
import { requestObserver } from "./request-observer.js";
import type { TableChangeLog } from "./table-change-log.js";

export interface ObservedParts {
  store: RouteStore;
  /** The discovery feed's view of the watcher (the supervisor's own in one process). */
  watcher: WatcherStatus;
  events: TableChangeLog;
}

export interface Observability {
  readonly metrics: GatewayMetrics;
  /** Registered first in the proxy app. */
  readonly middleware: Middleware;
  /** Flushes the access log. */
  close(): Promise<void>;
}

export function createObservability(config: GatewayConfig, { store, events, watcher }: ObservedParts): Observability {
  const metrics = new GatewayMetrics({ store, events, watcherRestarts: () => watcher.restarts });
  const accessLog = openAccessLog(config.accessLog);
  return {
    metrics,
    middleware: requestObserver({ metrics, accessLog }),
    async close() {
      await accessLog?.close();
    },
  };
}
