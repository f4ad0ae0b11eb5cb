#!/usr/bin/env node
/**
 * Starts the gateway: config from the environment and flags, then one gateway
 * process (the default), or with GATEWAY_WORKERS > 1 a cluster primary that
 * forks the workers, each of which runs this file again as a worker.
 */
import cluster from "node:cluster";
import { ConfigError, loadConfig, type GatewayConfig } from "./config.js";
import { startGateway } from "./gateway/gateway.js";
import { startClusterPrimary } from "./cluster/primary.js";
import { PrimaryRouteSource } from "./cluster/primary-route-source.js";
import { WatcherSupervisor, supervisorOptions } from "./discovery/supervisor.js";

let config: GatewayConfig;
try {
  config = loadConfig(process.env, process.argv.slice(2));
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(`koa-consul-gateway: invalid configuration: ${err.message}`);
    process.exit(2);
  }
  throw err;
}

const consulNames = config.consulAddresses.map((a) => `${a.host}:${a.port}`).join(", ");
let stop: () => Promise<void>;
if (cluster.isWorker) {
  const gateway = await startGateway(config, new PrimaryRouteSource());
  stop = () => gateway.close();
} else if (config.workers > 1) {
  const primary = await startClusterPrimary(config);
  console.log(`koa-consul-gateway listening on ${config.host}:${primary.port} with ${config.workers} workers (pids ${primary.workerPids().join(" ")}), Consul at ${consulNames}`);
  stop = () => primary.stop();
} else {
  const gateway = await startGateway(config, new WatcherSupervisor(supervisorOptions(config)));
  console.log(`koa-consul-gateway listening on ${config.host}:${gateway.port}, Consul at ${consulNames}`);
  stop = () => gateway.close();
}

let stopping = false;
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    stop().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error("koa-consul-gateway: error while stopping:", err);
        process.exit(1);
      },
    );
  });
}
