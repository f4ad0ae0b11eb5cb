/**
 * The admin server, on its own port (GATEWAY_ADMIN_HOST:GATEWAY_ADMIN_PORT,
 * loopback by default: nothing here is authenticated):
 *
 *   GET /health            the process is up
 *   GET /ready             the watcher is connected and the route table loaded; 503 with the reasons otherwise
 *   GET /routes            the route table with live per-instance counters
 *   GET /routes/<service>  one service of it
 *   GET /metrics           Prometheus metrics
 *   GET /                  the dashboard page; GET /events its live feed (Server-Sent Events)
 *
 * Errors leave in the gateway's one JSON shape, through the same errorMiddleware.
 */
import { createServer, type Server } from "node:http";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import Koa, { type Context } from "koa";
import Router from "@koa/router";
import createDebug from "debug";
import { isValidServiceName } from "../service-name.js";
import { errorMiddleware } from "../error-middleware.js";
import { adminTokenGuard } from "./admin-token.js";
import { GatewayError } from "../errors.js";
import type { Instance } from "../discovery/instance.js";
import type { InstanceStatsRegistry } from "../routing/instance-stats.js";
import type { OutlierState } from "../routing/outlier-detector.js";
import type { RouteStore } from "../routing/route-store.js";
import { REGISTRY_TITLES, type RegistryKind } from "../registry-kind.js";
import type { MetricsExposition } from "../observability/metrics.js";
import type { TableChangeLog } from "../observability/table-change-log.js";
import { dashboardAssets, type DashboardAssets } from "./dashboard-assets.js";
import { DashboardEvents } from "./dashboard-events.js";
import { readiness } from "./readiness.js";
import type { GatewayConfig } from "../config.js";
import { tableView, serviceView, type WeightPolicy } from "./table-view.js";
import type { DashboardSnapshot, ReadinessView } from "./view-types.js";

const debug = createDebug("gateway:admin");

export interface AdminDeps {
  store: RouteStore;
  stats: InstanceStatsRegistry;
  events: TableChangeLog;
  metrics: MetricsExposition;
  watcher: { readonly running: boolean; readonly childPid: number | undefined; readonly restarts: number };
  /** GATEWAY_SERVICES, which readiness waits for. */
  services: readonly string[];
  /** True once the gateway drains on its way out: /ready then answers 503. */
  draining: () => boolean;
  /** GATEWAY_REGISTRY: where the watcher discovers instances. */
  registry: RegistryKind;
  /** What instances' weights depend on, for /routes (GATEWAY_WARMUP_MS, GATEWAY_WARNING_WEIGHT_PERCENT). */
  policy: WeightPolicy;
  /** GATEWAY_ADMIN_TOKEN: when set, all but /health and /ready ask for it as a bearer token. */
  token?: string | undefined;
  /** A service's passive health now, for /routes. */
  outliers: (instances: readonly Instance[], now: number) => OutlierState;
  /** What the watcher said about itself that /ready's details show (a move to the shared watch). */
  watcherNotices: () => readonly string[];
}

/** The admin server's deps that come from the settings alone, the same for a gateway process and a cluster's primary. */
export function adminSettings(config: GatewayConfig): Pick<AdminDeps, "services" | "registry" | "policy" | "token"> {
  return {
    services: config.services,
    registry: config.registry,
    policy: { warmUpMs: config.warmUpMs, warningWeightPercent: config.warningWeightPercent },
    token: config.adminToken,
  };
}

export interface AdminServer {
  readonly port: number;
  readonly server: Server;
  close(): Promise<void>;
}

const PAGE_HEADERS = {
  // The page loads only its own script and stylesheet, and is never framed.
  "content-security-policy": "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "cache-control": "no-cache",
};

export function createAdminApp(deps: AdminDeps, dashboardEvents: DashboardEvents): Koa {
  const { store, stats, metrics, policy } = deps;
  const app = new Koa();
  app.silent = true;
  const router = new Router();
  const startedAt = Date.now();

  router.get("/health", (ctx) => {
    ctx.body = { status: "ok", uptimeSeconds: Math.round((Date.now() - startedAt) / 1000) };
  });

  router.get("/ready", (ctx) => {
    const view = currentReadiness(deps);
    ctx.status = view.ready ? 200 : 503;
    ctx.body = view;
  });

  router.get("/routes", (ctx) => {
    ctx.body = tableView(store.current, stats, { policy, outliers: deps.outliers });
  });

  router.get("/routes/:service", (ctx) => {
    const name = ctx.params.service!;
    if (!isValidServiceName(name)) throw new GatewayError("INVALID_SERVICE_NAME", "a service name has 1-128 letters, digits, '-', '_' or '.'", name.slice(0, 128));
    const routes = store.current.get(name);
    if (routes === undefined) {
      throw new GatewayError("UNKNOWN_SERVICE", "the route table has no entry for this service (services enter it through GATEWAY_SERVICES or their first request)", name);
    }
    ctx.body = serviceView(name, routes, stats, { policy, outliers: deps.outliers });
  });

  router.get("/metrics", async (ctx) => {
    ctx.type = metrics.contentType;
    ctx.body = await metrics.exposition();
  });

  router.get("/events", (ctx) => dashboardEvents.open(ctx));

  for (const path of ["/", "/dashboard.css", "/dashboard.js"] as const) {
    router.get(path, async (ctx: Context) => {
      const asset = (await dashboardAssets())[path as keyof DashboardAssets];
      ctx.set(PAGE_HEADERS);
      ctx.type = asset.contentType;
      ctx.body = asset.body;
    });
  }

  // Browsers ask for it on every page; the page has none, and "none" is not an error.
  router.get("/favicon.ico", (ctx) => {
    ctx.status = 204;
  });

  app.use(errorMiddleware);
  if (deps.token !== undefined) app.use(adminTokenGuard(deps.token));
  app.use(router.routes());
  app.use(() => {
    throw new GatewayError("ROUTE_NOT_FOUND", "admin API: GET /health, /ready, /routes, /routes/<service>, /metrics, / (dashboard)");
  });
  return app;
}

function currentReadiness(deps: AdminDeps): ReadinessView {
  return readiness({ watcherRunning: deps.watcher.running, table: deps.store.current, services: deps.services, draining: deps.draining(), watcherNotices: deps.watcherNotices() });
}

/** What the dashboard's `snapshot` event carries. */
export function dashboardSnapshot(deps: AdminDeps): DashboardSnapshot {
  const { store, stats, events, watcher } = deps;
  return {
    readiness: currentReadiness(deps),
    watcher: { running: watcher.running, pid: watcher.childPid ?? null, restarts: watcher.restarts, registry: REGISTRY_TITLES[deps.registry], registryErrors: events.totalRegistryErrors },
    routes: tableView(store.current, stats, { policy: deps.policy, outliers: deps.outliers }),
  };
}

export async function startAdminServer(host: string, port: number, deps: AdminDeps): Promise<AdminServer> {
  const dashboardEvents = new DashboardEvents({ snapshot: () => dashboardSnapshot(deps), events: deps.events });
  const server = createServer(createAdminApp(deps, dashboardEvents).callback());
  server.listen(port, host);
  await once(server, "listening");
  const address = server.address() as AddressInfo;
  debug("admin API and dashboard on http://%s:%d/", host, address.port);
  return {
    port: address.port,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        dashboardEvents.close();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
