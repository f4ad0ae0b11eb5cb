/** The bench's results as Markdown: the machine, the tables, and the performance targets with their verdicts. */
import { spawnSync } from "node:child_process";
import { cpus, totalmem, release } from "node:os";
import { GATEWAY, type TargetSummary } from "./throughput.js";
import type { PropagationResult } from "./propagation.js";
import type { ScaleResult } from "./scale.js";
import type { ChurnResult } from "./churn.js";
import type { MemoryResult } from "./memory.js";
import type { ProfileSummary } from "./profile.js";
import type { WebSocketResult } from "./websocket.js";
import type { PinnedResult } from "./pinned.js";

export interface Report {
  date: Date;
  smoke: boolean;
  command: string;
  loadTool: string;
  connections: number;
  durationS: number;
  warmupS: number;
  rounds: number;
  loadBefore: number;
  loadAfter: number;
  throughput: TargetSummary[];
  propagation: PropagationResult[];
  scale: ScaleResult[];
  scaleFailures: string[];
  churn?: ChurnResult | undefined;
  churnFailure?: string | undefined;
  memory: MemoryResult | undefined;
  pinned: PinnedResult | undefined;
  profile: ProfileSummary | undefined;
  websocket?: WebSocketResult | undefined;
  notes: string[];
  /** The peer gateways and Node versions found for this run, for the machine line. */
  versions: string[];
}

/** The first line a tool prints about its version (nginx prints it on stderr, wrk exits 1 after it). */
function version(command: string, args: string[]): string {
  const run = spawnSync(command, args, { encoding: "utf8" });
  if (run.error !== undefined) return `${command} not installed`;
  return `${run.stdout}\n${run.stderr}`.trim().split("\n")[0]!;
}

export function machine(nginx: string | undefined, versions: readonly string[] = []): string {
  const cpu = cpus();
  return [
    `${cpu.length} × ${cpu[0]?.model ?? "unknown CPU"}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Linux ${release()}`,
    `Node ${process.version}; ${nginx === undefined ? "nginx not installed" : version(nginx, ["-v"]).replace(/^nginx version: /, "")}; ${version("wrk", ["--version"]).replace(/ \[.*$/, "")}`,
    ...versions,
  ].join("; ");
}

const f = (n: number, d = 0): string => (Number.isFinite(n) ? n.toFixed(d) : "–");

function find(rows: readonly TargetSummary[], prefix: string): TargetSummary | undefined {
  return rows.find((r) => r.name.startsWith(prefix));
}

interface Verdict {
  target: string;
  measured: string;
  met: boolean | undefined;
}

const isPeer = (name: string, peer: "Fabio" | "Traefik"): boolean => name.startsWith(peer) && !name.includes("watch=true");

/** The targets of issue 17: the gateway against Fabio and Traefik in the same run. */
export function peerVerdicts(report: Report): Verdict[] {
  const rows = report.throughput;
  const single = rows.find((r) => r.name === GATEWAY);
  const fabio = rows.find((r) => isPeer(r.name, "Fabio"));
  const traefik = rows.find((r) => isPeer(r.name, "Traefik"));
  const out: Verdict[] = [];
  const add = (target: string, value: number, goal: (v: number) => boolean, unit = "×"): void => {
    out.push({ target, measured: Number.isFinite(value) ? `${value.toFixed(2)}${unit}` : "not measured", met: Number.isFinite(value) ? goal(value) : undefined });
  };
  const ratio = (a: TargetSummary | undefined, b: TargetSummary | undefined, key: "requestsPerSecond" | "cpuUsPerRequest" | "p99Ms"): number => (a && b ? a[key] / b[key] : NaN);
  add("single process req/s ≥ 1.0× Fabio's", ratio(single, fabio, "requestsPerSecond"), (v) => v >= 1.0);
  add("single process req/s ≥ 0.8× Traefik's", ratio(single, traefik, "requestsPerSecond"), (v) => v >= 0.8);
  add("single process CPU µs per request ≤ 1.25× Traefik's", ratio(single, traefik, "cpuUsPerRequest"), (v) => v <= 1.25);
  add("single process p99 ≤ Traefik's (ratio)", ratio(single, traefik, "p99Ms"), (v) => v <= 1.0);
  const gatewayProp = report.propagation.find((p) => p.target === GATEWAY);
  const fabioProp = report.propagation.find((p) => isPeer(p.target, "Fabio"));
  add("propagation register p50 ≤ Fabio's (ratio)", gatewayProp && fabioProp ? gatewayProp.registerP50Ms / fabioProp.registerP50Ms : NaN, (v) => v <= 1.0);
  add("propagation deregister p50 ≤ Fabio's (ratio)", gatewayProp && fabioProp ? gatewayProp.deregisterP50Ms / fabioProp.deregisterP50Ms : NaN, (v) => v <= 1.0);
  for (const p of report.propagation.filter((x) => x.target.startsWith("gateway"))) {
    add(`propagation p99 < 50 ms, ${p.target}, register`, p.registerP99Ms, (v) => v < 50, " ms");
    add(`propagation p99 < 50 ms, ${p.target}, deregister`, p.deregisterP99Ms, (v) => v < 50, " ms");
  }
  return out;
}

