/**
 * The primary's side of the reports (worker-report.ts): it asks every worker
 * at once and takes what arrives within a bound, so that a busy or dying
 * worker delays /metrics by at most that and never hangs it. From the
 * answers it keeps the primary's per-instance counters (/routes, the
 * dashboard) in step with the workers', and hands the metrics on.
 */
import type { Worker } from "node:cluster";
import createDebug from "debug";
import type { InstanceStatsRegistry } from "../routing/instance-stats.js";
import type { InstanceCounters, WorkerReport } from "./messages.js";

const debug = createDebug("gateway:cluster");

export class WorkerReports {
  private nextId = 1;
  private readonly waiting = new Map<number, (report: WorkerReport) => void>();

  constructor(
    private readonly workers: () => Iterable<Worker>,
    /** The primary's own stats registry, whose records its table updater keeps in step with the table. */
    private readonly stats: InstanceStatsRegistry,
    private readonly timeoutMs = 2_000,
  ) {}

  /** A worker's answer (validated by parseWorkerMessage). */
  received(report: WorkerReport): void {
    this.waiting.get(report.id)?.(report);
  }

  /** The reports of the workers that answer within the bound; the instance counters are updated from them. */
  async collect(): Promise<WorkerReport[]> {
    const asked = [...this.workers()].filter((w) => w.isConnected());
    const reports = await Promise.all(asked.map((worker) => this.ask(worker)));
    const answered = reports.filter((r): r is WorkerReport => r !== undefined);
    this.updateStats(answered);
    return answered;
  }

  private ask(worker: Worker): Promise<WorkerReport | undefined> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      const done = (report: WorkerReport | undefined): void => {
        clearTimeout(timer);
        this.waiting.delete(id);
        resolve(report);
      };
      const timer = setTimeout(() => {
        debug("worker %d did not report within %d ms", worker.process.pid, this.timeoutMs);
        done(undefined);
      }, this.timeoutMs);
      this.waiting.set(id, done);
      worker.send({ type: "report-request", id }, (err: Error | null) => {
        if (err !== null) done(undefined);
      });
    });
  }

  private updateStats(reports: readonly WorkerReport[]): void {
    const sums = new Map<string, InstanceCounters>();
    for (const report of reports) {
      for (const c of report.instances) {
        const sum = sums.get(c.id);
        if (sum === undefined) {
          sums.set(c.id, { ...c });
          continue;
        }
        sum.inFlight += c.inFlight;
        sum.requests += c.requests;
        sum.failures += c.failures;
        sum.serverErrors += c.serverErrors;
        sum.ejectedUntil = Math.max(sum.ejectedUntil, c.ejectedUntil);
        sum.consecutiveFailures = Math.max(sum.consecutiveFailures, c.consecutiveFailures);
      }
    }
    for (const [id, sum] of sums) {
      // Only instances the primary's table knows: a worker may still count one the table has dropped.
      const stats = this.stats.peek(id);
      if (stats === undefined) continue;
      stats.inFlight = sum.inFlight;
      stats.requests = sum.requests;
      stats.failures = sum.failures;
      stats.serverErrors = sum.serverErrors;
      stats.outlier.ejectedUntil = sum.ejectedUntil;
      stats.outlier.consecutiveGatewayFailures = sum.consecutiveFailures;
    }
  }
}
