/**
 * Wires what lets people see the proxy's traffic: the request observer
 * (metrics and access log) for the proxy app. gateway.ts creates it, hooks in
 * the middleware and hands the metrics to the admin server it starts.
 */
import type { Middleware } from "koa";
import type { GatewayConfig } from "../config.js";
import type { WatcherStatus } from "../discovery/discovery-feed.js";
import type { RouteStore } from "../routing/route-store.js";
import { randomUUID } from "node:crypto";
import { accessLogPath, openAccessLog } from "./access-log.js";
import type { ServiceRoutes } from "../routing/route-table.js";
import type { OutlierState } from "../routing/outlier-detector.js";
import { GatewayMetrics } from "./metrics.js";
import { requestObserver } from "./request-observer.js";
import type { TableChangeLog } from "./table-change-log.js";

export interface ObservedParts {
  store: RouteStore;
  /** The discovery feed's view of the watcher (the supervisor's own in one process). */
  watcher: WatcherStatus;
  events: TableChangeLog;
  /** A service's passive health now, for the outlier gauges. */
  outliers: (routes: ServiceRoutes) => OutlierState;
  /** Upgraded (WebSocket) connections open now to a service's instances. */
  upgradedConnections?: ((service: string) => number) | undefined;
}

export interface Observability {
  readonly metrics: GatewayMetrics;
  /** Registered first in the proxy app. */
  readonly middleware: Middleware;
  /**
   * Records a request answered outside the Koa app (CONNECT, on the server's
   * 'connect' event): one access-log line and the request counters, as for any other.
   */
  refused(request: { method: string; path: string; status: number; error: string }): void;
  /** Flushes the access log. */
  close(): Promise<void>;
}

export function createObservability(config: GatewayConfig, { store, events, watcher, outliers, upgradedConnections }: ObservedParts): Observability {
  const metrics = new GatewayMetrics({ store, events, watcherRestarts: () => watcher.restarts, outliers, upgradedConnections });
  const accessLog = openAccessLog(config.accessLog);
  return {
    metrics,
    middleware: requestObserver({ metrics, accessLog }),
    refused({ method, path, status, error }) {
      metrics.requestStarted();
      metrics.requestFinished({ service: undefined, instance: undefined, status, upstreamSeconds: undefined, errorCode: error, retries: 0, ejections: [] });
      accessLog?.write({
        method,
        path: accessLogPath(path),
        service: undefined,
        instance: undefined,
        status,
        bytes: 0,
        durationMs: 0,
        retries: 0,
        requestId: randomUUID(),
        error,
        aborted: false,
      });
    },
    async close() {
      await accessLog?.close();
    },
  };
}
