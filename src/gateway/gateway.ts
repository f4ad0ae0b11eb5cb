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
import type { Server } from "node:http";
import { readFileSync } from "node:fs";
import createDebug from "debug";
import type { GatewayConfig } from "../config.js";
import type { DiscoveryFeed } from "../discovery/discovery-feed.js";
import { Forwarder } from "../proxy/forwarder.js";
import { TrailerForwarder } from "../proxy/trailer-forwarder.js";
import { UpgradeForwarder } from "../proxy/upgrade-forwarder.js";
import { H2cForwarder } from "../proxy/h2-forwarder.js";
import { ServiceBalancers } from "../routing/balancers/index.js";
import { InstanceStatsRegistry } from "../routing/instance-stats.js";
import { OutlierDetector, outlierOptions } from "../routing/outlier-detector.js";
import { RouteStore } from "../routing/route-store.js";
import { adminSettings, startAdminServer, type AdminServer } from "../admin/admin-server.js";
import { createObservability } from "../observability/observability.js";
import type { GatewayMetrics } from "../observability/metrics.js";
import { TableChangeLog } from "../observability/table-change-log.js";
import { TrafficWeights } from "../routing/traffic-weights.js";
import { createGatewayApp } from "./app.js";
import { deferContinue } from "./expect-continue.js";
import { refuseConnect } from "./refused-methods.js";
import { ExposurePolicy } from "../routing/exposure.js";
import { answerClientError } from "./client-errors.js";
import { startListeners, type Listeners } from "./listeners.js";
import { CertificateStore } from "./tls-certificates.js";
import { loadSnapshot, SnapshotWriter } from "../routing/table-snapshot.js";
import { TableUpdater } from "../routing/table-updater.js";
import { RequestRouter } from "../routing/request-router.js";
import { ServiceResolver } from "../routing/service-resolver.js";
import { Subscriptions } from "../routing/subscriptions.js";
import type { RouteTable } from "../routing/route-table.js";
import { DepartedUpgrades } from "./departed-upgrades.js";
import { handleUpgrades } from "./upgrade-handler.js";

const debug = createDebug("gateway:server");

export interface Gateway {
  readonly port: number;
  /** The HTTPS listener's port (GATEWAY_HTTPS_PORT); undefined without one. */
  readonly httpsPort: number | undefined;
  /** The admin API and dashboard's port (GATEWAY_ADMIN_PORT); undefined when started with `admin: false`. */
  readonly adminPort: number | undefined;
  readonly store: RouteStore;
  readonly stats: InstanceStatsRegistry;
  readonly routes: DiscoveryFeed;
  /** The plain port's HTTP/1.1 server. */
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
  const upstreamCa = config.upstreamCaFile === undefined ? undefined : readFileSync(config.upstreamCaFile);
  const upgrader = new UpgradeForwarder({
    handshakeTimeoutMs: config.websocketHandshakeTimeoutMs,
    idleTimeoutMs: config.websocketIdleTimeoutMs,
    upstreamCa,
  });
  const departed = new DepartedUpgrades(upgrader, () => store.current, config.websocketDeregisteredGraceMs);
  const exposure = ExposurePolicy.of(config);
  let subscriptions: Subscriptions | undefined;
  let lastCatalog: RouteTable["catalog"];
  const updater: TableUpdater = new TableUpdater(
    store,
    stats,
    config.coalesceMs,
    (table) => {
      snapshot?.schedule(table);
      events.tableSwapped(table);
      departed.tableSwapped(table);
      if (table.catalog !== lastCatalog && table.catalog !== undefined) subscriptions?.catalogChanged(table.catalog.services, updater.hidden);
      lastCatalog = table.catalog;
    },
    exposure,
  );
  if (config.snapshotFile !== undefined) {
    // Routes from the last run serve until Consul answers (fail static across restarts).
    const saved = await loadSnapshot(config.snapshotFile, (message) => console.warn(`koa-consul-gateway: ${message}`));
    for (const message of saved) updater.apply(message);
    updater.flush();
    lastCatalog = store.current.catalog;
  }
  /** What the watcher said about itself, for /ready's details. */
  let watcherNotices: readonly string[] = [];
  routes.start((message) => {
    if (message.type === "watch-error") events.watchError(message);
    if (message.type === "watch-mode") {
      console.warn(`koa-consul-gateway: ${message.message}`);
      watcherNotices = [message.message];
    }
    updater.apply(message);
  });
  subscriptions = new Subscriptions(
    { idleMs: config.subscriptionIdleMs, pinned: config.services },
    (service) => routes.subscribe(service),
    (services) => {
      for (const service of services) routes.unsubscribe(service);
      updater.release(services);
    },
  );
  // The snapshot's services (exposed ones: the updater applied the policy to them): the watcher
  // replaces their saved lists once Consul answers. The configured ones are subscribed once a
  // catalog says they are not hidden (Subscriptions.catalogChanged), never before.
  for (const service of store.current.serviceNames()) subscriptions.use(service);
  if (store.current.catalog !== undefined) subscriptions.catalogChanged(store.current.catalog.services, updater.hidden);
  subscriptions.start();

