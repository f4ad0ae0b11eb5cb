/**
 * Prometheus metrics (prom-client), served at GET /metrics on the admin port.
 *
 * Names follow Prometheus conventions: the `gateway_` prefix, base units
 * (seconds), `_total` on counters. Label values are bounded: `service` is
 * only a service in the route table (subscriptions are only opened for names
 * the registry's catalog knows; anything else is ""), `instance` only an instance
 * that is in the table at scrape time (the series of instances that left are
 * dropped), `status_class` one of 1xx-5xx, `code` one of the gateway's error
 * codes. No raw path is ever a label.
 *
 * Per-request values are added up in plain numbers as requests finish
 * (request-counts.ts) and handed to prom-client at scrape time; the rest is
 * read at scrape time from what already holds it (route table, table change
 * log, supervisor), so nothing is counted twice.
 *
 * In cluster mode the two halves live apart: each worker keeps its
 * RequestMetrics (with Node's process metrics), the primary the table's
 * (registerTableMetrics), and the primary's /metrics adds the workers' up
 * (cluster/cluster-metrics.ts).
 */
import { Counter, Gauge, Registry, collectDefaultMetrics, type Metric } from "prom-client";
import { instanceKey } from "../discovery/instance.js";
import type { EjectionReason, OutlierState } from "../routing/outlier-detector.js";
import type { RouteStore } from "../routing/route-store.js";
import type { RouteTable, ServiceRoutes } from "../routing/route-table.js";
import { DURATION_BUCKETS, STATUS_CLASSES, ServiceCounts } from "./request-counts.js";
import type { TableChangeLog } from "./table-change-log.js";

export interface MetricsSources {
  store: RouteStore;
  events: TableChangeLog;
  /** How many times the watcher child has been re-forked. */
  watcherRestarts: () => number;
  /** A service's passive health now (ejected instances, panic); undefined where no proxy runs (a cluster's primary). */
  outliers?: ((routes: ServiceRoutes) => OutlierState) | undefined;
  /** Upgraded (WebSocket) connections open now to a service's instances. */
  upgradedConnections?: ((service: string) => number) | undefined;
}

export interface FinishedRequest {
  service: string | undefined;
  instance: string | undefined;
  status: number;
  /** Seconds from sending to the instance until its response ended; undefined when no instance was tried. */
  upstreamSeconds: number | undefined;
  /** The gateway's error code when it answered with an error. */
  errorCode: string | undefined;
  retries: number;
  /** Instances of the service ejected by passive health checking during the request, by trigger. */
  ejections: readonly EjectionReason[];
}

/** What the admin server serves at /metrics. */
export interface MetricsExposition {
  readonly contentType: string;
  exposition(): Promise<string>;
}

export function statusClass(status: number): string {
  const digit = Math.floor(status / 100);
  return digit >= 1 && digit <= 5 ? `${digit}xx` : "5xx";
}

/**
 * gateway_upstream_duration_seconds, read from the plain bucket counts at
 * scrape time: the series prom-client's own Histogram writes (cumulative `le`
 * buckets, `_sum`, `_count`). A registry needs only a metric's name, type and
 * get() (its cluster aggregator registers such plain objects too), so this is
 * one, registered with the one cast that the typings' narrower `Metric` asks for.
 */
function registerScrapedHistogram(registry: Registry, name: string, help: string, services: () => Iterable<[string, ServiceCounts]>): void {
  const get = async () => {
    const values: { labels: Record<string, string | number>; value: number; metricName: string }[] = [];
    for (const [service, counts] of services()) {
      if (counts.durationCount === 0) continue;
      let cumulative = 0;
      DURATION_BUCKETS.forEach((le, i) => {
        cumulative += counts.durationBuckets[i]!;
        values.push({ labels: { le, service }, value: cumulative, metricName: `${name}_bucket` });
      });
      values.push({ labels: { le: "+Inf", service }, value: counts.durationCount, metricName: `${name}_bucket` });
      values.push({ labels: { service }, value: counts.durationSum, metricName: `${name}_sum` });
      values.push({ labels: { service }, value: counts.durationCount, metricName: `${name}_count` });
    }
    return { name, help, type: "histogram", aggregator: "sum", values };
  };
  registry.registerMetric({ name, help, type: "histogram", aggregator: "sum", get } as unknown as Metric);
}

