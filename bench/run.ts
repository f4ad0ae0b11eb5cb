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
import { measurePropagation, type PropagationResult } from "./propagation.js";
import { machine, renderReport, verdicts, type Report } from "./report.js";
import { measureScale, type ScaleOptions, type ScaleResult } from "./scale.js";
import { CHURN_FULL, CHURN_SMOKE, measureChurn, type ChurnResult } from "./churn.js";
import { measureThroughput, startTargets, type TargetSummary } from "./throughput.js";
import { measureWebSocket, type WebSocketResult } from "./websocket.js";
import { measureTls, renderTlsSection, type TlsResult } from "./tls.js";

const smoke = process.argv.includes("--smoke");
const settings = smoke
  ? { rounds: 1, warmupS: 1, durationS: 2, connections: 50, propagationCycles: 10, memoryS: 10, idleWebSockets: 200, scale: [{ watch: "per-service", services: 100, instancesPerService: 10, changes: 1 }, { watch: "shared", services: 100, instancesPerService: 10, changes: 1 }] as ScaleOptions[] }
  : { rounds: 5, warmupS: 2, durationS: 5, connections: 50, propagationCycles: 100, memoryS: 120, idleWebSockets: 10_000, scale: [{ watch: "per-service", services: 150, instancesPerService: 10, changes: 5 }, { watch: "per-service", services: 1000, instancesPerService: 10, changes: 5 }, { watch: "shared", services: 1000, instancesPerService: 10, changes: 5 }] as ScaleOptions[] };

const log = (line: string): void => console.log(`bench: ${line}`);
const started = Date.now();

execFileSync("bash", [join(REPO, "bench/ensure-tools.sh")], { stdio: "inherit" });
execFileSync("npm", ["run", "-s", "build"], { cwd: REPO, stdio: "inherit" });
const loadBefore = loadAverage();
const notes: string[] = [];
if (nginxBinary() === undefined) notes.push("nginx could not be installed: its rows and the targets against it are missing.");

let throughput: TargetSummary[] = [];
const propagation: PropagationResult[] = [];
const scale: ScaleResult[] = [];
const scaleFailures: string[] = [];
let churn: ChurnResult | undefined;
let churnFailure: string | undefined;
let memory: MemoryResult | undefined;
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
  const targets = await startTargets(consul, backend);
  running.push(...targets.filter((t) => t !== backend));
  throughput = await measureThroughput(targets, settings, log);

  log(`propagation: ${settings.propagationCycles} register/deregister cycles per gateway`);
  for (const name of ["gateway (1 process)", "gateway (cluster, 2 workers)"]) {
    const gateway = targets.find((t) => t.name === name)!;
    const result = await measurePropagation(consul, gateway, backendPort, settings.propagationCycles);
    log(`propagation ${name}: register p50 ${result.registerP50Ms.toFixed(1)} / p99 ${result.registerP99Ms.toFixed(1)} ms, deregister p50 ${result.deregisterP50Ms.toFixed(1)} / p99 ${result.deregisterP99Ms.toFixed(1)} ms`);
    propagation.push(result);
  }
  for (const target of running.splice(0)) await target.stop();

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
  profile,
  websocket,
  notes,
};
const markdown = renderReport(report, machine(nginxBinary())) + (tls === undefined ? "" : `\n${renderTlsSection(tls)}`);
const out = smoke ? join(REPO, "test-artifacts/BENCHMARKS-smoke.md") : join(REPO, "docs/BENCHMARKS.md");
mkdirSync(join(out, ".."), { recursive: true });
writeFileSync(out, markdown);
console.log(markdown);
for (const v of verdicts(report)) log(`target ${v.met === undefined ? "not measured" : v.met ? "met" : "NOT met"}: ${v.target} (${v.measured})`);
log(`report written to ${out.replace(REPO + "/", "")} in ${Math.round((Date.now() - started) / 1000)} s`);
// Speed never fails the run; a broken suite does (an exception above exits non-zero).
process.exit(0);