  const forwarder = new Forwarder({ upstreamTimeoutMs: config.upstreamTimeoutMs, connectTimeoutMs: config.connectTimeoutMs, maxResponseHeaderBytes: config.maxResponseHeaderBytes, upstreamCa });
  const trailerForwarder = new TrailerForwarder({ upstreamTimeoutMs: config.upstreamTimeoutMs, upstreamCa });
  const resolver = new ServiceResolver(store, subscriptions, config.discoveryTimeoutMs);
  const h2cForwarder = new H2cForwarder({ upstreamTimeoutMs: config.upstreamTimeoutMs, connectTimeoutMs: config.connectTimeoutMs, maxResponseHeaderBytes: config.maxResponseHeaderBytes });
  const outliers = new OutlierDetector(stats, outlierOptions(config));
  let draining = false;
  const observability = createObservability(config, {
    store,
    watcher: routes,
    events,
    outliers: (routes) => outliers.state(routes.instances),
    upgradedConnections: (service) => upgrader.openTo(service),
  });
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
    trailerForwarder,
    upgrader,
    h2cForwarder,
    stats,
    outliers,
    retry: { maxAttempts: config.retryAttempts, deadlineMs: config.retryDeadlineMs },
    maxBodyBytes: config.maxBodyBytes,
    forwarding: { trustedProxies: config.trustedProxies, emitForwarded: config.emitForwarded, preserveHost: config.preserveHost },
    limits: { maxUrlLength: config.maxUrlLength, maxHeaderCount: config.maxHeaderCount, maxBodyBytes: config.maxBodyBytes },
    draining: () => draining,
    observe: observability.middleware,
  });

  const handle = app.callback();
  // Each server that parses HTTP/1.1 (or HTTP/2) requests: upgrades, CONNECT and deferred 100 Continue.
  const prepare = (server: Server): void => {
    handleUpgrades(server, handle);
    server.on("connect", refuseConnect((entry) => observability.refused(entry)));
    // 100 Continue is sent by the proxy handler once the request is routable and within limits.
    server.on("checkContinue", deferContinue(handle));
  };
  let listeners: Listeners | undefined;
  let adminServer: AdminServer | undefined;
  try {
    // Read at start: a bad certificate stops the start with openssl's reason, as a bad setting does.
    const certificates =
      config.httpsPort === undefined
        ? undefined
        : new CertificateStore(
            { certFile: config.tlsCert, keyFile: config.tlsKey, dir: config.tlsDir },
            { info: (message) => debug("%s", message), warn: (message) => console.warn(`koa-consul-gateway: ${message}`) },
          );
    listeners = await startListeners(
      {
        host: config.host,
        port: config.port,
        httpsPort: config.httpsPort,
        certificates,
        certificateReloadMs: config.tlsReloadMs,
        h2c: config.h2c,
        redirectToHttps: config.httpsRedirect,
        http1: {
          maxHeaderSize: config.maxHeaderBytes,
          headersTimeout: config.clientHeadersTimeoutMs,
          requestTimeout: config.clientRequestTimeoutMs,
          keepAliveTimeout: config.clientIdleTimeoutMs,
          // Node checks those timeouts on this interval (30 s by default): check often enough to honour them.
          connectionsCheckingInterval: Math.max(50, Math.min(30_000, Math.floor(config.clientHeadersTimeoutMs / 4))),
        },
        maxHeaderCount: config.maxHeaderCount,
        maxHeaderBytes: config.maxHeaderBytes,
        headersTimeoutMs: config.clientHeadersTimeoutMs,
        idleTimeoutMs: config.clientIdleTimeoutMs,
        onClientError: answerClientError,
        prepare,
      },
      handle,
    );
    if (admin) {
      adminServer = await startAdminServer(config.adminHost, config.adminPort, {
        store,
        stats,
        events,
        metrics: observability.metrics,
        watcher: routes,
        ...adminSettings(config),
        draining: () => draining,
        outliers: (instances, now) => outliers.state(instances, now),
        watcherNotices: () => watcherNotices,
      });
    }
  } catch (err) {
    // Any port may be the one in use: whatever did start is stopped again.
    await listeners?.close();
    await Promise.all([routes.stop(), observability.close()]);
    updater.stop();
    subscriptions?.stop();
    throw err;
  }
  const serving: Listeners = listeners;
  const { port, httpsPort } = serving;
  const server = serving.http1;
  debug("listening on %s:%d", config.host, port);

  let closing: Promise<void> | undefined;
  async function drainAndClose(): Promise<void> {
    draining = true;
    debug("draining: no new connections, up to %d ms for requests in flight", config.shutdownGraceMs);
    const closed = serving.close();
    serving.closeIdleConnections();
    let timer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, config.shutdownGraceMs);
    });
    await Promise.race([closed, graceOver]);
    clearTimeout(timer);
    // Whatever is still open after the grace period is cut, upgraded connections too.
    serving.closeAllConnections();
    upgrader.destroyAll();
    departed.stop();
    await Promise.all([closed, routes.stop()]);
    updater.stop();
    subscriptions?.stop();
    // After the proxy server: the last requests still get their access log lines.
    await snapshot?.flush();
    trailerForwarder.close();
    await Promise.all([forwarder.close(), h2cForwarder.close(), adminServer?.close(), observability.close()]);
    debug("closed");
  }

  return {
    port,
    httpsPort,
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