/**
 * The metrics of the requests this process answers, with Node's process
 * metrics: one gateway process, or one cluster worker.
 */
export class RequestMetrics {
  readonly registry = new Registry();
  private readonly byService = new Map<string, ServiceCounts>();
  private inFlight = 0;

  constructor(
    /** The route table of this process: it bounds the `service` label. */
    private readonly store: RouteStore,
  ) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    const services = (): Iterable<[string, ServiceCounts]> => this.byService;
    const self = this;

    new Counter({
      name: "gateway_requests_total",
      help: "Requests answered, by service, instance and status class (the instance's status, or the gateway's when it answered itself).",
      labelNames: ["service", "instance", "status_class"] as const,
      registers,
      collect() {
        this.reset();
        for (const [service, counts] of services()) {
          for (const [instance, byClass] of counts.requests) {
            byClass.forEach((n, i) => {
              if (n > 0) this.inc({ service, instance, status_class: STATUS_CLASSES[i]! }, n);
            });
          }
        }
      },
    });
    registerScrapedHistogram(this.registry, "gateway_upstream_duration_seconds", "Time from sending a request to an instance until its response ended (or failed).", services);
    new Counter({
      name: "gateway_upstream_errors_total",
      help: "Requests that got no response from an instance, by the gateway's error code (UPSTREAM_UNREACHABLE, UPSTREAM_TIMEOUT, UPSTREAM_ERROR, UPSTREAM_HEADERS_TOO_LARGE).",
      labelNames: ["service", "code"] as const,
      registers,
      collect() {
        this.reset();
        for (const [service, counts] of services()) for (const [code, n] of counts.upstreamErrors) this.inc({ service, code }, n);
      },
    });
    new Counter({
      name: "gateway_retries_total",
      help: "Requests sent again to another instance after a failure.",
      labelNames: ["service"] as const,
      registers,
      collect() {
        this.reset();
        for (const [service, counts] of services()) if (counts.retries > 0) this.inc({ service }, counts.retries);
      },
    });
    new Counter({
      name: "gateway_outlier_ejections_total",
      help: "Instances taken out of rotation for a while (passive health), by trigger: consecutive_5xx (the instance's own 5xx answers) or consecutive_gateway_failures (refused or broken connections, timeouts).",
      labelNames: ["service", "reason"] as const,
      registers,
      collect() {
        this.reset();
        for (const [service, counts] of services()) for (const [reason, n] of counts.ejections) this.inc({ service, reason }, n);
      },
    });
    new Gauge({
      name: "gateway_in_flight_requests",
      help: "Requests the gateway is handling now.",
      registers,
      collect() {
        this.set(self.inFlight);
      },
    });
  }

  requestStarted(): void {
    this.inFlight += 1;
  }

  requestFinished(request: FinishedRequest): void {
    this.inFlight -= 1;
    const service = this.serviceLabel(request.service);
    let counts = this.byService.get(service);
    if (counts === undefined) {
      counts = new ServiceCounts();
      this.byService.set(service, counts);
    }
    counts.countRequest(service === "" ? "" : (request.instance ?? ""), request.status);
    if (request.upstreamSeconds !== undefined) counts.observeDuration(request.upstreamSeconds);
    if (request.errorCode?.startsWith("UPSTREAM_")) counts.countUpstreamError(request.errorCode);
    counts.retries += request.retries;
    for (const reason of request.ejections) counts.countEjection(reason);
  }

  /**
   * Drops the series of instances that are no longer in the table, and of services released from
   * it (subscriptions.ts), so that the label set follows the table.
   */
  dropDepartedInstances(table: RouteTable = this.store.current): void {
    for (const [service, counts] of this.byService) {
      if (service === "") continue;
      const routes = table.get(service);
      if (routes === undefined) {
        this.byService.delete(service);
        continue;
      }
      for (const instance of counts.requests.keys()) {
        if (instance === "") continue;
        if (!routes.instances.some((i) => instanceKey(i) === instance)) counts.requests.delete(instance);
      }
    }
  }

  /** A service name becomes a label value only when the route table holds it: that bounds the label set. */
  private serviceLabel(service: string | undefined): string {
    return service !== undefined && this.store.current.get(service) !== undefined ? service : "";
  }
}

