/**
 * Churn: instances that come and go across many services, as a busy cluster
 * with autoscaling and deploys sees them. 1,000 services (each with one
 * instance that stays) are subscribed on demand by one request each, then
 * 10,000 register/deregister events add or remove a second instance of a
 * random service, up to WINDOW of them in flight at once (never two on one
 * service). Measured: the time from each event's write to Consul until the
 * gateway's route table has it (its `gateway:routes change` line), the RSS of
 * the gateway and its watcher child before, during and after, the watcher's
 * connections to Consul, and the route table's size at the end.
 *
 * Events are written straight into the catalog with /v1/txn on two external
 * nodes (no agent runs checks; each instance has one check stored as
 * passing), as bench/scale.ts does, so that the writes are not the bottleneck.
 *
 * Alone: `node --import tsx bench/churn.ts [--smoke]` (after `npm run build`).
 */
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import superagent from "superagent";
import { Pool } from "undici";
import { ConsulAgent } from "../test/support/consul.js";
import { startGateway } from "./lib/fixture.js";
import { childPids, establishedConnections, rssMiB } from "./lib/proc.js";
import { percentile } from "./lib/stats.js";

export interface ChurnOptions {
  services: number;
  events: number;
  /** Events in flight at once. */
  window: number;
}

export interface ChurnResult extends ChurnOptions {
  /** Requests that did not get a 200 while the services were first asked for. */
  failedFirstRequests: number;
  /** Events the gateway had not routed within EVENT_LIMIT_MS. */
  lostEvents: number;
  durationS: number;
  eventsPerSecond: number;
  routedP50Ms: number;
  routedP99Ms: number;
  routedMaxMs: number;
  gatewayRssMiB: { before: number; max: number; after: number };
  watcherRssMiB: { before: number; after: number };
  watcherConnections: { before: number; after: number };
  tableEntries: { before: number; after: number };
}

const EVENT_LIMIT_MS = 10_000;
const serviceName = (i: number): string => `churn-${String(i).padStart(4, "0")}`;
const nodeName = (i: number): string => `churn-node-${i}`;

type TxnOp = Record<string, unknown>;

/** Instance `slot` (0: the one that stays, 1: the one that comes and goes) of a service, with its passing check. */
function instanceOps(verb: "set" | "delete", service: number, slot: number): TxnOp[] {
  const id = `${serviceName(service)}-${slot}`;
  const node = nodeName(slot);
  const ops: TxnOp[] = [{ Service: { Verb: verb, Node: node, Service: { ID: id, Service: serviceName(service), Address: "127.0.0.1", Port: 20_000 + slot } } }];
  if (verb === "set") ops.push({ Check: { Verb: "set", Check: { Node: node, CheckID: `service:${id}`, Name: "churn", Status: "passing", ServiceID: id, ServiceName: serviceName(service) } } });
  return ops;
}

async function txn(consul: ConsulAgent, ops: TxnOp[]): Promise<void> {
  for (let i = 0; i < ops.length; i += 64) await superagent.put(`${consul.url}/v1/txn`).send(ops.slice(i, i + 64));
}

/** A seeded pseudo-random source (mulberry32): the same events each run. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The `gateway:routes change` lines of a growing log, read incrementally: service → instance count, in order. */
class RouteLines {
  private offset = 0;
  constructor(private readonly output: () => string) {}

  take(): { service: string; instances: number }[] {
    const text = this.output();
    const end = text.lastIndexOf("\n") + 1;
    const chunk = text.slice(this.offset, end);
    this.offset = end;
    return [...chunk.matchAll(/gateway:routes change (churn-\d+) index=\d+ instances=(\d+) /g)].map((m) => ({ service: m[1]!, instances: Number(m[2]) }));
  }
}

