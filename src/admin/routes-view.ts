/**
 * The route table as GET /routes shows it: each service with its index and
 * update time, each instance with its live counters. An instance's view is
 * built in one function, instanceView(), so that later state (weights,
 * warm-up) is one more field there, as outlier ejection is.
 */
import type { Instance } from "../routing/instance.js";
import type { InstanceStats, InstanceStatsRegistry } from "../routing/instance-stats.js";
import type { RouteTable, ServiceRoutes } from "../routing/route-table.js";
import type { InstanceView, RoutesView, ServiceView } from "./view-types.js";

export function instanceView(instance: Instance, stats: InstanceStats | undefined, now = Date.now()): InstanceView {
  const requests = stats?.requests ?? 0;
  const ejectedUntil = stats?.outlier.ejectedUntil ?? 0;
  const ejected = ejectedUntil > now;
  const failures = stats?.failures ?? 0;
  const serverErrors = stats?.serverErrors ?? 0;
  return {
    id: instance.id,
    address: instance.address,
    port: instance.port,
    tags: instance.tags,
    meta: instance.meta,
    health: "passing",
    firstSeenAt: stats === undefined ? null : new Date(stats.firstSeenAt).toISOString(),
    inFlight: stats?.inFlight ?? 0,
    requests,
    failures,
    serverErrors,
    errorRate: requests === 0 ? null : Math.round(((failures + serverErrors) / requests) * 10_000) / 10_000,
    outlier: {
      ejected,
      ejectedUntil: ejected ? new Date(ejectedUntil).toISOString() : null,
      consecutiveFailures: stats?.outlier.consecutiveFailures ?? 0,
      ejections: stats?.outlier.ejections ?? 0,
    },
  };
}

export function serviceView(name: string, routes: ServiceRoutes, stats: InstanceStatsRegistry, now = Date.now()): ServiceView {
  return {
    name,
    index: routes.index,
    updatedAt: new Date(routes.updatedAt).toISOString(),
    // In id order, so that the page and the CLI do not reshuffle when the registry reorders its answer.
    instances: [...routes.instances].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)).map((i) => instanceView(i, stats.peek(i.id), now)),
  };
}

export function routesView(table: RouteTable, stats: InstanceStatsRegistry, now = Date.now()): RoutesView {
  return {
    catalog: table.catalog === undefined ? null : { index: table.catalog.index, services: table.catalog.services.size },
    services: table.serviceNames().map((name) => serviceView(name, table.get(name)!, stats, now)),
  };
}
