/**
 * What the edge-security steps cost per request: the canonical path (plain,
 * a name with dots, dot segments) and the upstream header rewrite. A
 * micro-benchmark of the functions alone, run in this process:
 *   node --import tsx bench/edge-path.ts
 * Figures in docs/PERFORMANCE.md.
 */
import { canonicalTarget } from "../src/routing/canonical-path.js";
import { upstreamRequestHeaders } from "../src/proxy/forwarded-headers.js";

function time(name: string, runs: number, f: () => unknown): void {
  for (let i = 0; i < 100_000; i++) f();
  const start = process.hrtime.bigint();
  for (let i = 0; i < runs; i++) f();
  console.log(`${name.padEnd(36)} ${(Number(process.hrtime.bigint() - start) / runs).toFixed(0)} ns`);
}

time("canonicalTarget /service-web/getRemoteIp", 2_000_000, () => canonicalTarget("/service-web/getRemoteIp?x=1"));
time("canonicalTarget /svc/files/report.v2.json", 2_000_000, () => canonicalTarget("/svc/files/report.v2.json?x=1"));
time("canonicalTarget /svc/a/../b/%2e%2e/c", 2_000_000, () => canonicalTarget("/svc/a/../b/%2e%2e/c?x=1"));
const raw = ["Host", "gw:3000", "User-Agent", "curl/8", "Accept", "*/*", "X-Request-Id", "abc"];
const fwd = { clientAddress: "127.0.0.1", proto: "http" as const, host: "gw:3000", port: 3000, trusted: false, emitForwarded: false, preserveHost: false, requestId: "abc" };
time("upstreamRequestHeaders (4 headers)", 2_000_000, () => upstreamRequestHeaders(raw, undefined, fwd));
