/**
 * Cluster mode with the load generator pinned away from the gateway: wrk and
 * the backend on the last CPU, the gateway (and so its workers and watcher)
 * on the others, with taskset. On a machine of n CPUs the gateway gets n - 1;
 * a cluster pays only when its workers have cores the load does not take, and
 * this shows whether they do. The cluster spread over every CPU (sharing the
 * load's) is measured beside it, as the unpinned run has it.
 */
import { spawnSync } from "node:child_process";
import { cpus } from "node:os";
import type { ConsulAgent } from "../test/support/consul.js";
import { startGateway, type Running } from "./lib/fixture.js";
import { measureThroughput, type TargetSummary, type ThroughputOptions } from "./throughput.js";

export interface PinnedResult {
  loadCpu: string;
  gatewayCpus: string;
  rows: TargetSummary[];
}

function pin(pid: number, list: string): void {
  // -a: every thread of the process (node's workers and libuv pool included).
  const run = spawnSync("taskset", ["-a", "-pc", list, String(pid)], { encoding: "utf8" });
  if (run.status !== 0) throw new Error(`taskset -a -pc ${list} ${pid}: ${run.stderr.trim()}`);
}

/** Why the pinned run cannot be done here, or undefined when it can. */
export function pinnedUnavailable(): string | undefined {
  if (spawnSync("taskset", ["--version"]).error !== undefined) return "taskset is not installed (util-linux)";
  if (cpus().length < 2) return `${cpus().length} CPU: nothing to pin apart`;
  return undefined;
}

export async function measurePinned(consul: ConsulAgent, backend: Running, options: ThroughputOptions, log: (line: string) => void): Promise<PinnedResult> {
  const n = cpus().length;
  const loadCpu = String(n - 1);
  const gatewayCpus = n === 2 ? "0" : `0-${n - 2}`;
  const all = `0-${n - 1}`;
  const running: Running[] = [];
  pin(backend.pid, loadCpu);
  try {
    running.push(await startGateway(`gateway (1 process) on CPU ${gatewayCpus}`, consul, 1, { cpus: gatewayCpus }));
    running.push(await startGateway(`gateway (cluster, 2 workers) on CPU ${gatewayCpus}`, consul, 2, { cpus: gatewayCpus }));
    running.push(await startGateway(`gateway (cluster, 2 workers) on CPU ${all} (shares the load's)`, consul, 2));
    const rows = await measureThroughput(running, { ...options, cpus: loadCpu }, (line) => log(`pinned ${line}`));
    return { loadCpu, gatewayCpus, rows };
  } finally {
    for (const target of running) await target.stop();
    pin(backend.pid, all);
  }
}
