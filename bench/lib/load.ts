/**
 * Drives one target with a fixed load and reads the result: wrk from Debian
 * when present (a C load generator takes the least CPU from the two cores the
 * targets share), else autocannon from npm. Same connections and duration for
 * every target.
 */
import { execFile, spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { promisify } from "node:util";

export interface LoadResult {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** Non-2xx answers and socket errors: a target that fails is not fast. */
  errors: number;
}

export interface LoadOptions {
  connections: number;
  durationS: number;
  /** CPUs the load generator is pinned to (taskset's list form, e.g. "1"); wrk only. */
  cpus?: string;
}

export function loadTool(): "wrk" | "autocannon" {
  return spawnSync("wrk", ["--version"]).error === undefined ? "wrk" : "autocannon";
}

function toMs(value: string, unit: string): number {
  const n = Number(value);
  switch (unit) {
    case "us":
      return n / 1000;
    case "ms":
      return n;
    case "s":
      return n * 1000;
    default:
      throw new Error(`unknown wrk latency unit ${unit}`);
  }
}

/** Parses wrk's --latency report. */
export function parseWrk(output: string): LoadResult {
  const rps = output.match(/Requests\/sec:\s+([\d.]+)/);
  // wrk pads a value in seconds with a trailing space ("99%    1.20s ").
  const p50 = output.match(/^\s+50%\s+([\d.]+)(us|ms|s)\s*$/m);
  const p99 = output.match(/^\s+99%\s+([\d.]+)(us|ms|s)\s*$/m);
  if (!rps || !p50 || !p99) throw new Error(`unexpected wrk output:\n${output}`);
  const non2xx = Number(output.match(/Non-2xx or 3xx responses:\s+(\d+)/)?.[1] ?? 0);
  const socket = output.match(/Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/);
  const socketErrors = socket ? socket.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0;
  return { requestsPerSecond: Number(rps[1]), p50Ms: toMs(p50[1]!, p50[2]!), p99Ms: toMs(p99[1]!, p99[2]!), errors: non2xx + socketErrors };
}

export async function runLoad(url: string, options: LoadOptions): Promise<LoadResult> {
  if (loadTool() === "wrk") {
    // Asynchronous, so that the bench can sample the target (memory) while the load runs.
    const wrk = ["wrk", "-t1", `-c${options.connections}`, `-d${options.durationS}s`, "--latency", url];
    const [command, ...args] = options.cpus === undefined ? wrk : ["taskset", "-c", options.cpus, ...wrk];
    const { stdout } = await promisify(execFile)(command!, args, {
      encoding: "utf8",
      timeout: (options.durationS + 30) * 1000,
    });
    return parseWrk(stdout);
  }
  const autocannon = createRequire(import.meta.url)("autocannon") as (opts: unknown) => Promise<{
    requests: { average: number };
    latency: { p50: number; p99: number };
    non2xx: number;
    errors: number;
  }>;
  const result = await autocannon({ url, connections: options.connections, duration: options.durationS });
  return { requestsPerSecond: result.requests.average, p50Ms: result.latency.p50, p99Ms: result.latency.p99, errors: result.non2xx + result.errors };
}
