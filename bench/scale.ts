/**
 * Scale: many services and instances in a real Consul agent, every service
 * subscribed from the start (GATEWAY_SERVICES). Measures the time from the
 * gateway's start to every route known, the RSS of the gateway and of its
 * watcher child, the blocking queries held open against Consul, and the cost
 * of one service's change: how long until it is routed, what the gateway and
 * the watcher spend on it, and whether any other service is touched (none
 * should be: the watcher sends only the changed service, the table shares the
 * other entries).
 *
 * Instances are written straight into the catalog with /v1/txn on a few
 * external nodes (no agent running checks; each instance has one check stored
 * as passing), 64 operations per transaction, so that setting up 10,000
 * instances takes seconds, not minutes.
 */
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import superagent from "superagent";
import { ConsulAgent } from "../test/support/consul.js";
import { startGateway } from "./lib/fixture.js";
import { childPids, cpuMs, establishedConnections, rssMiB } from "./lib/proc.js";
import { median } from "./lib/stats.js";

export interface ScaleOptions {
  /** GATEWAY_WATCH: one blocking query per service, or the shared watch of every check. */
  watch: "per-service" | "shared";
  services: number;
  instancesPerService: number;
  changes: number;
}

export interface ScaleResult extends ScaleOptions {
  registerS: number;
  allRoutesS: number;
  gatewayRssMiB: number;
  watcherRssMiB: number;
  blockingQueries: number;
  change: {
    routedMs: number;
    gatewayCpuMs: number;
    watcherCpuMs: number;
    otherServicesSent: number;
    unchangedWakeups: number;
  };
}

/** Bounds on the wait for every route: past them the watch mode is taken as not coping. */
const ALL_ROUTES_LIMIT_MS = 120_000;
const STALLED_AFTER_MS = 15_000;

function lastWatchError(output: string): string {
  return output.match(/gateway:routes watch error.*$/gm)?.at(-1)?.replace(/^.*gateway:routes /, "").slice(0, 300) ?? "(none logged)";
}

const serviceName = (i: number): string => `scale-${String(i).padStart(4, "0")}`;
const nodeName = (i: number): string => `scale-node-${i}`;

type TxnOp = Record<string, unknown>;

/**
 * An instance, and with "set" its passing check, as an agent's registration
 * writes them: in one transaction, so at one Consul index. Deleting the
 * service deletes its check.
 */
function instanceOps(verb: "set" | "delete", service: number, instance: number): TxnOp[] {
  const id = `${serviceName(service)}-${instance}`;
  const node = nodeName(instance);
  const ops: TxnOp[] = [{ Service: { Verb: verb, Node: node, Service: { ID: id, Service: serviceName(service), Address: "127.0.0.1", Port: 20_000 + instance } } }];
  if (verb === "set") {
    ops.push({ Check: { Verb: "set", Check: { Node: node, CheckID: `service:${id}`, Name: "bench", Status: "passing", ServiceID: id, ServiceName: serviceName(service) } } });
  }
  return ops;
}

/** Writes the operations 64 at a time; an instance's pair of operations never straddles two transactions. */
async function txn(consul: ConsulAgent, ops: TxnOp[]): Promise<void> {
  for (let i = 0; i < ops.length; i += 64) {
    await superagent.put(`${consul.url}/v1/txn`).send(ops.slice(i, i + 64));
  }
}

/**
 * Polls `probe` every millisecond (test/support's eventually() polls every
 * 25 ms, too coarse to time a change that takes a few milliseconds).
 */