export async function measureChurn(options: ChurnOptions, log: (line: string) => void): Promise<ChurnResult> {
  const consul = await ConsulAgent.start();
  try {
    await txn(consul, [0, 1].map((n) => ({ Node: { Verb: "set", Node: { Node: nodeName(n), Address: "127.0.0.1" } } })));
    const base: TxnOp[] = [];
    for (let s = 0; s < options.services; s++) base.push(...instanceOps("set", s, 0));
    await txn(consul, base);
    const gateway = await startGateway("gateway (churn)", consul, 1, { env: { DEBUG: "gateway:routes" }, readyWhenListening: true });
    const pool = new Pool(new URL(gateway.url).origin, { connections: 8 });
    try {
      const lines = new RouteLines(() => gateway.process.output());
      // Every service asked for once: that subscribes the gateway to it.
      let failedFirstRequests = 0;
      const names = Array.from({ length: options.services }, (_, i) => serviceName(i));
      for (let i = 0; i < names.length; i += 8) {
        await Promise.all(names.slice(i, i + 8).map(async (name) => {
          const res = await pool.request({ path: `/${name}/hello`, method: "GET" }).catch(() => undefined);
          await res?.body.dump();
          // The instances' port answers nothing: reaching it (502) means the route was there.
          if (res === undefined || res.statusCode !== 502) failedFirstRequests += 1;
        }));
      }
      const routed = new Set(lines.take().map((l) => l.service));
      log(`churn: ${options.services} services asked for once, ${failedFirstRequests} without a route, ${routed.size} routed`);
      await sleep(1_000);
      const watcher = childPids(gateway.pid)[0]!;
      const admin = gateway.process.output().match(/dashboard on http:\/\/[^:/]+:(\d+)/)?.[1];
      const tableEntries = async (): Promise<number> => {
        if (admin === undefined) return -1;
        const routes = (await superagent.get(`http://127.0.0.1:${admin}/routes`)).body as { services: unknown[] };
        return routes.services.length;
      };
      const before = {
        gatewayRss: rssMiB(gateway.pid)!,
        watcherRss: rssMiB(watcher)!,
        connections: establishedConnections(watcher, consul.httpPort),
        tableEntries: await tableEntries(),
      };

      const random = seeded(14);
      const hasExtra = new Set<number>();
      /** Service → [the instance count the event leads to, when it was written]. */
      const outstanding = new Map<string, { expected: number; at: number }>();
      const latencies: number[] = [];
      let lostEvents = 0;
      let maxRss = before.gatewayRss;
      let sent = 0;
      const started = performance.now();
      const settle = (): void => {
        const now = performance.now();
        for (const line of lines.take()) {
          const waiting = outstanding.get(line.service);
          if (waiting !== undefined && waiting.expected === line.instances) {
            latencies.push(now - waiting.at);
            outstanding.delete(line.service);
          }
        }
        for (const [service, waiting] of outstanding) {
          if (now - waiting.at > EVENT_LIMIT_MS) {
            lostEvents += 1;
            outstanding.delete(service);
          }
        }
      };
      while (sent < options.events || outstanding.size > 0) {
        settle();
        const writes: Promise<void>[] = [];
        while (sent < options.events && outstanding.size + writes.length < options.window) {
          const s = Math.floor(random() * options.services);
          const name = serviceName(s);
          if (outstanding.has(name)) continue;
          const adding = !hasExtra.has(s);
          if (adding) hasExtra.add(s);
          else hasExtra.delete(s);
          outstanding.set(name, { expected: adding ? 2 : 1, at: performance.now() });
          writes.push(txn(consul, instanceOps(adding ? "set" : "delete", s, 1)));
          sent += 1;
          if (sent % 500 === 0) maxRss = Math.max(maxRss, rssMiB(gateway.pid) ?? 0);
        }
        await Promise.all(writes);
        await sleep(1);
      }
      const durationS = (performance.now() - started) / 1000;
      await sleep(1_000);
      const result: ChurnResult = {
        ...options,
        failedFirstRequests,
        lostEvents,
        durationS,
        eventsPerSecond: options.events / durationS,
        routedP50Ms: percentile(latencies, 50),
        routedP99Ms: percentile(latencies, 99),
        routedMaxMs: Math.max(...latencies),
        gatewayRssMiB: { before: before.gatewayRss, max: Math.max(maxRss, rssMiB(gateway.pid)!), after: rssMiB(gateway.pid)! },
        watcherRssMiB: { before: before.watcherRss, after: rssMiB(childPids(gateway.pid)[0]!) ?? 0 },
        watcherConnections: { before: before.connections, after: establishedConnections(childPids(gateway.pid)[0]!, consul.httpPort) },
        tableEntries: { before: before.tableEntries, after: await tableEntries() },
      };
      log(
        `churn: ${options.events} events over ${options.services} services in ${durationS.toFixed(1)} s; routed p50 ${result.routedP50Ms.toFixed(1)} / p99 ${result.routedP99Ms.toFixed(1)} ms, ${lostEvents} lost; ` +
          `RSS gateway ${result.gatewayRssMiB.before.toFixed(0)} → ${result.gatewayRssMiB.after.toFixed(0)} MiB (max ${result.gatewayRssMiB.max.toFixed(0)}), watcher ${result.watcherRssMiB.before.toFixed(0)} → ${result.watcherRssMiB.after.toFixed(0)} MiB; ` +
          `watcher connections ${result.watcherConnections.before} → ${result.watcherConnections.after}`,
      );
      return result;
    } finally {
      await pool.close();
      await gateway.stop();
    }
  } finally {
    await consul.destroy();
  }
}

export const CHURN_FULL: ChurnOptions = { services: 1_000, events: 10_000, window: 16 };
export const CHURN_SMOKE: ChurnOptions = { services: 50, events: 200, window: 8 };

if (process.argv[1]?.endsWith("bench/churn.ts")) {
  const result = await measureChurn(process.argv.includes("--smoke") ? CHURN_SMOKE : CHURN_FULL, (line) => console.log(`bench: ${line}`));
  console.log(JSON.stringify(result, null, 2));
}
