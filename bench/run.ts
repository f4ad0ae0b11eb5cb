/**
 * `npm run bench`: the whole suite in one run, results with the date and the
 * machine in docs/BENCHMARKS.md. `npm run bench -- --smoke` runs one short
 * pass of everything (a minute or two) so that CI keeps the suite working;
 * its numbers mean nothing and it never fails on speed, only when the suite
 * itself breaks. The smoke report goes to test-artifacts/, not docs/.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ConsulAgent } from "../test/support/consul.js";
import { nginxBinary, REPO, startBackend, startConsulWithBackend, startGateway, type Running } from "./lib/fixture.js";
import { loadTool } from "./lib/load.js";
import { loadAverage } from "./lib/proc.js";
import { measureMemory, type MemoryResult } from "./memory.js";
import { profileGateway, type ProfileSummary } from "./profile.js";
import { measurePinned, pinnedUnavailable, type PinnedResult } from "./pinned.js";
import { measurePropagation, type PropagationResult, type PropagationTarget } from "./propagation.js";
import { machine, peerVerdicts, renderReport, verdicts, type Report } from "./report.js";
import { measureScale, type ScaleOptions, type ScaleResult } from "./scale.js";
import { CHURN_FULL, CHURN_SMOKE, measureChurn, type ChurnResult } from "./churn.js";
import { measureWebSocket, type WebSocketResult } from "./websocket.js";
import { measureTls, renderTlsSection, type TlsResult } from "./tls.js";
import { onSupportedRuntime } from "./lib/runtime.js";
import { findPeerBinary, peerVersion, type PeerName } from "./lib/peer-binaries.js";
import { startFabio, startTraefik } from "./lib/peer-gateways.js";
import { GATEWAY, measureThroughput, startTargets, type OptionalTargets, type TargetSummary } from "./throughput.js";

const smoke = process.argv.includes("--smoke");
const settings = smoke
  ? { rounds: 1, warmupS: 1, durationS: 2, connections: 50, propagationCycles: 10, throttledPropagationCycles: 3, pollingPropagationCycles: 1, memoryS: 10, idleWebSockets: 200, scale: [{ watch: "per-service", services: 100, instancesPerService: 10, changes: 1 }, { watch: "shared", services: 100, instancesPerService: 10, changes: 1 }] as ScaleOptions[] }
  : { rounds: 5, warmupS: 2, durationS: 5, connections: 50, propagationCycles: 100, throttledPropagationCycles: 20, pollingPropagationCycles: 5, memoryS: 120, idleWebSockets: 10_000, scale: [{ watch: "per-service", services: 150, instancesPerService: 10, changes: 5 }, { watch: "per-service", services: 1000, instancesPerService: 10, changes: 5 }, { watch: "shared", services: 1000, instancesPerService: 10, changes: 5 }] as ScaleOptions[] };

const log = (line: string): void => console.log(`bench: ${line}`);
const runtime = onSupportedRuntime(REPO, log);
const started = Date.now();

execFileSync("bash", [join(REPO, "bench/ensure-tools.sh")], { stdio: "inherit" });
execFileSync("npm", ["run", "-s", "build"], { cwd: REPO, stdio: "inherit" });
const loadBefore = loadAverage();
const notes: string[] = [];
if (nginxBinary() === undefined) notes.push("nginx could not be installed: its rows and the targets against it are missing.");

// The peers a user would pick instead, and the gateway on the machine's older Node: each one that is missing is skipped with one line.
const optional: OptionalTargets = {};
for (const name of ["fabio", "traefik"] as PeerName[]) {
  const found = findPeerBinary(name);
  if (found.found) {
    optional[name] = { binary: found.path, version: peerVersion(name, found.path) };
    log(`${optional[name].version} from ${found.from}`);
  } else {
    const line = `${name} skipped: ${found.reason}`;
    log(line);
    notes.push(`${line}.`);
  }
}
if (runtime.machineNode) {
  optional.machineNode = runtime.machineNode;
  log(`the gateway also runs on the machine's Node ${runtime.machineNode.version} (${runtime.machineNode.binary})`);
}
if (runtime.unavailable) notes.push(`Node 24 LTS, the supported runtime, could not be had: ${runtime.unavailable}.`);

let throughput: TargetSummary[] = [];
const propagation: PropagationResult[] = [];
const scale: ScaleResult[] = [];
const scaleFailures: string[] = [];
let churn: ChurnResult | undefined;
let churnFailure: string | undefined;
let memory: MemoryResult | undefined;
let pinned: PinnedResult | undefined;
let profile: ProfileSummary | undefined;
let websocket: WebSocketResult | undefined;
let tls: TlsResult | undefined;

let backend: Running | undefined;
let consul: ConsulAgent | undefined;
const running: Running[] = [];
try {
  backend = await startBackend();
  const backendPort = Number(new URL(backend.url).port);
  consul = await startConsulWithBackend(backendPort);

  log(`throughput: ${settings.rounds} round(s) × every target, ${settings.durationS} s each with ${loadTool()}`);
  const targets = await startTargets(consul, backend, optional);
  running.push(...targets.filter((t) => t !== backend));
  throughput = await measureThroughput(targets, settings, log);
  for (const target of running.splice(0)) await target.stop();

  const cannotPin = pinnedUnavailable();
  if (cannotPin === undefined) {
    log(`cluster mode with the load pinned away: ${settings.rounds} round(s)`);
    pinned = await measurePinned(consul, backend, settings, log);
  } else {
    log(`cluster mode with the load pinned away skipped: ${cannotPin}`);
    notes.push(`The pinned cluster measurement was skipped: ${cannotPin}.`);
  }

  log(`propagation: ${settings.propagationCycles} register/deregister cycles per gateway in ${settings.rounds} interleaved round(s) (${settings.throttledPropagationCycles} for Traefik with watch=true, ${settings.pollingPropagationCycles} for its 15 s poll)`);
  const propagationTargets: PropagationTarget[] = [
    { start: () => startGateway(GATEWAY, consul!, 1), cycles: settings.propagationCycles },
    { start: () => startGateway("gateway (cluster, 2 workers)", consul!, 2), cycles: settings.propagationCycles },
  ];
  const { fabio, traefik } = optional;
  if (fabio) propagationTargets.push({ start: () => startFabio(fabio.version, fabio.binary, consul!), cycles: settings.propagationCycles });
  // Traefik applies a provider's change at most every 2 s (providersThrottleDuration): fewer cycles for it.
  if (traefik) propagationTargets.push({ start: () => startTraefik(`${traefik.version} (watch=true)`, traefik.binary, consul!, { watch: true }), cycles: settings.throttledPropagationCycles });
  propagation.push(...(await measurePropagation(consul, backendPort, propagationTargets, settings.rounds, log)));
  // Its 15 s poll makes each cycle last up to 30 s: one round.
  if (traefik) {
    const polling = { start: () => startTraefik(traefik.version, traefik.binary, consul!, { watch: false }), cycles: settings.pollingPropagationCycles, waitLimitMs: 40_000 };
    propagation.push(...(await measurePropagation(consul, backendPort, [polling], 1, log)));
  }

  log(`memory: a fresh gateway, ${settings.memoryS} s of load`);
  const fresh = await startGateway("gateway (memory)", consul, 1);
  running.push(fresh);
  memory = await measureMemory(fresh, settings.connections, settings.memoryS);
  log(`memory: idle ${memory.idleMiB.toFixed(1)} MiB, under load ${memory.underLoadMiB.toFixed(1)} MiB, growth ${memory.growthMiB.toFixed(1)} MiB over ${memory.requests} requests`);
  await running.pop()!.stop();

  log(`websocket: echo through the gateway and direct, then ${settings.idleWebSockets} idle upgraded connections`);
  websocket = await measureWebSocket(
    consul,
    { rounds: settings.rounds, warmupS: settings.warmupS, durationS: settings.durationS, connections: settings.connections, idleConnections: settings.idleWebSockets },
    log,
  );

  log("profile: the single process under the same load with --cpu-prof");
  profile = await profileGateway(consul, settings, join(REPO, smoke ? "test-artifacts" : "bench/results"));
  log("tls: HTTPS/1.1 and HTTPS/2 beside nginx, gRPC unary through the gateway beside direct");
  tls = await measureTls(consul, backend, settings, log);

  log(`profile: top layers ${profile.layers.slice(0, 4).map((l) => `${l.layer} ${l.percent.toFixed(0)}%`).join(", ")}`);
} finally {
  for (const target of running) await target.stop();
  await backend?.stop();
  await consul?.destroy();
}

for (const options of settings.scale) {
  try {
    scale.push(await measureScale(options, log));
  } catch (err) {
    const message = `${options.watch} watch, ${options.services} services × ${options.instancesPerService}: did not complete: ${(err as Error).message.split("\n")[0]}`;
    log(message);
    scaleFailures.push(message);
  }
}

const churnOptions = smoke ? CHURN_SMOKE : CHURN_FULL;
log(`churn: ${churnOptions.events} register/deregister events over ${churnOptions.services} services`);
try {
  churn = await measureChurn(churnOptions, log);
} catch (err) {
  churnFailure = `churn: did not complete: ${(err as Error).message.split("\n")[0]}`;
  log(churnFailure);
}

const report: Report = {
  date: new Date(),
  smoke,
  command: smoke ? "npm run bench -- --smoke" : "npm run bench",
  loadTool: loadTool(),
  connections: settings.connections,
  durationS: settings.durationS,
  warmupS: settings.warmupS,
  rounds: settings.rounds,
  loadBefore,
  loadAfter: loadAverage(),
  throughput,
  propagation,
  scale,
  scaleFailures,
  churn,
  churnFailure,
  memory,
  pinned,
  profile,
  websocket,
  notes,
  versions: [optional.machineNode ? `Node ${optional.machineNode.version} (machine)` : "", optional.fabio?.version ?? "", optional.traefik?.version ?? ""].filter(Boolean),
};
const markdown = renderReport(report, machine(nginxBinary(), report.versions)) + (tls === undefined ? "" : `\n${renderTlsSection(tls)}`);
const out = smoke ? join(REPO, "test-artifacts/BENCHMARKS-smoke.md") : join(REPO, "docs/BENCHMARKS.md");
mkdirSync(join(out, ".."), { recursive: true });
writeFileSync(out, markdown);
console.log(markdown);
for (const v of [...peerVerdicts(report), ...verdicts(report)]) log(`target ${v.met === undefined ? "not measured" : v.met ? "met" : "NOT met"}: ${v.target} (${v.measured})`);
log(`report written to ${out.replace(REPO + "/", "")} in ${Math.round((Date.now() - started) / 1000)} s`);
// Speed never fails the run; a broken suite does (an exception above exits non-zero).
process.exit(0);
