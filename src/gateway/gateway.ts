/**
 * One gateway process: the route store fed by the supervised watcher child,
 * and the Koa app on an HTTP server. `startGateway` returns once listening.
 */
import { createServer, type Server } from "node:http";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import createDebug from "debug";
import type { GatewayConfig } from "../config.js";
import { WatcherSupervisor } from "../discovery/supervisor.js";
import { Forwarder } from "../proxy/forwarder.js";
import { ServiceBalancers } from "../routing/balancers/index.js";
import { InstanceStatsRegistry } from "../routing/instance-stats.js";
import { RouteStore } from "../routing/route-store.js";
import { TrafficWeights } from "../routing/traffic-weights.js";
import { createGatewayApp } from "./app.js";
import { RequestRouter } from "./request-router.js";
import { applyWatcherMessage } from "./route-updates.js";
import { ServiceResolver } from "./service-resolver.js";

const debug = createDebug("gateway:server");

export interface Gateway {
  readonly port: number;
  readonly store: RouteStore;
  readonly stats: InstanceStatsRegistry;
  readonly supervisor: WatcherSupervisor;
  readonly server: Server;
  close(): Promise<void>;
}

export async function startGateway(config: GatewayConfig): Promise<Gateway> {
  const store = new RouteStore();
  const stats = new InstanceStatsRegistry();
  const supervisor = new WatcherSupervisor({
    consul: {
      addresses: config.consulAddresses,
      token: config.consulToken,
      waitMs: config.consulWaitMs,
      backoffMaxMs: config.watcherRestartMaxMs,
      includeWarning: config.healthStates.includes("warning"),
    },
    restartMaxMs: config.watcherRestartMaxMs,
    onMessage: (message) => applyWatcherMessage(store, stats, message),
  });
  supervisor.start();
  for (const service of config.services) supervisor.subscribe(service);

  const forwarder = new Forwarder({ upstreamTimeoutMs: config.upstreamTimeoutMs });
  const resolver = new ServiceResolver(store, (service) => supervisor.subscribe(service), config.discoveryTimeoutMs);
  const requestRouter = new RequestRouter(store, () => resolver.catalog(), config);
  const weights = new TrafficWeights(stats, config);
  const balancer = new ServiceBalancers(
    { defaultBalancer: config.balancer, serviceBalancers: config.serviceBalancers },
    { stats, weights, hashKey: config.hashKey },
  );
  const app = createGatewayApp({ requestRouter, resolver, balancer, forwarder, stats });

  const server = createServer(app.callback());
  server.listen(config.port, config.host);
  try {
    await once(server, "listening");
  } catch (err) {
    await supervisor.stop();
    throw err;
  }
  const port = (server.address() as AddressInfo).port;
  debug("listening on %s:%d", config.host, port);

  return {
    port,
    store,
    stats,
    supervisor,
    server,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      await Promise.all([closed, supervisor.stop()]);
      await forwarder.close();
    },
  };
}
