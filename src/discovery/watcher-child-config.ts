import type { WatchMode } from "../config.js";
import type { ConsulWatcherOptions } from "./consul-adapter.js";

/** What the child needs: where Consul is, and how to watch services. */
export interface WatcherChildConfig extends ConsulWatcherOptions {
  watch: WatchMode;
}

/** The parent hands the child its settings in one environment variable, read once at the child's start. */
export const WATCHER_CONFIG_ENV = "KCG_WATCHER_CONFIG";

export function readWatcherChildConfig(env: NodeJS.ProcessEnv): WatcherChildConfig {
  const raw = env[WATCHER_CONFIG_ENV];
  if (raw === undefined) throw new Error(`${WATCHER_CONFIG_ENV} is not set: the watcher child is started by the gateway`);
  return JSON.parse(raw) as WatcherChildConfig;
}
