/**
 * Cluster mode's primary process (GATEWAY_WORKERS > 1). It serves no request:
 * it runs the one watcher child through the same WatcherSupervisor a single
 * process uses, relays each validated route message to every worker, replays
 * the current routes to a worker that starts, forwards workers' subscriptions
 * to the watcher, and re-forks a worker that dies (with the watcher's backoff).
 * The workers share the listening port through node:cluster.
 */
import cluster, { type Worker } from "node:cluster";
import { once } from "node:events";
import createDebug from "debug";
import type { GatewayConfig } from "../config.js";
import type { WatcherMessage } from "../discovery/messages.js";
import { RestartBackoff } from "../discovery/restart-backoff.js";
import { WatcherSupervisor, supervisorOptions } from "../discovery/supervisor.js";
import { LatestWatcherMessages } from "./latest-watcher-messages.js";
import { parseWorkerMessage } from "./messages.js";

const debug = createDebug("gateway:cluster");

const STOP_GRACE_MS = 5_000;

export interface ClusterPrimary {
  /** The port the workers listen on (the chosen one when the configured port is 0). */
  readonly port: number;
  readonly supervisor: WatcherSupervisor;
  workerPids(): number[];
  stop(): Promise<void>;
}

export async function startClusterPrimary(config: GatewayConfig): Promise<ClusterPrimary> {
  const supervisor = new WatcherSupervisor(supervisorOptions(config));
  const latest = new LatestWatcherMessages();
  const backoff = new RestartBackoff(config.watcherRestartMaxMs);
  /** Workers that asked for the routes: a worker not yet ready gets the replay when it asks. */
  const ready = new Set<Worker>();
  const restartTimers = new Set<NodeJS.Timeout>();
  let stopping = false;

  const relay = (message: WatcherMessage): void => {
    latest.remember(message);
    for (const worker of ready) if (worker.isConnected()) worker.send(message);
  };
  supervisor.start(relay);
  for (const service of config.services) supervisor.subscribe(service);

  let listened!: (port: number) => void;
  let failed!: (err: Error) => void;
  const firstListening = new Promise<number>((resolve, reject) => {
    listened = resolve;
    failed = reject;
  });
  let port: number | undefined;

  const fork = (): void => {
    const startedAt = Date.now();
    const worker = cluster.fork();
    debug("worker %d started", worker.process.pid);
    worker.on("message", (raw: unknown) => {
      let message;
      try {
        message = parseWorkerMessage(raw);
      } catch (err) {
        debug("dropped a malformed message from worker %d: %s", worker.process.pid, (err as Error).message);
        return;
      }
      if (message.type === "ready") {
        for (const known of latest.replay()) worker.send(known);
        ready.add(worker);
        debug("worker %d ready; replayed %d route messages", worker.process.pid, latest.replay().length);
      } else if (message.type === "subscribe") {
        supervisor.subscribe(message.service);
      }
    });
    worker.on("listening", (address) => {
      port ??= address.port;
      listened(address.port);
    });
    worker.on("exit", (code, signal) => {
      ready.delete(worker);
      if (stopping) return;
      if (port === undefined) {
        // No worker ever listened (a port in use, a bad host): re-forking would fail the same way.
        failed(new Error(`worker ${worker.process.pid} exited (code ${code}, signal ${signal}) before listening`));
        return;
      }
      const delay = backoff.next(startedAt);
      debug("worker %d exited (code %s, signal %s); re-forking in %d ms", worker.process.pid, code, signal, delay);
      const timer = setTimeout(() => {
        restartTimers.delete(timer);
        if (!stopping) fork();
      }, delay);
      restartTimers.add(timer);
    });
  };

  const stop = async (): Promise<void> => {
    stopping = true;
    for (const timer of restartTimers) clearTimeout(timer);
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined && !w.isDead());
    await Promise.all([
      ...workers.map(async (worker) => {
        const exited = once(worker, "exit");
        // The worker closes its server and leaves on SIGTERM, as a single process does.
        worker.process.kill("SIGTERM");
        const timer = setTimeout(() => worker.process.kill("SIGKILL"), STOP_GRACE_MS);
        await exited;
        clearTimeout(timer);
      }),
      supervisor.stop(),
    ]);
  };

  for (let i = 0; i < config.workers; i++) fork();
  try {
    await firstListening;
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    get port() {
      return port!;
    },
    supervisor,
    workerPids: () => Object.values(cluster.workers ?? {}).flatMap((w) => (w?.process.pid === undefined ? [] : [w.process.pid])),
    stop,
  };
}
