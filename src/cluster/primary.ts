/**
 * Cluster mode's primary process (GATEWAY_WORKERS > 1). It serves no request:
 * it runs the one watcher child through the same WatcherSupervisor a single
 * process uses, relays each validated route message to every worker, replays
 * the current routes to a worker that starts, forwards workers' subscriptions
 * to the watcher, and re-forks a worker that dies (with the watcher's backoff).
 * The workers share the listening port through node:cluster.
 *
 * The admin server (API, dashboard, /metrics) runs here, on one port for the
 * whole cluster: the primary keeps its own copy of the route table from the
 * messages it relays, and adds up the workers' request metrics and
 * per-instance counters from their reports (worker-reports.ts). On stop, the
 * workers drain as a single process does (GATEWAY_SHUTDOWN_GRACE_MS) before
 * the primary would kill one.
 */
import cluster, { type Worker } from "node:cluster";
import { once } from "node:events";
import createDebug from "debug";
import type { GatewayConfig } from "../config.js";
import type { WatcherMessage } from "../discovery/messages.js";
import { RestartBackoff } from "../discovery/restart-backoff.js";
import { WatcherSupervisor, supervisorOptions } from "../discovery/supervisor.js";
import { adminSettings, startAdminServer, type AdminServer } from "../admin/admin-server.js";
import { TableChangeLog } from "../observability/table-change-log.js";
import { InstanceStatsRegistry } from "../routing/instance-stats.js";
import { RouteStore } from "../routing/route-store.js";
import { TableUpdater } from "../routing/table-updater.js";
import { ExposurePolicy } from "../routing/exposure.js";
import { OutlierDetector, outlierOptions } from "../routing/outlier-detector.js";
import { ClusterMetrics } from "./cluster-metrics.js";
import { LatestWatcherMessages } from "./latest-watcher-messages.js";
import { parseWorkerMessage } from "./messages.js";
import { WorkerReports } from "./worker-reports.js";

const debug = createDebug("gateway:cluster");

/**
 * A worker stops on its own within GATEWAY_SHUTDOWN_GRACE_MS (it then cuts
 * what is left); this much more is its time to close the rest before the
 * primary kills it.
 */
const STOP_MARGIN_MS = 5_000;
/** How often the primary refreshes the workers' per-instance counters for /routes and the dashboard. */
const STATS_REFRESH_MS = 1_000;

export interface ClusterPrimary {
  /** The port the workers listen on (the chosen one when the configured port is 0). */
  readonly port: number;
  /** The admin API and dashboard's port (GATEWAY_ADMIN_PORT). */
  readonly adminPort: number;
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
  /** The services each worker asked for: a watch ends when no worker wants it (GATEWAY_SERVICES always stay). */
  const wanted = new Map<Worker, Set<string>>();
  const pinned = new Set(config.services);
  const releaseUnwanted = (services: Iterable<string>): void => {
    for (const service of services) {
      if (pinned.has(service) || [...wanted.values()].some((set) => set.has(service))) continue;
      supervisor.unsubscribe(service);
      latest.forget(service);
      debug("no worker wants %s any more: its watch stops", service);
    }
  };
  let stopping = false;

  // The primary's own view of the routes, for the admin server; the workers route with theirs.
  const store = new RouteStore();
  const stats = new InstanceStatsRegistry();
  const events = new TableChangeLog({ registry: config.registry });
  // The same exposure policy as the workers': a hidden service is not in /routes either.
  const updater = new TableUpdater(store, stats, config.coalesceMs, (table) => events.tableSwapped(table), ExposurePolicy.of(config));
  // Ejections happen in the workers; this one reads their marks (copied in by the reports) for /routes.
  const outliers = new OutlierDetector(stats, outlierOptions(config));
  /** What the watcher said about itself, for /ready's details. */
  let watcherNotices: readonly string[] = [];
  const liveWorkers = (): Worker[] => Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined && !w.isDead());
  const reports = new WorkerReports(() => [...ready], stats);
  const metrics = new ClusterMetrics({ store, events, watcherRestarts: () => supervisor.restarts, outliers: (routes) => outliers.state(routes.instances) }, reports);

  const relay = (message: WatcherMessage): void => {
    if (message.type === "watch-error") events.watchError(message);
    if (message.type === "watch-mode") {
      console.warn(`koa-consul-gateway: ${message.message}`);
      watcherNotices = [message.message];
    }
    updater.apply(message);
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
      if (message.type === "report") {
        reports.received(message);
      } else if (message.type === "ready") {
        for (const known of latest.replay()) worker.send(known);
        ready.add(worker);
        debug("worker %d ready; replayed %d route messages", worker.process.pid, latest.replay().length);
      } else if (message.type === "subscribe") {
        let services = wanted.get(worker);
        if (services === undefined) wanted.set(worker, (services = new Set()));
        services.add(message.service);
        // Watched for another worker already: the supervisor sends nothing new, so the list we have goes now.
        const known = latest.service(message.service);
        if (known !== undefined) worker.send(known);
        supervisor.subscribe(message.service);
      } else {
        wanted.get(worker)?.delete(message.service);
        // A worker gives up a configured service only when the exposure policy hides it, and
        // workers share one policy: hidden for one is hidden for all, so it is pinned no longer.
        pinned.delete(message.service);
        releaseUnwanted([message.service]);
      }
    });
    worker.on("listening", (address) => {
      port ??= address.port;
      listened(address.port);
    });
    worker.on("exit", (code, signal) => {
      ready.delete(worker);
      const had = wanted.get(worker) ?? new Set<string>();
      wanted.delete(worker);
      if (stopping) return;
      releaseUnwanted(had);
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

  let admin: AdminServer | undefined;
  let statsTimer: NodeJS.Timeout | undefined;

  const stop = async (): Promise<void> => {
    stopping = true;
    clearInterval(statsTimer);
    for (const timer of restartTimers) clearTimeout(timer);
    await Promise.all([
      ...liveWorkers().map(async (worker) => {
        const exited = once(worker, "exit");
        // The worker drains and leaves on SIGTERM, as a single process does.
        worker.process.kill("SIGTERM");
        const timer = setTimeout(() => worker.process.kill("SIGKILL"), config.shutdownGraceMs + STOP_MARGIN_MS);
        await exited;
        clearTimeout(timer);
      }),
      supervisor.stop(),
    ]);
    updater.stop();
    await admin?.close();
  };

  for (let i = 0; i < config.workers; i++) fork();
  try {
    await firstListening;
    admin = await startAdminServer(config.adminHost, config.adminPort, {
      store,
      stats,
      events,
      metrics,
      watcher: supervisor,
      ...adminSettings(config),
      // /ready answers 503 while the workers drain.
      draining: () => stopping,
      outliers: (instances, now) => outliers.state(instances, now),
      watcherNotices: () => watcherNotices,
    });
  } catch (err) {
    await stop();
    throw err;
  }
  statsTimer = setInterval(() => void reports.collect(), STATS_REFRESH_MS);
  statsTimer.unref();
  return {
    get port() {
      return port!;
    },
    adminPort: admin.port,
    supervisor,
    workerPids: () => Object.values(cluster.workers ?? {}).flatMap((w) => (w?.process.pid === undefined ? [] : [w.process.pid])),
    stop,
  };
}
