/**
 * A cluster worker's side of the reports: when the primary asks, the worker
 * answers with its request metrics (prom-client's JSON form, which the
 * primary adds up with prom-client's cluster aggregator) and its live
 * per-instance counters (for /routes and the dashboard). The table's own
 * metrics are left out: the primary holds the same table and the watcher.
 */
import createDebug from "debug";
import type { Gateway } from "../gateway/gateway.js";
import { isReportRequest, type InstanceCounters, type MetricJson, type WorkerReport } from "./messages.js";

const debug = createDebug("gateway:cluster");

export async function workerReport(id: number, gateway: Pick<Gateway, "metrics" | "stats">): Promise<WorkerReport> {
  const { metrics, stats } = gateway;
  metrics.dropDepartedInstances();
  const all = (await metrics.registry.getMetricsAsJSON()) as unknown as MetricJson[];
  const instances: InstanceCounters[] = [];
  for (const s of stats.all()) {
    instances.push({ id: s.key, inFlight: s.inFlight, requests: s.requests, failures: s.failures, serverErrors: s.serverErrors, ejectedUntil: s.outlier.ejectedUntil, consecutiveFailures: s.outlier.consecutiveGatewayFailures });
  }
  return { type: "report", id, metrics: all.filter((m) => !metrics.tableMetricNames.has(m.name)), instances };
}

/** Answers the primary's report requests until the returned function is called. */
export function answerReportRequests(gateway: Pick<Gateway, "metrics" | "stats">): () => void {
  const listener = (raw: unknown): void => {
    if (!isReportRequest(raw)) return;
    workerReport(raw.id, gateway).then(
      (report) => {
        if (process.connected) process.send!(report);
      },
      (err: unknown) => debug("worker %d could not report: %s", process.pid, (err as Error).message),
    );
  };
  process.on("message", listener);
  return () => process.off("message", listener);
}
