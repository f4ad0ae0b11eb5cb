/**
 * One gateway process: the route store fed by a discovery feed, and the Koa app
 * on an HTTP server. The feed is the watcher supervisor in a single process
 * and the cluster primary in a worker (see src/discovery/discovery-feed.ts); the
 * gateway does not care which. `startGateway` returns once listening; `close`
 * drains it: no new connections, requests in flight finish (within the grace
 * period), then the discovery feed is stopped. Beside the proxy, the admin
 * server (API, dashboard, /metrics) listens on a port of its own, unless
 * `admin: false` (cluster workers: the primary serves it for them, see docs/deployment.md).
 */
import { createServer, type Server } from "node:http";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import createDebug from "debug";
import type { GatewayConfig } from "../config.js";
import type { DiscoveryFeed } from "../discovery/discovery-feed.js";
import { Forwarder } from "../proxy/forwarder.js";
import { ServiceBalancers } from "../routing/balancers/index.js";
import { InstanceStatsRegistry } from "../routing/instance-stats.js";
import { OutlierDetector } from "../routing/outlier-detector.js";
import { RouteStore } from "../routing/route-store.js";
import { startAdminServer, type AdminServer } from "../admin/admin-server.js";
import { createObservability } from "../observability/observability.js";
import type { GatewayMetrics } from "../observability/metrics.js";
import { TableChangeLog } from "../observability/table-change-log.js";
import { TrafficWeights } from "../routing/traffic-weights.js";
import { createGatewayApp } from "./app.js";
import { answerClientError } from "./client-errors.js";
import { loadSnapshot, SnapshotWriter } from "../routing/table-snapshot.js";
import { TableUpdater } from "../routing/table-updater.js";
import { RequestRouter } from "../routing/request-router.js";
import { ServiceResolver } from "../routing/service-resolver.js";

const debug = createDebug("gateway:server");

export interface Gateway {
  readonly port: number;
  /** The admin API and dashboard's port (GATEWAY_ADMIN_PORT); undefined when started with `admin: false`. */
  readonly adminPort: number | undefined;
  readonly store: RouteStore;
  readonly stats: InstanceStatsRegistry;
  readonly routes: DiscoveryFeed;
  readonly server: Server;
  /** This process's metrics (a cluster worker reports them to the primary). */
  readonly metrics: GatewayMetrics;
  close(): Promise<void>;
}

export interface GatewayOptions {
  /** Start the admin server (API, dashboard, /metrics); true unless said otherwise. */
  admin?: boolean;
}

export async function startGateway(config: GatewayConfig, routes: DiscoveryFeed, { admin = true }: GatewayOptions = {}): Promise<Gateway> {
  const store = new RouteStore();
  const stats = new InstanceStatsRegistry();
  const snapshot = config.snapshotFile === undefined ? undefined : new SnapshotWriter(config.snapshotFile);
  const events = new TableChangeLog({ registry: config.registry });
  const updater = new TableUpdater(store, stats, config.coalesceMs, (table) => {
    snapshot?.schedule(table);
    events.tableSwapped(table);
  });
  if (config.snapshotFile !== undefined) {
    // Routes from the last run serve until Consul answers (fail static across restarts).
    const saved = await loadSnapshot(config.snapshotFile, (message) => console.warn(`koa-consul-gateway: ${message}`));
    for (const message of saved) updater.apply(message);
    updater.flush();
  }
  routes.start((message) => {
    if (message.type === "watch-error") events.watchError(message);
    updater.apply(message);
  });
  // The snapshot's services too: the watcher replaces their saved lists once Consul answers.
  for (const service of new Set([...config.services, ...store.current.serviceNames()])) routes.subscribe(service);

  const forwarder = new Forwarder({ upstreamTimeoutMs: config.upstreamTimeoutMs });
  const resolver = new ServiceResolver(store, (service) => routes.subscribe(service), config.discoveryTimeoutMs);
  const outliers = new OutlierDetector(stats, {
    consecutiveFailures: config.outlierConsecutiveFailures,
    baseEjectionMs: config.outlierEjectionMs,
    maxEjectionMs: config.outlierMaxEjectionMs,
  });
  let draining = false;
  const observability = createObservability(config, { store, watcher: routes, events });
  const requestRouter = new RequestRouter(store, () => resolver.catalog(), config);
  const weights = new TrafficWeights(stats, config);
  const balancer = new ServiceBalancers(
    { defaultBalancer: config.balancer, serviceBalancers: config.serviceBalancers },
    { stats, weights, hashKey: config.hashKey },
  );
  const app = createGatewayApp({
    requestRouter,
    resolver,
    balancer,
    forwarder,
    stats,
    outliers,
    retry: { maxAttempts: config.retryAttempts, deadlineMs: config.retryDeadlineMs },
    maxBodyBytes: config.maxBodyBytes,
    preserveHost: config.preserveHost,
    limits: { maxUrlLength: config.maxUrlLength, maxHeaderCount: config.maxHeaderCount, maxBodyBytes: config.maxBodyBytes },
    draining: () => draining,
    observe: observability.middleware,
  });

  const server = createServer(
    {
      maxHeaderSize: config.maxHeaderBytes,
      headersTimeout: config.clientHeadersTimeoutMs,
      requestTimeout: config.clientRequestTimeoutMs,
      // Node checks those timeouts on this interval (30 s by default): check often enough to honour them.
      connectionsCheckingInterval: Math.max(50, Math.min(30_000, Math.floor(config.clientHeadersTimeoutMs / 4))),
    },
    app.callback(),
  );
  // One more than the limit, so that request-limits.ts can see the limit was passed and say so.
  server.maxHeadersCount = config.maxHeaderCount + 1;
  server.on("clientError", answerClientError);
  server.listen(config.port, config.host);
  let adminServer: AdminServer | undefined;
  try {
    await once(server, "listening");
    if (admin) {
      adminServer = await startAdminServer(config.adminHost, config.adminPort, {
        store,
        stats,
        events,
        metrics: observability.metrics,
        watcher: routes,
        services: config.services,
        draining: () => draining,
        registry: config.registry,
        policy: { warmUpMs: config.warmUpMs, warningWeightPercent: config.warningWeightPercent },
      });
    }
  } catch (err) {
    // Either port may be the one in use: whatever did start is stopped again.
    if (server.listening) await new Promise((resolve) => server.close(resolve));
    await Promise.all([routes.stop(), observability.close()]);
    updater.stop();
    throw err;
  }
  const port = (server.address() as AddressInfo).port;
  debug("listening on %s:%d", config.host, port);

  let closing: Promise<void> | undefined;
  async function drainAndClose(): Promise<void> {
    draining = true;
    debug("draining: no new connections, up to %d ms for requests in flight", config.shutdownGraceMs);
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    let timer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, config.shutdownGraceMs);
    });
    await Promise.race([closed, graceOver]);
    clearTimeout(timer);
    // Whatever is still open after the grace period is cut.
    server.closeAllConnections();
    await Promise.all([closed, routes.stop()]);
    updater.stop();
    // After the proxy server: the last requests still get their access log lines.
    await snapshot?.flush();
    await Promise.all([forwarder.close(), adminServer?.close(), observability.close()]);
    debug("closed");
  }

  return {
    port,
    adminPort: adminServer?.port,
    store,
    stats,
    routes,
    server,
    metrics: observability.metrics,
    close() {
      closing ??= drainAndClose();
      return closing;
    },
  };
}
