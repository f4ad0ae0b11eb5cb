/**
 * Wires what lets people see a running gateway: the request observer
 * (metrics and access log) for the proxy app, and the admin server (API,
 * dashboard, /metrics). gateway.ts creates it and hooks it in at two places:
 * the middleware, and the route events its watcher messages are published to.
 */
import type { Middleware } from "koa";
import type { GatewayConfig } from "../config.js";
import type { WatcherStatus } from "../discovery/route-source.js";
import type { InstanceStatsRegistry } from "../routing/instance-stats.js";
import type { RouteStore } from "../routing/route-store.js";
import { startAdminServer, type AdminServer } from "../admin/admin-server.js";
import { openAccessLog } from "./access-log.js";
import { GatewayMetrics } from "./metrics.js";
import { requestObserver } from "./request-observer.js";
import type { RouteEvents } from "./route-events.js";

export interface ObservedParts {
  store: RouteStore;
  stats: InstanceStatsRegistry;
  /** The route source's view of the watcher (the supervisor's own in one process). */
  watcher: WatcherStatus;
  events: RouteEvents;
  /** True once the gateway drains on its way out (for /ready). */
  draining: () => boolean;
}

export interface Observability {
  readonly metrics: GatewayMetrics;
  /** Registered first in the proxy app. */
  readonly middleware: Middleware;
  /** Starts the admin server; resolves with its port. */
  listen(): Promise<number>;
  /** Stops the admin server and flushes the access log. */
  close(): Promise<void>;
}

export function createObservability(config: GatewayConfig, { store, stats, watcher, events, draining }: ObservedParts): Observability {
  const metrics = new GatewayMetrics({ store, events, watcherRestarts: () => watcher.restarts });
  const accessLog = openAccessLog(config.accessLog);
  let admin: AdminServer | undefined;
  return {
    metrics,
    middleware: requestObserver({ metrics, accessLog }),
    async listen() {
      admin = await startAdminServer(config.adminHost, config.adminPort, {
        store,
        stats,
        events,
        metrics,
        watcher,
        services: config.services,
        draining,
        registry: config.registry,
        policy: { warmUpMs: config.warmUpMs, warningWeightPercent: config.warningWeightPercent },
      });
      return admin.port;
    },
    async close() {
      await Promise.all([admin?.close(), accessLog?.close()]);
    },
  };
}
