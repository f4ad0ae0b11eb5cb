/**
 * The JSON shapes the admin API answers with. The dashboard page, compiled for
 * the browser, imports these types too: this file imports nothing but the
 * equally import-free observability/table-change.ts, so that it type-checks both with Node's
 * types and with the DOM's.
 */

/** One instance as GET /routes shows it; built by instanceView() in table-view.ts. */
export interface InstanceView {
  id: string;
  address: string;
  port: number;
  tags: readonly string[];
  meta: Readonly<Record<string, string>>;
  /**
   * Only instances the registry gives as healthy are in the table (Consul: every check passing, or
   * also warning with GATEWAY_HEALTH_STATES=passing,warning; ZooKeeper: a registered node, always passing).
   */
  health: "passing" | "warning";
  /** The passing weight its registration asks for (Consul's Weights.Passing, or the gateway-weight meta key). */
  registeredWeight: number;
  /** The weight the balancers use now: registered weight × health (warning reduces it) × warm-up. */
  weight: number;
  /** Its share of full traffic during warm-up, 0.1 rising to 1 (1: warmed up, exempt, or warm-up off). */
  warmUp: number;
  /** When this gateway first saw the instance. */
  firstSeenAt: string | null;
  inFlight: number;
  requests: number;
  /** Requests the gateway answered with an error (unreachable, timeout, ...). */
  failures: number;
  /** Responses with status 500-599 sent by the instance itself. */
  serverErrors: number;
  /** (failures + serverErrors) / requests; null before the first request. */
  errorRate: number | null;
  /** Passive health (GATEWAY_OUTLIER_*): the gateway's own view of the instance, beside the registry's. */
  outlier: OutlierView;
}

export interface OutlierView {
  /** Out of rotation now after failed connections (when every instance of a service is, all still get requests). */
  ejected: boolean;
  /** When the current ejection ends; null when the instance is in rotation. */
  ejectedUntil: string | null;
  /** Failed connections in a row since the last successful one. */
  consecutiveFailures: number;
  /** Ejections since the instance last connected successfully; each makes the next one longer. */
  ejections: number;
}

export interface ServiceView {
  name: string;
  /** The registry's index of the last update (Consul's X-Consul-Index, ZooKeeper's newest zxid). */
  index: string;
  updatedAt: string;
  instances: InstanceView[];
}

export interface RoutesView {
  /** The registry's catalog as the watcher last saw it; null before its first answer. */
  catalog: { index: string; services: number } | null;
  services: ServiceView[];
}

export interface ReadinessView {
  ready: boolean;
  /** Why the gateway is not ready; empty when it is. */
  reasons: string[];
}

/** One watcher message as it was applied, as the change feed and the dashboard show it. */
export type { TableChange } from "../observability/table-change.js";

export interface WatcherView {
  running: boolean;
  pid: number | null;
  restarts: number;
  /** The registry the watcher reads, as people write it (Consul, ZooKeeper). */
  registry: string;
  /** Failed registry requests reported by the watcher since the start. */
  registryErrors: number;
}

/** What the dashboard receives as a `snapshot` event. */
export interface DashboardSnapshot {
  readiness: ReadinessView;
  watcher: WatcherView;
  routes: RoutesView;
}
