/**
 * Where the gateway's CPU goes under load: the single-process gateway runs
 * with `node --cpu-prof` while the throughput load hits it; the profile's
 * self time is summed per function and per layer (node's HTTP server, undici,
 * Koa, the gateway's own code, GC). The .cpuprofile is kept for DevTools.
 */
import { mkdtempSync, readdirSync, readFileSync, copyFileSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ConsulAgent } from "../test/support/consul.js";
import { REPO, startGateway } from "./lib/fixture.js";
import { runLoad, type LoadOptions } from "./lib/load.js";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  file: string;
  requestsPerSecond: number;
  totalMs: number;
  layers: { layer: string; percent: number }[];
  functions: { name: string; where: string; percent: number }[];
}

/** Which layer a frame belongs to, from its script URL. */
function layerOf(frame: ProfileNode["callFrame"]): string {
  const { url, functionName } = frame;
  if (functionName === "(garbage collector)") return "GC";
  if (functionName === "(idle)" || functionName === "(program)") return functionName;
  if (url.includes("/node_modules/undici/")) return "undici (upstream client)";
  if (url.includes("/node_modules/koa") || url.includes("/node_modules/@koa/") || url.includes("/node_modules/koa-compose")) return "Koa + router";
  if (url.includes("/node_modules/")) return "other npm modules";
  if (url.includes("/dist/")) return "gateway code";
  if (url.startsWith("node:internal/http") || url === "node:_http_server" || url.startsWith("node:_http")) return "node http server";
  if (url.startsWith("node:internal/streams") || url.startsWith("node:stream")) return "node streams";
  if (url.startsWith("node:net") || url.startsWith("node:internal/stream_base") || url.startsWith("node:internal/net")) return "node net/sockets";
  if (url.startsWith("node:")) return "other node internals";
  return url === "" ? "native (parser, syscalls)" : "other";
}

export function summarizeProfile(profile: CpuProfile, top = 15): Omit<ProfileSummary, "file" | "requestsPerSecond"> {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    selfUs.set(profile.samples[i]!, (selfUs.get(profile.samples[i]!) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const layers = new Map<string, number>();
  const functions = new Map<string, { name: string; where: string; us: number }>();
  let busyUs = 0;
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)!.callFrame;
    const layer = layerOf(frame);
    if (layer === "(idle)") continue;
    busyUs += us;
    layers.set(layer, (layers.get(layer) ?? 0) + us);
    const where = `${frame.url.replace(/^.*\/node_modules\//, "").replace(REPO + "/", "").replace("file://", "")}:${frame.lineNumber + 1}`;
    const key = `${frame.functionName}@${where}`;
    const entry = functions.get(key) ?? { name: frame.functionName || "(anonymous)", where, us: 0 };
    entry.us += us;
    functions.set(key, entry);
  }
  const pct = (us: number): number => (100 * us) / busyUs;
  return {
    totalMs: busyUs / 1000,
    layers: [...layers].map(([layer, us]) => ({ layer, percent: pct(us) })).sort((a, b) => b.percent - a.percent),
    functions: [...functions.values()].sort((a, b) => b.us - a.us).slice(0, top).map((f) => ({ name: f.name, where: f.where, percent: pct(f.us) })),
  };
}

export async function profileGateway(consul: ConsulAgent, load: LoadOptions, outDir: string): Promise<ProfileSummary> {
  const dir = mkdtempSync(join(tmpdir(), "kcg-prof-"));
  const gateway = await startGateway("gateway (profiled)", consul, 1, { nodeArgs: ["--cpu-prof", `--cpu-prof-dir=${dir}`] });
  let requestsPerSecond: number;
  try {
    await runLoad(gateway.url, { connections: load.connections, durationS: 1 });
    requestsPerSecond = (await runLoad(gateway.url, load)).requestsPerSecond;
  } finally {
    await gateway.stop();
  }
  // The gateway writes its profile as it exits (the watcher child writes its own; it is idle here).
  const own = readdirSync(dir).find((f) => f.includes(`.${gateway.pid}.`));
  if (own === undefined) throw new Error(`no profile of pid ${gateway.pid} in ${dir}: ${readdirSync(dir).join(", ")}`);
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, "gateway.cpuprofile");
  copyFileSync(join(dir, own), file);
  rmSync(dir, { recursive: true, force: true });
  return { file, requestsPerSecond, ...summarizeProfile(JSON.parse(readFileSync(file, "utf8")) as CpuProfile) };
}