/** The earlier targets (against http-proxy, the bare forwarder and nginx). */
export function verdicts(report: Report): Verdict[] {
  const rows = report.throughput;
  const single = rows.find((r) => r.name === GATEWAY);
  const cluster = find(rows, "gateway (cluster");
  const proxy = find(rows, "http-proxy");
  const bare = find(rows, "node:http + undici (bare)");
  const nginx1 = find(rows, "nginx (1");
  const nginx2 = find(rows, "nginx (2");
  const ratio = (a: TargetSummary | undefined, b: TargetSummary | undefined): number => (a && b ? a.requestsPerSecond / b.requestsPerSecond : NaN);
  const out: Verdict[] = [];
  const add = (target: string, value: number, goal: (v: number) => boolean, unit = "×"): void => {
    out.push({ target, measured: Number.isFinite(value) ? `${value.toFixed(2)}${unit}` : "not measured", met: Number.isFinite(value) ? goal(value) : undefined });
  };
  // Throughput ratios as the targets state them, and the same ratios of CPU per request (cost, inverted),
  // which a machine shared with other work disturbs far less.
  const cost = (a: TargetSummary | undefined, b: TargetSummary | undefined): number => (a && b ? b.cpuUsPerRequest / a.cpuUsPerRequest : NaN);
  add("single process ≥ 1.5× http-proxy (req/s)", ratio(single, proxy), (v) => v >= 1.5);
  add("single process ≥ 1.5× http-proxy (by CPU per request)", cost(single, proxy), (v) => v >= 1.5);
  add("single process ≥ 0.85× bare node:http + undici (req/s)", ratio(single, bare), (v) => v >= 0.85);
  add("single process ≥ 0.85× bare node:http + undici (by CPU per request)", cost(single, bare), (v) => v >= 0.85);
  add("cluster (2 workers) ≥ 0.45× nginx (2 workers)", ratio(cluster, nginx2), (v) => v >= 0.45);
  add("single process p99 ≤ 1.5× nginx (1 worker) p99", single && nginx1 ? single.p99Ms / nginx1.p99Ms : NaN, (v) => v <= 1.5);
  add("cluster p99 ≤ 1.5× nginx (2 workers) p99", cluster && nginx2 ? cluster.p99Ms / nginx2.p99Ms : NaN, (v) => v <= 1.5);
  return out;
}

