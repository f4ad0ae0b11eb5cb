/**
 * What a cluster worker and the primary tell each other beside the watcher's
 * own messages (WatcherMessage), which the primary relays after the
 * supervisor validated them and which the worker validates again: it must not
 * trust another process either. Subscriptions reuse the watcher's command
 * schema. The primary asks for reports (report-request); a worker answers
 * with its request metrics and per-instance counters (report), which the
 * primary's admin server adds up.
 */
import { parseWatcherCommand, InvalidMessageError, type WatcherCommand } from "../discovery/messages.js";

/** The per-instance counters of one worker that the primary adds up for /routes and the dashboard. */
export interface InstanceCounters {
  id: string;
  inFlight: number;
  requests: number;
  failures: number;
  serverErrors: number;
  /** Passive health is per worker: the primary shows the longest ejection any worker has. */
  ejectedUntil: number;
  consecutiveFailures: number;
}

/** A registry's metrics in prom-client's JSON form (`getMetricsAsJSON()`), as its cluster aggregator takes them. */
export interface MetricJson {
  name: string;
  help: string;
  type: string;
  aggregator: string;
  values: { value: number; labels: Record<string, string | number>; metricName?: string }[];
}

export interface WorkerReport {
  type: "report";
  id: number;
  metrics: MetricJson[];
  instances: InstanceCounters[];
}

export interface ReportRequest {
  type: "report-request";
  id: number;
}

export type WorkerMessage =
  /** The worker listens for route messages now: the primary replays the current routes to it. */
  | { type: "ready" }
  | WorkerReport
  | WatcherCommand;

const COUNTER_FIELDS = ["inFlight", "requests", "failures", "serverErrors", "ejectedUntil", "consecutiveFailures"] as const;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}

function parseCounters(raw: unknown): InstanceCounters {
  if (!isRecord(raw) || typeof raw.id !== "string") throw new InvalidMessageError("report: an instance without an id");
  for (const field of COUNTER_FIELDS) {
    if (typeof raw[field] !== "number" || !Number.isFinite(raw[field])) throw new InvalidMessageError(`report: instance ${raw.id}: ${field} is not a number`);
  }
  return raw as unknown as InstanceCounters;
}

function parseMetric(raw: unknown): MetricJson {
  if (!isRecord(raw) || typeof raw.name !== "string" || typeof raw.type !== "string" || !Array.isArray(raw.values)) throw new InvalidMessageError("report: a metric without a name, type or values");
  for (const value of raw.values) {
    if (!isRecord(value) || typeof value.value !== "number" || !isRecord(value.labels)) throw new InvalidMessageError(`report: metric ${raw.name}: a value without a number or labels`);
  }
  return raw as unknown as MetricJson;
}

export function parseWorkerMessage(raw: unknown): WorkerMessage {
  if (!isRecord(raw)) throw new InvalidMessageError("worker message: not an object");
  if (raw.type === "ready") return { type: "ready" };
  if (raw.type === "report") {
    if (typeof raw.id !== "number" || !Array.isArray(raw.metrics) || !Array.isArray(raw.instances)) throw new InvalidMessageError("report: id, metrics and instances are required");
    return { type: "report", id: raw.id, metrics: raw.metrics.map(parseMetric), instances: raw.instances.map(parseCounters) };
  }
  return parseWatcherCommand(raw);
}

export function isReportRequest(raw: unknown): raw is ReportRequest {
  return isRecord(raw) && raw.type === "report-request" && typeof raw.id === "number";
}
