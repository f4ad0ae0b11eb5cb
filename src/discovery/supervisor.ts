/**
 * Runs the watcher child and keeps it running: forks it, re-forks it with
 * exponential backoff when it dies and re-sends every subscription. Each
 * message from the child is validated here, before anyone else sees it.
 * While the child is down nothing happens to the route table: the gateway
 * keeps serving the last known routes (fail static).
 */
import { fork, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { dirname, extname, join } from "node:path";
import createDebug from "debug";
import type { GatewayConfig } from "../config.js";
import { parseWatcherMessage, type WatcherCommand, type WatcherMessage } from "./messages.js";
import { registryConfig, type RegistryConfig } from "./registries/create-registry.js";
import { RestartBackoff } from "./restart-backoff.js";
import type { DiscoveryFeed } from "./discovery-feed.js";
import { WATCHER_CONFIG_ENV } from "./watcher-child-config.js";

const debug = createDebug("gateway:supervisor");

const STOP_GRACE_MS = 3_000;

export interface SupervisorOptions {
  registry: RegistryConfig;
  restartMaxMs: number;
}

/** The supervisor's settings, taken from the gateway's configuration. */
export function supervisorOptions(config: GatewayConfig): SupervisorOptions {
  return { registry: registryConfig(config), restartMaxMs: config.watcherRestartMaxMs };
}

/** The child runs from the same kind of file as this one: .ts under tsx (tests, dev), .js when compiled. */
function childEntry(): { path: string; execArgv: string[] } {
  const here = fileURLToPath(import.meta.url);
  const ext = extname(here);
  return {
    path: join(dirname(here), `watcher-child${ext}`),
    execArgv: ext === ".ts" ? ["--import", import.meta.resolve("tsx")] : [],
  };
}

export class WatcherSupervisor implements DiscoveryFeed {
  private child: ChildProcess | undefined;
  private readonly subscriptions = new Set<string>();
  private readonly backoff: RestartBackoff;
  private onMessage: (message: WatcherMessage) => void = () => {};
  private restartTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** How many times the child has been re-forked after dying. */
  restarts = 0;

  constructor(private readonly options: SupervisorOptions) {
    this.backoff = new RestartBackoff(options.restartMaxMs);
  }

  get childPid(): number | undefined {
    return this.child?.pid;
  }

  /** The child is alive and its IPC channel open (readiness asks this). */
  get running(): boolean {
    return this.child?.connected === true;
  }

  start(onMessage: (message: WatcherMessage) => void): void {
    this.onMessage = onMessage;
    this.spawn();
  }

  subscribe(service: string): void {
    if (this.subscriptions.has(service)) return;
    this.subscriptions.add(service);
    this.send({ type: "subscribe", service });
  }

  unsubscribe(service: string): void {
    if (!this.subscriptions.delete(service)) return;
    this.send({ type: "unsubscribe", service });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.restartTimer);
    const child = this.child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, "exit");
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), STOP_GRACE_MS);
    await exited;
    clearTimeout(timer);
  }

  private send(command: WatcherCommand): void {
    // A dead child gets the subscriptions again when it is re-forked.
    if (this.child?.connected) this.child.send(command);
  }

  private spawn(): void {
    const { path, execArgv } = childEntry();
    const startedAt = Date.now();
    const child = fork(path, [], {
      execArgv,
      env: { ...process.env, [WATCHER_CONFIG_ENV]: JSON.stringify(this.options.registry) },
    });
    this.child = child;
    debug("watcher child %d started", child.pid);

    child.on("message", (raw) => {
      let message: WatcherMessage;
      try {
        message = parseWatcherMessage(raw);
      } catch (err) {
        debug("dropped a malformed message from the watcher: %s", (err as Error).message);
        return;
      }
      // A list the child sent before it read our unsubscribe, or of a kept watch it revived for a
      // service we did not take back (service-watches.ts): not ours, and the child is told so.
      if (message.type === "service" && !this.subscriptions.has(message.service)) {
        this.send({ type: "unsubscribe", service: message.service });
        return;
      }
      this.onMessage(message);
    });
    child.on("error", (err) => debug("watcher child error: %s", err.message));
    child.on("exit", (code, signal) => {
      if (this.stopped) return;
      const delay = this.backoff.next(startedAt);
      debug("watcher child %d exited (code %s, signal %s); restarting in %d ms, routes kept", child.pid, code, signal, delay);
      this.restartTimer = setTimeout(() => {
        this.restarts += 1;
        this.spawn();
      }, delay);
    });

    for (const service of this.subscriptions) child.send({ type: "subscribe", service } satisfies WatcherCommand);
  }
}
