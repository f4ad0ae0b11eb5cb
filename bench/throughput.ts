/**
 * Requests per second and latency of every target, side by side in one run:
 * all targets are started once and stay up (idle ones cost nothing), then the
 * same load hits each in turn, in an order that rotates every round so that
 * none always runs first or last, with a warm-up before each measurement.
 * Reports medians over the rounds and ratios to direct and to nginx.
 */
import type { ConsulAgent } from "../test/support/consul.js";
import { runLoad, type LoadOptions, type LoadResult } from "./lib/load.js";
import { nginxBinary, startGateway, startNginx, startPeer, type Running } from "./lib/fixture.js";
import { startFabio, startTraefik } from "./lib/peer-gateways.js";
import { median } from "./lib/stats.js";
import { processTree, treeCpuMs } from "./lib/proc.js";

export interface ThroughputOptions extends LoadOptions {
  rounds: number;
  warmupS: number;
}

/** One measurement, with the CPU the target's processes spent per request. */
export interface TargetRun extends LoadResult {
  cpuUsPerRequest: number;
}

export interface TargetSummary {
  name: string;
  requestsPerSecond: number;
  /**
   * CPU time the target's processes spent per request (from /proc): what the
   * target costs, which a machine shared with other work disturbs far less
   * than the request rate, since a descheduled process spends no CPU.
   */
  cpuUsPerRequest: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  runs: TargetRun[];
}

/** What the run found beside this repository: each is left out (and said so) when it is missing. */
export interface OptionalTargets {
  /** The machine's own Node when it is older than the bench's (bench/lib/runtime.ts), to run the same gateway on. */
  machineNode?: { binary: string; version: string };
  fabio?: { binary: string; version: string };
  traefik?: { binary: string; version: string };
}

export const GATEWAY = "gateway (1 process)";
export const gatewayOnNode = (version: string): string => `gateway (1 process, Node ${version.replace(/^v/, "").split(".")[0]})`;

/** The targets in the issue's order. nginx is left out (and said so) when it cannot be installed. */
export async function startTargets(consul: ConsulAgent, backend: Running, optional: OptionalTargets = {}): Promise<Running[]> {
  const backendPort = Number(new URL(backend.url).port);
  const targets: Running[] = [backend];
  const add = async (starting: Promise<Running>): Promise<void> => void targets.push(await starting);
  await add(startGateway(GATEWAY, consul, 1));
  if (optional.machineNode) await add(startGateway(gatewayOnNode(optional.machineNode.version), consul, 1, { node: optional.machineNode.binary }));
  await add(startGateway("gateway (cluster, 2 workers)", consul, 2));
  if (optional.fabio) await add(startFabio(optional.fabio.version, optional.fabio.binary, consul));
  if (optional.traefik) await add(startTraefik(optional.traefik.version, optional.traefik.binary, consul, { watch: false }));
  if (nginxBinary() !== undefined) {
    await add(startNginx("nginx (1 worker)", 1, backendPort));
    await add(startNginx("nginx (2 workers)", 2, backendPort));
  }
  await add(startPeer("http-proxy", "http-proxy.ts", backendPort));
  await add(startPeer("koa + superagent (original design)", "koa-superagent.ts", backendPort));
  await add(startPeer("node:http + undici (bare)", "bare-undici.ts", backendPort));
  await add(startPeer("node:http + undici.stream (bare)", "bare-undici-stream.ts", backendPort));
  return targets;
}

export async function measureThroughput(targets: readonly Running[], options: ThroughputOptions, log: (line: string) => void): Promise<TargetSummary[]> {
  const runs = new Map<string, TargetRun[]>(targets.map((t) => [t.name, []]));
  for (let round = 0; round < options.rounds; round++) {
    const order = targets.map((_, i) => targets[(i + round) % targets.length]!);
    for (const target of order) {
      await runLoad(target.url, { ...options, durationS: options.warmupS });
      const pids = processTree(target.pid);
      const cpuBefore = treeCpuMs(pids);
      const load: LoadResult = await runLoad(target.url, options);
      const result = { ...load, cpuUsPerRequest: ((treeCpuMs(pids) - cpuBefore) * 1000) / (load.requestsPerSecond * options.durationS) };
      runs.get(target.name)!.push(result);
      log(`round ${round + 1}/${options.rounds} ${target.name}: ${Math.round(result.requestsPerSecond)} req/s, p50 ${result.p50Ms.toFixed(2)} ms, p99 ${result.p99Ms.toFixed(2)} ms, ${result.cpuUsPerRequest.toFixed(1)} µs CPU/request${result.errors ? `, ${result.errors} errors` : ""}`);
    }
  }
  return targets.map((t) => {
    const r = runs.get(t.name)!;
    return {
      name: t.name,
      requestsPerSecond: median(r.map((x) => x.requestsPerSecond)),
      cpuUsPerRequest: median(r.map((x) => x.cpuUsPerRequest)),
      p50Ms: median(r.map((x) => x.p50Ms)),
      p99Ms: median(r.map((x) => x.p99Ms)),
      errors: r.reduce((sum, x) => sum + x.errors, 0),
      runs: r,
    };
  });
}