/**
 * The metrics read from the route table, the table change log and the
 * supervisor, in whichever process holds them (the one gateway process, or a
 * cluster's primary).
 */
export function registerTableMetrics(registry: Registry, { store, events, watcherRestarts, outliers, upgradedConnections }: MetricsSources): ReadonlySet<string> {
  const before = new Set(registry.getMetricsAsArray().map((m) => m.name));
  const registers = [registry];
  new Counter({
    name: "gateway_route_updates_total",
    help: "Route table updates (a new instance list from the registry) per service.",
    labelNames: ["service"] as const,
    registers,
    collect() {
      this.reset();
      for (const [service, count] of events.updates) this.inc({ service }, count);
    },
  });
  /** A gauge per service of the route table, read from the table at scrape time. */
  const perServiceGauge = (name: string, help: string, valueOf: (routes: ServiceRoutes, service: string) => number): void => {
    new Gauge({
      name,
      help,
      labelNames: ["service"] as const,
      registers,
      collect() {
        this.reset();
        const table = store.current;
        for (const service of table.serviceNames()) this.set({ service }, valueOf(table.get(service)!, service));
      },
    });
  };
  perServiceGauge(
    "gateway_route_last_update_timestamp_seconds",
    "When each service's instance list last changed, in Unix seconds; its age is time() minus this.",
    (routes) => routes.updatedAt / 1000,
  );
  perServiceGauge("gateway_route_instances", "Healthy instances of each service in the route table.", (routes) => routes.instances.length);
  if (upgradedConnections !== undefined) {
    perServiceGauge("gateway_upgraded_connections", "Upgraded (WebSocket) connections open now to each service's instances.", (_routes, service) => upgradedConnections(service));
  }
  if (outliers !== undefined) {
    perServiceGauge("gateway_outlier_ejected_instances", "Instances of each service out of rotation now (passive health).", (routes) => outliers(routes).ejected);
    perServiceGauge(
      "gateway_outlier_panic",
      "1 while too few of a service's instances are in rotation (GATEWAY_PANIC_THRESHOLD_PERCENT) and traffic goes to all of them, ejected ones included.",
      (routes) => (outliers(routes).panic ? 1 : 0),
    );
  }
  new Counter({
    name: "gateway_watcher_restarts_total",
    help: "Times the watcher child was re-forked after it died.",
    registers,
    collect() {
      this.reset();
      this.inc(watcherRestarts());
    },
  });
  new Counter({
    name: "gateway_registry_request_errors_total",
    help: "Failed registry requests reported by the watcher, by registry (consul, zookeeper) and kind of watch (catalog, service).",
    labelNames: ["registry", "watch"] as const,
    registers,
    collect() {
      this.reset();
      for (const [watch, count] of Object.entries(events.registryErrors)) this.inc({ registry: events.registry, watch }, count);
    },
  });
  return new Set(registry.getMetricsAsArray().map((m) => m.name).filter((name) => !before.has(name)));
}

/** One gateway process: its requests and its route table, at one /metrics. */
export class GatewayMetrics extends RequestMetrics implements MetricsExposition {
  /** The metrics read from the table: a cluster worker leaves them out of its report (the primary has its own). */
  readonly tableMetricNames: ReadonlySet<string>;

  constructor(sources: MetricsSources) {
    super(sources.store);
    this.tableMetricNames = registerTableMetrics(this.registry, sources);
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The text exposition format, without the series of instances and services that are no longer in the table. */
  async exposition(): Promise<string> {
    this.dropDepartedInstances();
    return this.registry.metrics();
  }
}