export function renderReport(report: Report, machineLine: string): string {
  const rows = report.throughput;
  const direct = find(rows, "direct");
  const nginx2 = find(rows, "nginx (2");
  const nginx1 = find(rows, "nginx (1");
  const lines: string[] = [];
  lines.push(`# Benchmarks${report.smoke ? " (smoke run: one short pass, numbers are not meaningful)" : ""}`, "");
  lines.push(`Run on ${report.date.toISOString().replace("T", " ").slice(0, 16)} UTC with \`${report.command}\`.`, "");
  lines.push(`- Machine: ${machineLine}.`);
  lines.push(`- Load: ${report.loadTool}, ${report.connections} connections, one thread, ${report.durationS} s per measurement after a ${report.warmupS} s warm-up, ${report.rounds} interleaved round(s) (the order rotates each round); medians below. Every process (load, backend, proxy, Consul) on the same cores, on loopback.`);
  lines.push(`- Load average (1 min) before the run ${f(report.loadBefore, 2)}, after ${f(report.loadAfter, 2)}${report.loadBefore > 0.5 || report.loadAfter > 2.5 ? ": **other work was running on the machine** (a load average above 0.5 before or 2.5 after), so absolute numbers are noisy; the ratios of one run are what to compare" : ""}.`);
  for (const note of report.notes) lines.push(`- ${note}`);
  lines.push("- What these numbers mean, which of the performance targets hold, what holds the rest back and what was tried: [PERFORMANCE.md](PERFORMANCE.md).");
  lines.push("", "## Against Fabio and Traefik", "");
  lines.push(`Ratios to the gateway (1 process, Node ${process.version.slice(1)}) of the same run; the absolute figures are in the tables below. Propagation: register / deregister, p50 / p99 in ms.`, "");
  lines.push("| Target | req/s × gateway | CPU µs/req × gateway | p50 ms | p99 ms | register p50 / p99 ms | deregister p50 / p99 ms |");
  lines.push("|---|---:|---:|---:|---:|---:|---:|");
  const reference = rows.find((r) => r.name === GATEWAY);
  const sideBySide = [...rows.filter((r) => r.name.startsWith("gateway") || r.name.startsWith("Fabio") || r.name.startsWith("Traefik")).map((r) => r.name)];
  for (const p of report.propagation) if (!sideBySide.includes(p.target)) sideBySide.push(p.target);
  for (const name of sideBySide) {
    const r = rows.find((x) => x.name === name);
    const p = report.propagation.find((x) => x.target === name);
    const x = (key: "requestsPerSecond" | "cpuUsPerRequest"): string => (r && reference ? f(r[key] / reference[key], 2) : "–");
    const prop = (p50: number | undefined, p99: number | undefined): string => (p === undefined ? "–" : `${f(p50!, 1)} / ${f(p99!, 1)}${p.cycles < 50 ? ` (${p.cycles} cycle${p.cycles === 1 ? "" : "s"})` : ""}`);
    lines.push(`| ${name} | ${x("requestsPerSecond")} | ${x("cpuUsPerRequest")} | ${r ? f(r.p50Ms, 2) : "–"} | ${r ? f(r.p99Ms, 2) : "–"} | ${prop(p?.registerP50Ms, p?.registerP99Ms)} | ${prop(p?.deregisterP50Ms, p?.deregisterP99Ms)} |`);
  }
  lines.push("", "### Targets against the peers", "", "| Target | Measured | Met |", "|---|---:|---|");
  for (const v of peerVerdicts(report)) lines.push(`| ${v.target} | ${v.measured} | ${v.met === undefined ? "–" : v.met ? "yes" : "**no**"} |`);

  lines.push("", "## Throughput and latency", "");
  lines.push("| Target | req/s | p50 ms | p99 ms | CPU µs/req | × direct | × nginx 1w | × nginx 2w | errors | req/s per round |");
  lines.push("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|");
  for (const r of rows) {
    const x = (b: TargetSummary | undefined): string => (b ? f(r.requestsPerSecond / b.requestsPerSecond, 2) : "–");
    lines.push(`| ${r.name} | ${f(r.requestsPerSecond)} | ${f(r.p50Ms, 2)} | ${f(r.p99Ms, 2)} | ${f(r.cpuUsPerRequest, 1)} | ${x(direct)} | ${x(nginx1)} | ${x(nginx2)} | ${r.errors} | ${r.runs.map((run) => f(run.requestsPerSecond)).join(", ")} |`);
  }
  lines.push("", "CPU µs/req: the CPU time all of the target's processes spent per request (from /proc; for the gateway its watcher child and in cluster mode the primary too), the load generator and the backend excluded.");
  lines.push("", "## Earlier performance targets (http-proxy, the bare forwarder, nginx)", "", "| Target | Measured | Met |", "|---|---:|---|");
  for (const v of verdicts(report)) lines.push(`| ${v.target} | ${v.measured} | ${v.met === undefined ? "–" : v.met ? "yes" : "**no**"} |`);

  if (report.pinned !== undefined) {
    const { rows: pinnedRows, loadCpu, gatewayCpus } = report.pinned;
    const base = pinnedRows[0];
    lines.push("", "## Cluster mode with the load pinned away", "");
    lines.push(`wrk and the backend pinned to CPU ${loadCpu}, the gateway (primary, workers, watcher) to CPU ${gatewayCpus} with \`taskset\`; the last row spreads the cluster over every CPU, the load's included. Same load and rounds as above.`, "");
    lines.push("| Target | req/s | × first row | p50 ms | p99 ms | CPU µs/req | req/s per round |", "|---|---:|---:|---:|---:|---:|---|");
    for (const r of pinnedRows) lines.push(`| ${r.name} | ${f(r.requestsPerSecond)} | ${base ? f(r.requestsPerSecond / base.requestsPerSecond, 2) : "–"} | ${f(r.p50Ms, 2)} | ${f(r.p99Ms, 2)} | ${f(r.cpuUsPerRequest, 1)} | ${r.runs.map((run) => f(run.requestsPerSecond)).join(", ")} |`);
  }

  lines.push("", "## Propagation latency", "");
  lines.push("Time from the registration (or deregistration) request to Consul's agent until the first request through the gateway that is routed to the instance (or no longer is).", "");
  lines.push("| Gateway | cycles | register p50 ms | register p99 ms | deregister p50 ms | deregister p99 ms |", "|---|---:|---:|---:|---:|---:|");
  for (const p of report.propagation) lines.push(`| ${p.target} | ${p.cycles} | ${f(p.registerP50Ms, 1)} | ${f(p.registerP99Ms, 1)} | ${f(p.deregisterP50Ms, 1)} | ${f(p.deregisterP99Ms, 1)} |`);

  lines.push("", "## Scale", "");
  if (report.scale.length > 0) {
    lines.push("| Watch | services × instances | written in s | all routes known s | gateway RSS MiB | watcher RSS MiB | connections to Consul | one change routed ms | CPU per change gateway / watcher ms | other services sent | watches woken without change |");
    lines.push("|---|---|---:|---:|---:|---:|---:|---:|---|---:|---:|");
    for (const s of report.scale) {
      lines.push(`| ${s.watch} | ${s.services} × ${s.instancesPerService} | ${f(s.registerS, 1)} | ${f(s.allRoutesS, 1)} | ${f(s.gatewayRssMiB)} | ${f(s.watcherRssMiB)} | ${s.blockingQueries} | ${f(s.change.routedMs, 1)} | ${s.change.gatewayCpuMs} / ${s.change.watcherCpuMs} | ${s.change.otherServicesSent} | ${f(s.change.unchangedWakeups)} |`);
    }
    lines.push("", "CPU is read from /proc in 10 ms ticks: 0 means less than one tick.");
  }
  if (report.scaleFailures.length > 0) lines.push("", ...report.scaleFailures.map((failure) => `- ${failure}`));

  if (report.churn !== undefined || report.churnFailure !== undefined) {
    lines.push("", "## Churn", "");
    const c = report.churn;
    if (c !== undefined) {
      lines.push("Register/deregister events (a second instance of a random service comes or goes), each timed from its write to Consul until the gateway's route table has it.", "");
      lines.push("| services | events | in flight | events/s | routed p50 ms | p99 ms | max ms | lost | first requests without a route | gateway RSS before / max / after MiB | watcher RSS before / after MiB | watcher connections before / after | table entries before / after |");
      lines.push("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---|---|");
      lines.push(`| ${c.services} | ${c.events} | ${c.window} | ${f(c.eventsPerSecond)} | ${f(c.routedP50Ms, 1)} | ${f(c.routedP99Ms, 1)} | ${f(c.routedMaxMs, 1)} | ${c.lostEvents} | ${c.failedFirstRequests} | ${f(c.gatewayRssMiB.before)} / ${f(c.gatewayRssMiB.max)} / ${f(c.gatewayRssMiB.after)} | ${f(c.watcherRssMiB.before)} / ${f(c.watcherRssMiB.after)} | ${c.watcherConnections.before} / ${c.watcherConnections.after} | ${c.tableEntries.before} / ${c.tableEntries.after} |`);
    }
    if (report.churnFailure !== undefined) lines.push("", `- ${report.churnFailure}`);
  }

  if (report.memory !== undefined) {
    const m = report.memory;
    lines.push("", "## Memory", "");
    lines.push(`| Gateway RSS idle MiB | watcher child RSS idle MiB | under load (median) MiB | growth over the run MiB | run | requests |`, "|---:|---:|---:|---:|---:|---:|");
    lines.push(`| ${f(m.idleMiB, 1)} | ${f(m.watcherIdleMiB, 1)} | ${f(m.underLoadMiB, 1)} | ${f(m.growthMiB, 1)} | ${m.durationS} s at ${f(m.load.requestsPerSecond)} req/s | ${m.requests} |`);
    lines.push("", `RSS over the run (s: MiB): ${m.samples.map((s) => `${s.atS}: ${f(s.rssMiB, 0)}`).join(", ")}.`);
    lines.push(`Growth is RSS at the end less RSS after the first quarter of the run (the heap's warm-up excluded): ${f((m.growthMiB * 2 ** 20) / Math.max(1, m.requests), 2)} bytes per request.`);
  }

  if (report.websocket !== undefined) {
    const w = report.websocket;
    lines.push("", "## WebSocket", "");
    lines.push(`Echo: ${w.connections} sockets, each sending a 64-byte text message and waiting for its echo before the next, ${w.durationS} s per measurement; the same \`ws\` echo instance reached directly, through a bare TCP relay (the floor for a Node relay) and through the gateway, in rotating order; medians.`, "");
    lines.push("| Target | messages/s | × direct | messages/s per round |", "|---|---:|---:|---|");
    const direct = w.echo.find((e) => e.target === "direct");
    for (const e of w.echo) lines.push(`| ${e.target} | ${f(e.messagesPerSecond)} | ${direct ? f(e.messagesPerSecond / direct.messagesPerSecond, 2) : "–"} | ${e.runs.map((r) => f(r)).join(", ")} |`);
    const i = w.idle;
    lines.push("", "| Idle upgraded connections | gateway RSS before MiB | with them MiB | per connection KiB | echo instance per connection KiB |", "|---:|---:|---:|---:|---:|");
    lines.push(`| ${i.opened} of ${i.asked} asked | ${f(i.gatewayBeforeMiB, 1)} | ${f(i.gatewayWithConnectionsMiB, 1)} | ${f(i.perConnectionKiB, 1)} | ${f(i.echoInstancePerConnectionKiB, 1)} |`);
    if (w.relayIdle !== undefined) lines.push("", `The bare TCP relay (\`bench/peers/tcp-relay.ts\`) with ${w.relayIdle.opened} idle connections: ${f(w.relayIdle.perConnectionKiB, 1)} KiB per connection.`);
    if (i.note !== undefined) lines.push("", `Connections: ${i.note}.`);
  }

  if (report.profile !== undefined) {
    const p = report.profile;
    lines.push("", "## Where the single process spends its CPU", "");
    lines.push(`\`node --cpu-prof\` on the gateway during ${report.durationS} s of the same load (${f(p.requestsPerSecond)} req/s while profiled; ${f(p.totalMs)} ms of CPU sampled, idle excluded). The profile is written to \`${p.file.replace(/^.*\/(bench\/)/, "$1")}\` (open it in Chrome DevTools).`, "");
    lines.push("| Layer | self time % |", "|---|---:|");
    for (const l of p.layers) lines.push(`| ${l.layer} | ${f(l.percent, 1)} |`);
    lines.push("", "| Function | where | self time % |", "|---|---|---:|");
    for (const fn of p.functions) lines.push(`| \`${fn.name}\` | ${fn.where} | ${f(fn.percent, 1)} |`);
  }
  return lines.join("\n") + "\n";
}
