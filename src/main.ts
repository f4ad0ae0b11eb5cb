#!/usr/bin/env node
/** Starts the gateway: config from the environment and flags, then one gateway process. */
import { ConfigError, loadConfig } from "./config.js";
import { startGateway } from "./gateway/gateway.js";
import { describeRegistry, registryConfig } from "./discovery/registries/create-registry.js";

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

const gateway = await startGateway(config);
console.log(`koa-consul-gateway listening on ${config.host}:${gateway.port}, ${describeRegistry(registryConfig(config))}`);

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
