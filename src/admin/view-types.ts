/**
 * The JSON shapes the admin API answers with. The dashboard page, compiled for
 * the browser, imports these types too: this file imports nothing but the
 * equally import-free observability/table-change.ts, so that it type-checks both with Node's
 * types and with the DOM's.
 */

/** One instance as GET /routes shows it; built by instanceView() in table-view.ts. */
export interface InstanceView {
  /** The registry's id (Consul's service ID, unique per agent only; ZooKeeper's ip:port). */
  id: string;
  /** The Consul node it is registered on; null where the registry has none (ZooKeeper). */
  node: string | null;
  /** What identifies it across the cluster (node/id; the id alone without a node): the metrics' `instance` label. */
  key: string;
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
  /** Upgraded (WebSocket) connections open to the instance now (also counted in inFlight). */
  upgradedConnections: number;
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
  /** Out of rotation now (while its service is in panic, it still gets requests). */
  ejected: boolean;
  /** When the current ejection ends; null when the instance is in rotation. */
  ejectedUntil: string | null;
  /** What caused the last ejection; null when never ejected. */
  reason: "consecutive_5xx" | "consecutive_gateway_failures" | null;
  /** Gateway failures (refused or broken connections, timeouts) in a row since its last answer. */
  consecutiveGatewayFailures: number;
  /** 5xx answers of its own in a row. */
  consecutive5xx: number;
  /** Ejections since the instance last connected successfully; each makes the next one longer. */
  ejections: number;
}

export interface ServiceView {
  name: string;
  /** The registry's index of the last update (Consul's X-Consul-Index, ZooKeeper's newest zxid). */
  index: string;
  updatedAt: string;
  /** Passive health over the service: instances out of rotation, and whether too few are left (panic: all take traffic). */
  outlier: { ejected: number; panic: boolean };
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
  /** What an operator should know that does not make the gateway unready (the watcher restarting, a watch mode switch). */
  details: string[];
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
