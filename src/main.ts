#!/usr/bin/env node
/**
/**
 * Starts the gateway: config from the environment and flags, then one gateway
 * process (the default), or with GATEWAY_WORKERS > 1 a cluster primary that
 * forks the workers, each of which runs this file again as a worker.
 * `koa-consul-gateway routes ...` prints a running gateway's route table instead.
 */
import cluster from "node:cluster";
import { ConfigError, loadConfig, type GatewayConfig } from "./config.js";
import { startGateway } from "./gateway/gateway.js";
import { startClusterPrimary } from "./cluster/primary.js";
import { PrimaryDiscoveryFeed } from "./cluster/primary-discovery-feed.js";
import { answerReportRequests } from "./cluster/worker-report.js";
import { WatcherSupervisor, supervisorOptions } from "./discovery/supervisor.js";
import { describeRegistry, registryConfig } from "./discovery/registries/create-registry.js";

if (process.argv[2] === "registrar") {
  const { runRegistrar } = await import("./registrar/main.js");
  process.exit(await runRegistrar(process.argv.slice(3), process.env));
}
if (process.argv[2] === "routes") {
  const { runRoutesCommand } = await import("./admin/routes-cli.js");
  process.exit(await runRoutesCommand(process.argv.slice(3), process.env));
}

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

const registryName = describeRegistry(registryConfig(config));
let stop: () => Promise<void>;
try {
  if (cluster.isWorker) {
    // The admin server runs in the primary, for the whole cluster: a worker reports its figures to it when asked.
    const gateway = await startGateway(config, new PrimaryDiscoveryFeed(), { admin: false });
    const stopAnswering = answerReportRequests(gateway);
    stop = async () => {
      await gateway.close();
      stopAnswering();
    };
  } else if (config.workers > 1) {
    const primary = await startClusterPrimary(config);
    console.log(`koa-consul-gateway listening on ${config.host}:${primary.port} with ${config.workers} workers (pids ${primary.workerPids().join(" ")}), ${registryName}; admin API and dashboard on http://${config.adminHost}:${primary.adminPort}/`);
    stop = () => primary.stop();
  } else {
    const gateway = await startGateway(config, new WatcherSupervisor(supervisorOptions(config)));
    const https = gateway.httpsPort === undefined ? "" : `, HTTPS (h2, http/1.1) on ${gateway.httpsPort}`;
    console.log(`koa-consul-gateway listening on ${config.host}:${gateway.port}${config.h2c ? " (HTTP/1.1 and h2c)" : ""}${https}, ${registryName}, admin API and dashboard on http://${config.adminHost}:${gateway.adminPort}/`);
    stop = () => gateway.close();
  }
} catch (err) {
  // A port in use (GATEWAY_PORT or GATEWAY_ADMIN_PORT) and the like: one line, not a stack trace.
  console.error(`koa-consul-gateway: cannot start: ${(err as Error).message}`);
  process.exit(1);
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
