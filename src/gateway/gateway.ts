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
import { createBalancer } from "../routing/balancers/index.js";
import { InstanceStatsRegistry } from "../routing/instance-stats.js";
import { RouteStore } from "../routing/route-store.js";
import { createObservability } from "../observability/observability.js";
import { RouteEvents } from "../observability/route-events.js";
import { createGatewayApp } from "./app.js";
import { applyWatcherMessage } from "./route-updates.js";
import { ServiceResolver } from "./service-resolver.js";

const debug = createDebug("gateway:server");

export interface Gateway {
  readonly port: number;
  /** The admin API and dashboard's port (GATEWAY_ADMIN_PORT). */
  readonly adminPort: number;
  readonly store: RouteStore;
  readonly stats: InstanceStatsRegistry;
  readonly supervisor: WatcherSupervisor;
  readonly server: Server;
  close(): Promise<void>;
}

export async function startGateway(config: GatewayConfig): Promise<Gateway> {
  const store = new RouteStore();
  const stats = new InstanceStatsRegistry();
  const events = new RouteEvents();
  const supervisor = new WatcherSupervisor({
    consul: {
      addresses: config.consulAddresses,
      token: config.consulToken,
      waitMs: config.consulWaitMs,
      backoffMaxMs: config.watcherRestartMaxMs,
    },
    restartMaxMs: config.watcherRestartMaxMs,
    onMessage: (message) => {
      applyWatcherMessage(store, stats, message);
      if (message.type === "watch-error") events.watchError(message);
      else events.tableSwapped(store.current);
    },
  });
  supervisor.start();
  for (const service of config.services) supervisor.subscribe(service);

  const forwarder = new Forwarder({ upstreamTimeoutMs: config.upstreamTimeoutMs });
  const resolver = new ServiceResolver(store, (service) => supervisor.subscribe(service), config.discoveryTimeoutMs);
  const observability = createObservability(config, { store, stats, supervisor, events });
  const app = createGatewayApp({ resolver, balancer: createBalancer(config.balancer), forwarder, stats, observe: observability.middleware });

  const server = createServer(app.callback());
  server.listen(config.port, config.host);
  let adminPort: number;
  try {
    await once(server, "listening");
    adminPort = await observability.listen();
  } catch (err) {
    if (server.listening) await new Promise((resolve) => server.close(resolve));
    await Promise.all([supervisor.stop(), observability.close()]);
    throw err;
  }
  const port = (server.address() as AddressInfo).port;
  debug("listening on %s:%d", config.host, port);

  return {
    port,
    adminPort,
    store,
    stats,
    supervisor,
    server,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      await Promise.all([closed, supervisor.stop()]);
      // After the proxy server: the last requests still get their access log lines.
      await Promise.all([forwarder.close(), observability.close()]);
    },
  };
}
