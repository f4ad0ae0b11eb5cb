/**
 * The route table as GET /routes shows it: each service with its index and
 * update time, each instance with its health, traffic weight, warm-up,
 * passive health and live counters. An instance's view is built in one
 * function, instanceView(), so that later state is one more field there.
 */
import type { Instance } from "../discovery/instance.js";
import type { InstanceStats, InstanceStatsRegistry } from "../routing/instance-stats.js";
import type { RouteTable, ServiceRoutes } from "../routing/route-table.js";
import { healthWeight, registeredWeight } from "../routing/traffic-weights.js";
import { warmUpFactor } from "../routing/warm-up.js";
import type { InstanceView, RoutesView, ServiceView } from "./view-types.js";

/** What an instance's weight depends on besides the instance (GATEWAY_WARMUP_MS, GATEWAY_WARNING_WEIGHT_PERCENT). */
export interface WeightPolicy {
  readonly warmUpMs: number;
  readonly warningWeightPercent: number;
}

export interface ViewOptions {
  readonly policy: WeightPolicy;
  /** The time the view is taken at (ejections and warm-up depend on it). */
  readonly now?: number;
}

const round4 = (value: number): number => Math.round(value * 10_000) / 10_000;

export function instanceView(instance: Instance, stats: InstanceStats | undefined, { policy, now = Date.now() }: ViewOptions): InstanceView {
  const requests = stats?.requests ?? 0;
  const ejectedUntil = stats?.outlier.ejectedUntil ?? 0;
  const ejected = ejectedUntil > now;
  const failures = stats?.failures ?? 0;
  const serverErrors = stats?.serverErrors ?? 0;
  // As TrafficWeights computes it, read without creating a stats record: an instance not seen yet starts its warm-up now.
  const warmUp = stats?.warmUpExempt ? 1 : warmUpFactor(stats === undefined ? 0 : now - stats.firstSeenAt, policy.warmUpMs);
  return {
    id: instance.id,
    address: instance.address,
    port: instance.port,
    tags: instance.tags,
    meta: instance.meta,
    health: instance.health,
    registeredWeight: registeredWeight(instance),
    weight: round4(healthWeight(instance, policy.warningWeightPercent) * warmUp),
    warmUp: round4(warmUp),
    firstSeenAt: stats === undefined ? null : new Date(stats.firstSeenAt).toISOString(),
    inFlight: stats?.inFlight ?? 0,
    requests,
    failures,
    serverErrors,
    errorRate: requests === 0 ? null : round4((failures + serverErrors) / requests),
    outlier: {
      ejected,
      ejectedUntil: ejected ? new Date(ejectedUntil).toISOString() : null,
      consecutiveFailures: stats?.outlier.consecutiveFailures ?? 0,
      ejections: stats?.outlier.ejections ?? 0,
    },
  };
}

export function serviceView(name: string, routes: ServiceRoutes, stats: InstanceStatsRegistry, options: ViewOptions): ServiceView {
  const at = { ...options, now: options.now ?? Date.now() };
  return {
    name,
    index: routes.index,
    updatedAt: new Date(routes.updatedAt).toISOString(),
    // In id order, so that the page and the CLI do not reshuffle when the registry reorders its answer.
    instances: [...routes.instances].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)).map((i) => instanceView(i, stats.peek(i.id), at)),
  };
}

export function tableView(table: RouteTable, stats: InstanceStatsRegistry, options: ViewOptions): RoutesView {
  const at = { ...options, now: options.now ?? Date.now() };
  return {
    catalog: table.catalog === undefined ? null : { index: table.catalog.index, services: table.catalog.services.size },
    services: table.serviceNames().map((name) => serviceView(name, table.get(name)!, stats, at)),
  };
}
