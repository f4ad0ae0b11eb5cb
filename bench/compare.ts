/**
 * Two builds of the gateway side by side, for one change to the hot path:
 * `node --import tsx bench/compare.ts <before-dist> [after-dist] [rounds]`
 * (after-dist defaults to dist/, after `npm run build`; a build folder must
 * sit inside the repository so that it finds node_modules). Same Consul, same
 * backend, interleaved rounds, medians, CPU µs per request (which a shared
 * machine disturbs far less than req/s), then a --cpu-prof profile of each.
 * Prints Markdown for docs/PERFORMANCE.md.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { ConsulAgent } from "../test/support/consul.js";
import { REPO, startBackend, startConsulWithBackend, startGateway, type Running } from "./lib/fixture.js";
import { runLoad } from "./lib/load.js";
import { summarizeProfile } from "./profile.js";
import { measureThroughput } from "./throughput.js";

const [beforeArg, afterArg, roundsArg] = process.argv.slice(2);
if (beforeArg === undefined) {
  console.error("usage: node --import tsx bench/compare.ts <before-dist> [after-dist] [rounds]");
  process.exit(2);
}
const builds = [
  { name: "before", dist: resolve(beforeArg) },
  { name: "after", dist: resolve(afterArg ?? join(REPO, "dist")) },
];
const options = { rounds: Number(roundsArg ?? 6), warmupS: 2, durationS: 5, connections: 50 };

async function profile(consul: ConsulAgent, name: string, dist: string): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "kcg-compare-"));
  const gateway = await startGateway(name, consul, 1, { dist, nodeArgs: ["--cpu-prof", `--cpu-prof-dir=${dir}`] });
  try {
    await runLoad(gateway.url, { connections: options.connections, durationS: 2 });
    await runLoad(gateway.url, options);
  } finally {
    await gateway.stop();
  }
  const file = readdirSync(dir).find((f) => f.includes(`.${gateway.pid}.`))!;
  const summary = summarizeProfile(JSON.parse(readFileSync(join(dir, file), "utf8")), 12);
  rmSync(dir, { recursive: true, force: true });
  return [
    `Profile of ${name} (${summary.totalMs.toFixed(0)} ms of CPU): ${summary.layers.slice(0, 6).map((l) => `${l.layer} ${l.percent.toFixed(1)}%`).join(", ")}`,
    ...summary.functions.map((f) => `  ${f.percent.toFixed(1)}% ${f.name} ${f.where}`),
  ].join("\n");
}

const backend = await startBackend();
const consul = await startConsulWithBackend(Number(new URL(backend.url).port));
const running: Running[] = [];
try {
  for (const build of builds) running.push(await startGateway(build.name, consul, 1, { dist: build.dist }));
  const rows = await measureThroughput(running, options, (line) => console.log(line));
  for (const target of running.splice(0)) await target.stop();
  const [before, after] = rows as [(typeof rows)[0], (typeof rows)[0]];
  console.log(`\n| build | req/s | CPU µs/req | p50 ms | p99 ms | CPU µs/req per round |\n|---|---:|---:|---:|---:|---|`);
  for (const r of rows) console.log(`| ${r.name} | ${r.requestsPerSecond.toFixed(0)} | ${r.cpuUsPerRequest.toFixed(1)} | ${r.p50Ms.toFixed(2)} | ${r.p99Ms.toFixed(2)} | ${r.runs.map((x) => x.cpuUsPerRequest.toFixed(1)).join(", ")} |`);
  console.log(`\nafter / before: req/s ${(after.requestsPerSecond / before.requestsPerSecond).toFixed(3)}×, CPU µs/req ${(after.cpuUsPerRequest / before.cpuUsPerRequest).toFixed(3)}× (${options.rounds} interleaved rounds)`);
  for (const build of builds) {
    // A profile that fails (wrk cut short on a machine this busy) leaves the comparison above standing.
    console.log(`\n${await profile(consul, build.name, build.dist).catch((err: unknown) => `profile of ${build.name} failed: ${(err as Error).message.split("\n")[0]}`)}`);
  }
} finally {
  for (const target of running) await target.stop();
  await backend.stop();
  await consul.destroy();
}
process.exit(0);
