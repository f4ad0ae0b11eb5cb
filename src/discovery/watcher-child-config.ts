import type { RegistryConfig } from "./registries/create-registry.js";

/** The parent hands the child its settings in one environment variable, read once at the child's start. */
export const WATCHER_CONFIG_ENV = "KCG_WATCHER_CONFIG";

export function readWatcherChildConfig(env: NodeJS.ProcessEnv): RegistryConfig {
  const raw = env[WATCHER_CONFIG_ENV];
  if (raw === undefined) throw new Error(`${WATCHER_CONFIG_ENV} is not set: the watcher child is started by the gateway`);
  return JSON.parse(raw) as RegistryConfig;
}
