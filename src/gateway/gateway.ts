/**
 * One gateway process: the route store fed by a route source, and the Koa app
 * on an HTTP server. `startGateway` returns once listening. The source is the
 * watcher supervisor in a single process and the cluster primary in a worker
 * (see src/discovery/route-source.ts); the gateway does not care which.
 */
import { createServer, type Server } from "node:http";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import createDebug from "debug";
import type { GatewayConfig } from "../config.js";
import type { RouteSource } from "../discovery/route-source.js";
import { Forwarder } from "../proxy/forwarder.js";
import { createBalancer } from "../routing/balancers/index.js";
import { InstanceStatsRegistry } from "../routing/instance-stats.js";
import { RouteStore } from "../routing/route-store.js";
import { createGatewayApp } from "./app.js";
import { applyWatcherMessage } from "./route-updates.js";
import { ServiceResolver } from "./service-resolver.js";

const debug = createDebug("gateway:server");

export interface Gateway {
  readonly port: number;
  readonly store: RouteStore;
  readonly stats: InstanceStatsRegistry;
  readonly routes: RouteSource;
  readonly server: Server;
  close(): Promise<void>;
}

export async function startGateway(config: GatewayConfig, routes: RouteSource): Promise<Gateway> {
  const store = new RouteStore();
  const stats = new InstanceStatsRegistry();
  routes.start((message) => applyWatcherMessage(store, stats, message));
  for (const service of config.services) routes.subscribe(service);

  const forwarder = new Forwarder({ upstreamTimeoutMs: config.upstreamTimeoutMs });
  const resolver = new ServiceResolver(store, (service) => routes.subscribe(service), config.discoveryTimeoutMs);
  const app = createGatewayApp({ resolver, balancer: createBalancer(config.balancer), forwarder, stats });

  const server = createServer(app.callback());
  server.listen(config.port, config.host);
  try {
    await once(server, "listening");
  } catch (err) {
    await routes.stop();
    throw err;
  }
  const port = (server.address() as AddressInfo).port;
  debug("listening on %s:%d", config.host, port);

  return {
    port,
    store,
    stats,
    routes,
    server,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      await Promise.all([closed, routes.stop()]);
      await forwarder.close();
    },
  };
}
