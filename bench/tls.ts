/**
 * TLS termination and gRPC, in one run: HTTPS/1.1 (wrk) and HTTPS/2 (h2load)
 * against the gateway and against Debian's nginx doing the same termination
 * (same certificate, made here with openssl; same backend; one process or
 * worker each), and gRPC unary calls per second straight to a grpc-js server
 * and through the gateway (h2load posting real gRPC frames over h2c). Each
 * row is the median over the rounds, with the CPU the target's processes
 * spent per request. Run alone with `node --import tsx bench/tls.ts
 * [--smoke]`, or as part of bench/run.ts.
 */
import { execFile, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { ConsulAgent } from "../test/support/consul.js";
import { freePort } from "../test/support/ports.js";
import { startTs } from "../test/support/processes.js";
import { TestCertificates } from "../test/support/test-certificates.js";
import { eventually } from "../test/support/wait.js";
import { echoClient, unary, ECHO_SERVICE_PATH } from "../test/support/grpc-echo.js";
import { nginxBinary, PATH, REPO, startGateway, startNginx, type Running } from "./lib/fixture.js";
import { runLoad } from "./lib/load.js";
import { processTree, treeCpuMs } from "./lib/proc.js";
import { median } from "./lib/stats.js";

export interface TlsBenchOptions {
  rounds: number;
  warmupS: number;
  durationS: number;
  connections: number;
}

export interface TlsRow {
  /** "HTTPS/1.1", "HTTPS/2" or "gRPC unary (h2c)". */
  protocol: string;
  target: string;
  requestsPerSecond: number;
  cpuUsPerRequest: number;
  errors: number;
}

export interface TlsResult {
  rows: TlsRow[];
  notes: string[];
  /** The load each protocol was driven with, for the report. */
  load: string;
}

interface Load {
  requests: number;
  requestsPerSecond: number;
  errors: number;
}

export function h2loadMissing(): boolean {
  return spawnSync("h2load", ["--version"]).error !== undefined;
}

/** h2load's summary: "finished in 5.00s, 12345.67 req/s, ..." and "requests: N total, N started, N done, N succeeded, F failed, E errored". */
export function parseH2load(output: string): Load {
  const rps = /finished in [\d.]+m?s, ([\d.]+) req\/s/.exec(output);
  const counts = /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored/.exec(output);
  if (!rps || !counts) throw new Error(`unexpected h2load output:\n${output}`);
  return { requests: Number(counts[4]), requestsPerSecond: Number(rps[1]), errors: Number(counts[5]) + Number(counts[6]) };
}

async function h2load(url: string, durationS: number, extra: readonly string[] = []): Promise<Load> {
  const { stdout } = await promisify(execFile)("h2load", ["-c", "10", "-m", "10", "-D", String(durationS), ...extra, url], {
    encoding: "utf8",
    timeout: (durationS + 30) * 1000,
  });
  return parseH2load(stdout);
}

/** Runs `load` once to warm up, then measures it with the CPU the target's process tree spent. */
async function measure(target: Running, warmupS: number, durationS: number, load: (seconds: number) => Promise<Load>): Promise<{ rps: number; cpuUs: number; errors: number }> {
  await load(warmupS);
  const pids = processTree(target.pid);
  const before = treeCpuMs(pids);
  const result = await load(durationS);
  const requests = result.requests > 0 ? result.requests : result.requestsPerSecond * durationS;
  return { rps: result.requestsPerSecond, cpuUs: ((treeCpuMs(pids) - before) * 1000) / Math.max(1, requests), errors: result.errors };
}

/** One gRPC unary request as h2load posts it: a length-prefixed message (uncompressed) of the Echo service's JSON. */
function grpcFrame(dir: string): string {
  const message = Buffer.from(JSON.stringify({ text: "hello" }));
  const frame = Buffer.alloc(5 + message.length);
  frame.writeUInt32BE(message.length, 1);
  message.copy(frame, 5);
  const file = join(dir, "unary.bin");
  writeFileSync(file, frame);
  return file;
}

export async function measureTls(consul: ConsulAgent, backend: Running, options: TlsBenchOptions, log: (line: string) => void): Promise<TlsResult> {
  const notes: string[] = [];
  const rows: TlsRow[] = [];
  if (h2loadMissing()) notes.push("h2load (Debian's nghttp2-client) is missing: the HTTPS/2 and gRPC rows are left out.");
  if (nginxBinary() === undefined) notes.push("nginx is missing: its rows are left out.");
  const certs = TestCertificates.create();
  const leaf = certs.issue(["localhost"]);
  const backendPort = Number(new URL(backend.url).port);
  const running: Running[] = [];
  try {
    const httpsPort = await freePort();
    const gateway = await startGateway("gateway (1 process)", consul, 1, {
      env: { GATEWAY_HTTPS_PORT: String(httpsPort), GATEWAY_TLS_CERT: leaf.certFile, GATEWAY_TLS_KEY: leaf.keyFile, GATEWAY_TLS_RELOAD_MS: "0" },
    });
    running.push(gateway);
    const targets: { target: Running; httpsUrl: string }[] = [{ target: gateway, httpsUrl: `https://127.0.0.1:${httpsPort}${PATH}` }];
    if (nginxBinary() !== undefined) {
      const nginx = await startNginx("nginx (1 worker)", 1, backendPort, leaf);
      running.push(nginx);
      targets.push({ target: nginx, httpsUrl: nginx.httpsUrl! });
    }

    const runs = new Map<string, { rps: number; cpuUs: number; errors: number }[]>();
    const record = (protocol: string, target: string, run: { rps: number; cpuUs: number; errors: number }): void => {
      const key = `${protocol}\u0000${target}`;
      runs.set(key, [...(runs.get(key) ?? []), run]);
      log(`tls ${protocol} ${target}: ${Math.round(run.rps)} req/s, ${run.cpuUs.toFixed(1)} µs CPU/request${run.errors ? `, ${run.errors} errors` : ""}`);
    };
    for (let round = 0; round < options.rounds; round++) {
      const order = targets.map((_, i) => targets[(i + round) % targets.length]!);
      for (const { target, httpsUrl } of order) {
        record("HTTPS/1.1", target.name, await measure(target, options.warmupS, options.durationS, async (s) => {
          const r = await runLoad(httpsUrl, { connections: options.connections, durationS: s });
          return { requests: r.requestsPerSecond * s, requestsPerSecond: r.requestsPerSecond, errors: r.errors };
        }));
        if (!h2loadMissing()) record("HTTPS/2", target.name, await measure(target, options.warmupS, options.durationS, (s) => h2load(httpsUrl, s)));
      }
    }

    if (!h2loadMissing()) {
      const grpcPort = await freePort();
      const server = startTs(join(REPO, "test/support/grpc-echo-main.ts"), ["bench-grpc", String(grpcPort)]);
      await server.waitForOutput(/listening \d+/, 30_000);
      const grpcServer: Running = { name: "direct", url: `http://127.0.0.1:${grpcPort}`, pid: server.child.pid!, process: server, stop: async () => void (await server.stop()) };
      running.push(grpcServer);
      await consul.register({ ID: "bench-grpc-1", Name: "echo-grpc", Address: "127.0.0.1", Port: grpcPort, Tags: [`urlprefix-${ECHO_SERVICE_PATH}`], Meta: { "gateway-protocol": "h2c" } });
      const grpcGateway = await startGateway("gateway (1 process)", consul, 1, { env: { GATEWAY_H2C: "true", GATEWAY_SERVICES: "echo-grpc" }, readyWhenListening: true });
      running.push(grpcGateway);
      const gatewayAddress = `127.0.0.1:${new URL(grpcGateway.url).port}`;
      // A real grpc-js call first: the route is there and the answer is a gRPC answer, not only a 200.
      const client = echoClient(gatewayAddress);
      try {
        await eventually(async () => (await unary(client, { text: "ready" }).catch(() => undefined))?.answer.text === "ready", 30_000, "a gRPC call through the gateway");
      } finally {
        client.close();
      }
      const dir = mkdtempSync(join(tmpdir(), "kcg-grpc-bench-"));
      const body = grpcFrame(dir);
      const grpcArgs = ["-d", body, "-H", "content-type: application/grpc", "-H", "te: trailers"];
      for (let round = 0; round < options.rounds; round++) {
        for (const [target, address] of round % 2 === 0 ? ([[grpcServer, `127.0.0.1:${grpcPort}`], [grpcGateway, gatewayAddress]] as const) : ([[grpcGateway, gatewayAddress], [grpcServer, `127.0.0.1:${grpcPort}`]] as const)) {
          record("gRPC unary (h2c)", target === grpcServer ? "direct" : "gateway (1 process)", await measure(target, options.warmupS, options.durationS, (s) => h2load(`http://${address}${ECHO_SERVICE_PATH}/Unary`, s, grpcArgs)));
        }
      }
      rmSync(dir, { recursive: true, force: true });
    }

    for (const [key, list] of runs) {
      const [protocol, target] = key.split("\u0000") as [string, string];
      rows.push({
        protocol,
        target,
        requestsPerSecond: median(list.map((r) => r.rps)),
        cpuUsPerRequest: median(list.map((r) => r.cpuUs)),
        errors: list.reduce((sum, r) => sum + r.errors, 0),
      });
    }
  } finally {
    for (const target of running.reverse()) await target.stop();
    certs.destroy();
  }
  return { rows, notes, load: `HTTPS/1.1: wrk, ${options.connections} connections; HTTPS/2 and gRPC: h2load, 10 connections × 10 streams; ${options.durationS} s per run after ${options.warmupS} s of warm-up, ${options.rounds} round(s), medians` };
}

/** The report's section: each row with its ratio to the reference of its protocol (nginx, or direct for gRPC). */
export function renderTlsSection(result: TlsResult): string {
  const lines = ["## TLS termination and gRPC", "", result.load + ".", "", "| protocol | target | req/s | CPU µs/request | vs reference (req/s, CPU) | errors |", "| --- | --- | ---: | ---: | --- | ---: |"];
  for (const row of result.rows) {
    const reference = result.rows.find((r) => r.protocol === row.protocol && (r.target.startsWith("nginx") || r.target === "direct"));
    const ratio = reference === undefined || reference === row ? "reference" : `${(row.requestsPerSecond / reference.requestsPerSecond).toFixed(2)}×, ${(row.cpuUsPerRequest / reference.cpuUsPerRequest).toFixed(2)}×`;
    lines.push(`| ${row.protocol} | ${row.target} | ${Math.round(row.requestsPerSecond)} | ${row.cpuUsPerRequest.toFixed(1)} | ${ratio} | ${row.errors} |`);
  }
  for (const note of result.notes) lines.push("", `Note: ${note}`);
  return lines.join("\n") + "\n";
}

// Alone: `node --import tsx bench/tls.ts [--smoke]` (after `npm run build`), the section printed.
if (process.argv[1] !== undefined && import.meta.filename === process.argv[1]) {
  const { startBackend, startConsulWithBackend } = await import("./lib/fixture.js");
  const smoke = process.argv.includes("--smoke");
  const options = smoke ? { rounds: 1, warmupS: 1, durationS: 2, connections: 50 } : { rounds: 3, warmupS: 2, durationS: 5, connections: 50 };
  const backend = await startBackend();
  const consul = await startConsulWithBackend(Number(new URL(backend.url).port));
  try {
    console.log(renderTlsSection(await measureTls(consul, backend, options, (line) => console.log(`bench: ${line}`))));
  } finally {
    await backend.stop();
    await consul.destroy();
  }
  process.exit(0);
}
