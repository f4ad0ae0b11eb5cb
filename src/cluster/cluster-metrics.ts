/**
 * The primary's /metrics in cluster mode: the table's metrics, which the
 * primary holds (route table, table change log, the watcher's restarts), and
 * the request metrics of every worker, added up with prom-client's cluster
 * aggregator (sums, except where a metric says otherwise, as some of Node's
 * process metrics do). Node's process metrics are the workers', where the
 * traffic is.
 */
import { AggregatorRegistry, Registry, type MetricObjectWithValues, type MetricValue } from "prom-client";
import { registerTableMetrics, type MetricsExposition, type MetricsSources } from "../observability/metrics.js";
import type { WorkerReports } from "./worker-reports.js";

export class ClusterMetrics implements MetricsExposition {
  private readonly table = new Registry();

  constructor(
    sources: MetricsSources,
    private readonly reports: WorkerReports,
  ) {
    registerTableMetrics(this.table, sources);
  }

  get contentType(): string {
    return this.table.contentType;
  }

  async exposition(): Promise<string> {
    const reports = await this.reports.collect();
    const workers = AggregatorRegistry.aggregate(reports.map((r) => r.metrics as unknown as MetricObjectWithValues<MetricValue<string>>[]));
    // Two text expositions of distinct metric families, one after the other, are one exposition.
    const parts = [await workers.metrics(), await this.table.metrics()].map((text) => text.trim()).filter((text) => text !== "");
    return `${parts.join("\n\n")}\n`;
  }
}