async function eventually(probe: () => boolean, limitMs: number, what: string | (() => string)): Promise<void> {
  const deadline = performance.now() + limitMs;
  while (!probe()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${limitMs} ms waiting for ${typeof what === "string" ? what : what()}`);
    await sleep(1);
  }
}

/** Counts lines of a growing log, reading only what is new each time. */
class LogCounter {
  private offset = 0;
  constructor(private readonly output: () => string) {}

  /** Matches of `pattern` since the last call (or since `mark()`). */
  take(pattern: RegExp): RegExpMatchArray[] {
    const text = this.output();
    const end = text.lastIndexOf("\n") + 1;
    const chunk = text.slice(this.offset, end);
    this.offset = end;
    return [...chunk.matchAll(new RegExp(pattern.source, "gm"))];
  }

  mark(): void {
    this.offset = this.output().length;
  }
}

export async function measureScale(options: ScaleOptions, log: (line: string) => void): Promise<ScaleResult> {
  const consul = await ConsulAgent.start();
  try {
    const t0 = performance.now();
    const nodes: TxnOp[] = [];
    for (let n = 0; n < options.instancesPerService + 1; n++) nodes.push({ Node: { Verb: "set", Node: { Node: nodeName(n), Address: "127.0.0.1" } } });
    await txn(consul, nodes);
    const ops: TxnOp[] = [];
    for (let s = 0; s < options.services; s++) for (let i = 0; i < options.instancesPerService; i++) ops.push(...instanceOps("set", s, i));
    await txn(consul, ops);
    const registerS = (performance.now() - t0) / 1000;
    log(`scale (${options.watch} watch): ${options.services} services × ${options.instancesPerService} instances written to Consul in ${registerS.toFixed(1)} s`);

    const names = Array.from({ length: options.services }, (_, i) => serviceName(i));
    const started = performance.now();
    const gateway = await startGateway("gateway (scale)", consul, 1, {
      env: { GATEWAY_SERVICES: names.join(","), GATEWAY_WATCH: options.watch, DEBUG: "gateway:routes,gateway:watch" },
      readyWhenListening: true,
    });
    try {
      const routes = new LogCounter(() => gateway.process.output());
      const known = new Set<string>();
      let progressAt = performance.now();
      await eventually(() => {
        const before = known.size;
        for (const m of routes.take(new RegExp(`gateway:routes change (scale-\\d+) index=\\d+ instances=${options.instancesPerService} `))) known.add(m[1]!);
        if (known.size > before) progressAt = performance.now();
        // No new route for a while: the watch mode does not cope (Consul refusing connections); stop waiting.
        if (performance.now() - progressAt > STALLED_AFTER_MS) throw new Error(`stalled at ${known.size} of ${options.services} services routed for ${STALLED_AFTER_MS / 1000} s; last watch error: ${lastWatchError(gateway.process.output())}`);
        return known.size === options.services;
      }, ALL_ROUTES_LIMIT_MS, () => `all ${options.services} services routed (${known.size} known)`);
      const allRoutesS = (performance.now() - started) / 1000;
      await sleep(1_000);
      const watcher = childPids(gateway.pid)[0]!;
      const result = {
        ...options,
        registerS,
        allRoutesS,
        gatewayRssMiB: rssMiB(gateway.pid)!,
        watcherRssMiB: rssMiB(watcher)!,
        blockingQueries: establishedConnections(watcher, consul.httpPort),
      };
      log(`scale: all routes in ${allRoutesS.toFixed(1)} s; RSS gateway ${result.gatewayRssMiB.toFixed(0)} MiB, watcher ${result.watcherRssMiB.toFixed(0)} MiB; ${result.blockingQueries} connections held to Consul`);

      // One service changes: an extra instance appears, then goes again.
      const changed = Math.floor(options.services / 2);
      const samples: ScaleResult["change"][] = [];
      for (let c = 0; c < options.changes; c++) {
        for (const verb of ["set", "delete"] as const) {
          const expected = verb === "set" ? options.instancesPerService + 1 : options.instancesPerService;
          routes.mark();
          const watch = new LogCounter(() => gateway.process.output());
          watch.mark();
          const [gatewayCpu, watcherCpu] = [cpuMs(gateway.pid), cpuMs(watcher)];
          const t = performance.now();
          await txn(consul, instanceOps(verb, changed, options.instancesPerService));
          const lines: RegExpMatchArray[] = [];
          await eventually(() => {
            lines.push(...routes.take(/gateway:routes change (scale-\d+) index=\d+ instances=(\d+) /));
            return lines.some((m) => m[1] === serviceName(changed) && Number(m[2]) === expected);
          }, 10_000, `${serviceName(changed)} with ${expected} instances`);
          const routedMs = performance.now() - t;
          // Let every other watch that Consul woke up answer, then count.
          await sleep(500);
          lines.push(...routes.take(/gateway:routes change (scale-\d+) index=\d+ instances=(\d+) /));
          samples.push({
            routedMs,
            gatewayCpuMs: cpuMs(gateway.pid) - gatewayCpu,
            watcherCpuMs: cpuMs(watcher) - watcherCpu,
            otherServicesSent: lines.filter((m) => m[1] !== serviceName(changed)).length,
            unchangedWakeups: watch.take(/gateway:watch scale-\d+ index=\d+ unchanged/).length,
          });
        }
      }
      const change = {
        routedMs: median(samples.map((s) => s.routedMs)),
        gatewayCpuMs: median(samples.map((s) => s.gatewayCpuMs)),
        watcherCpuMs: median(samples.map((s) => s.watcherCpuMs)),
        otherServicesSent: Math.max(...samples.map((s) => s.otherServicesSent)),
        unchangedWakeups: median(samples.map((s) => s.unchangedWakeups)),
      };
      log(`scale: one change routed in ${change.routedMs.toFixed(1)} ms (median of ${samples.length}); CPU gateway ${change.gatewayCpuMs} ms, watcher ${change.watcherCpuMs} ms; other services sent ${change.otherServicesSent}; watches woken without change ${change.unchangedWakeups}`);
      return { ...result, change };
    } finally {
      await gateway.stop();
    }
  } finally {
    await consul.destroy();
  }
}
