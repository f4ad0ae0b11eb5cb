#!/usr/bin/env node
/**
 * Starts the gateway: config from the environment and flags, then one gateway process.
 * `koa-consul-gateway routes ...` prints a running gateway's route table instead.
 */
import { ConfigError, loadConfig } from "./config.js";
import { startGateway } from "./gateway/gateway.js";
import { describeRegistry, registryConfig } from "./discovery/registries/create-registry.js";

if (process.argv[2] === "routes") {
  const { runRoutesCommand } = await import("./admin/routes-cli.js");
  process.exit(await runRoutesCommand(process.argv.slice(3), process.env));
}

let config;
try {
  config = loadConfig(process.env, process.argv.slice(2));
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(`koa-consul-gateway: invalid configuration: ${err.message}`);
    process.exit(2);
  }
  throw err;
}

let gateway;
try {
  gateway = await startGateway(config);
} catch (err) {
  // A port in use (GATEWAY_PORT or GATEWAY_ADMIN_PORT) and the like: one line, not a stack trace.
  console.error(`koa-consul-gateway: cannot start: ${(err as Error).message}`);
  process.exit(1);
}
console.log(`koa-consul-gateway listening on ${config.host}:${gateway.port}, ${describeRegistry(registryConfig(config))}, admin API and dashboard on http://${config.adminHost}:${gateway.adminPort}/`);

let stopping = false;
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    gateway.close().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error("koa-consul-gateway: error while stopping:", err);
        process.exit(1);
      },
    );
  });
}
