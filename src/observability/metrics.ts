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
 * Per-request values are recorded as requests finish; the rest is read at
 * scrape time from what already holds it (route table, table change log,
 * supervisor), so nothing is counted twice.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { RouteStore } from "../routing/route-store.js";
import type { ServiceRoutes } from "../routing/route-table.js";
import type { TableChangeLog } from "./table-change-log.js";

export interface MetricsSources {
  store: RouteStore;
  events: TableChangeLog;
  /** How many times the watcher child has been re-forked. */
  watcherRestarts: () => number;
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
  /** Instances of the service ejected by passive health checking during the request. */
  ejections: number;
}

const STATUS_CLASSES = ["1xx", "2xx", "3xx", "4xx", "5xx"] as const;

export function statusClass(status: number): string {
  const digit = Math.floor(status / 100);
  return digit >= 1 && digit <= 5 ? `${digit}xx` : "5xx";
}

export class GatewayMetrics {
  readonly registry = new Registry();
  private readonly requests: Counter<"service" | "instance" | "status_class">;
  private readonly upstreamDuration: Histogram<"service">;
  private readonly upstreamErrors: Counter<"service" | "code">;
  private readonly retries: Counter<"service">;
  private readonly outlierEjections: Counter<"service">;
  private readonly inFlight: Gauge;
  /** Instance label values in use, with their service, so that the series of instances that left can be dropped. */
  private readonly instanceLabels = new Map<string, string>();

  constructor(private readonly sources: MetricsSources) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });

    this.requests = new Counter({
      name: "gateway_requests_total",
      help: "Requests answered, by service, instance and status class (the instance's status, or the gateway's when it answered itself).",
      labelNames: ["service", "instance", "status_class"] as const,
      registers,
    });
    this.upstreamDuration = new Histogram({
      name: "gateway_upstream_duration_seconds",
      help: "Time from sending a request to an instance until its response ended (or failed).",
      labelNames: ["service"] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.upstreamErrors = new Counter({
      name: "gateway_upstream_errors_total",
      help: "Requests that got no response from an instance, by the gateway's error code (UPSTREAM_UNREACHABLE, UPSTREAM_TIMEOUT, UPSTREAM_ERROR).",
      labelNames: ["service", "code"] as const,
      registers,
    });
    this.retries = new Counter({
      name: "gateway_retries_total",
      help: "Requests sent again to another instance after a failure.",
      labelNames: ["service"] as const,
      registers,
    });
    this.outlierEjections = new Counter({
      name: "gateway_outlier_ejections_total",
      help: "Instances taken out of rotation for a while after failures (passive health).",
      labelNames: ["service"] as const,
      registers,
    });
    this.inFlight = new Gauge({
      name: "gateway_in_flight_requests",
      help: "Requests the gateway is handling now.",
      registers,
    });

    const { store, events, watcherRestarts } = sources;
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
    const perServiceGauge = (name: string, help: string, valueOf: (routes: ServiceRoutes) => number): void => {
      new Gauge({
        name,
        help,
        labelNames: ["service"] as const,
        registers,
        collect() {
          this.reset();
          const table = store.current;
          for (const service of table.serviceNames()) this.set({ service }, valueOf(table.get(service)!));
        },
      });
    };
    perServiceGauge(
      "gateway_route_last_update_timestamp_seconds",
      "When each service's instance list last changed, in Unix seconds; its age is time() minus this.",
      (routes) => routes.updatedAt / 1000,
    );
    perServiceGauge("gateway_route_instances", "Healthy instances of each service in the route table.", (routes) => routes.instances.length);
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
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  requestStarted(): void {
    this.inFlight.inc();
  }

  requestFinished(request: FinishedRequest): void {
    this.inFlight.dec();
    const service = this.serviceLabel(request.service);
    const instance = service === "" ? "" : (request.instance ?? "");
    if (instance !== "") this.instanceLabels.set(instance, service);
    this.requests.inc({ service, instance, status_class: statusClass(request.status) });
    if (request.upstreamSeconds !== undefined) this.upstreamDuration.observe({ service }, request.upstreamSeconds);
    if (request.errorCode?.startsWith("UPSTREAM_")) this.upstreamErrors.inc({ service, code: request.errorCode });
    if (request.retries > 0) this.retries.inc({ service }, request.retries);
    if (request.ejections > 0) this.outlierEjections.inc({ service }, request.ejections);
  }

  /** The text exposition format, without the series of instances that are no longer in the table. */
  async exposition(): Promise<string> {
    this.dropDepartedInstances();
    return this.registry.metrics();
  }

  /** A service name becomes a label value only when the route table holds it: that bounds the label set. */
  private serviceLabel(service: string | undefined): string {
    return service !== undefined && this.sources.store.current.get(service) !== undefined ? service : "";
  }

  private dropDepartedInstances(): void {
    const table = this.sources.store.current;
    for (const [instance, service] of this.instanceLabels) {
      if (table.get(service)?.instances.some((i) => i.id === instance)) continue;
      for (const status_class of STATUS_CLASSES) this.requests.remove({ service, instance, status_class });
      this.instanceLabels.delete(instance);
    }
  }
}
