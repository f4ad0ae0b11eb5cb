/**
 * Propagation latency: how long after an instance is registered (or
 * deregistered) in Consul the gateway routes to it (or stops). The clock
 * starts before the registration request leaves and stops at the first
 * request through the gateway that sees the new state; requests are sent back
 * to back on one keep-alive connection, so the resolution is one round trip
 * (well under a millisecond on loopback).
 */
import { performance } from "node:perf_hooks";
import { Pool } from "undici";
import type { ConsulAgent } from "../test/support/consul.js";
import { benchRegistration, type Running } from "./lib/fixture.js";
import { percentile } from "./lib/stats.js";

const SERVICE = "prop-svc";
const INSTANCE = "prop-1";

export interface PropagationResult {
  target: string;
  cycles: number;
  registerP50Ms: number;
  registerP99Ms: number;
  deregisterP50Ms: number;
  deregisterP99Ms: number;
}

async function waitUntil(pool: Pool, routed: boolean, waitLimitMs: number): Promise<void> {
  const deadline = performance.now() + waitLimitMs;
  for (;;) {
    const res = await pool.request({ path: `/${SERVICE}/p`, method: "GET" });
    await res.body.dump();
    if ((res.statusCode === 200) === routed) return;
    if (performance.now() > deadline) throw new Error(`the gateway did not ${routed ? "route to" : "stop routing to"} ${INSTANCE} within ${waitLimitMs} ms`);
  }
}

interface Samples {
  up: number[];
  down: number[];
}

/**
 * `cycles` deregister/register cycles against one running gateway, adding
 * their times to `samples`. `waitLimitMs` bounds one change: a few seconds
 * for a gateway that watches Consul, more than its interval for one that
 * polls (Traefik by default).
 */
async function measureCycles(consul: ConsulAgent, gateway: Running, backendPort: number, cycles: number, waitLimitMs: number, samples: Samples): Promise<void> {
  const origin = new URL(gateway.url).origin;
  const pool = new Pool(origin, { connections: 1 });
  const registration = benchRegistration(INSTANCE, SERVICE, backendPort);
  try {
    // The first request subscribes the gateway to the service; not timed.
    await consul.register(registration);
    await waitUntil(pool, true, waitLimitMs);
    for (let i = 0; i < cycles; i++) {
      let t0 = performance.now();
      await consul.deregister(INSTANCE);
      await waitUntil(pool, false, waitLimitMs);
      samples.down.push(performance.now() - t0);
      t0 = performance.now();
      await consul.register(registration);
      await waitUntil(pool, true, waitLimitMs);
      samples.up.push(performance.now() - t0);
    }
  } finally {
    await consul.deregister(INSTANCE).catch(() => {});
    await pool.close();
  }
}

export interface PropagationTarget {
  start: () => Promise<Running>;
  cycles: number;
  waitLimitMs?: number;
}

/**
 * Propagation of every target, in interleaved rounds: each round starts each
 * target in turn, alone with Consul (so that none slows another's watch),
 * runs its share of the cycles and stops it; the percentiles are over all
 * rounds' cycles. So a machine whose speed drifts over the run (this one
 * does, by 3× from hour to hour) drifts for every target alike.
 */
export async function measurePropagation(
  consul: ConsulAgent,
  backendPort: number,
  targets: readonly PropagationTarget[],
  rounds: number,
  log: (line: string) => void,
): Promise<PropagationResult[]> {
  const samples = targets.map((): Samples & { name: string } => ({ name: "", up: [], down: [] }));
  for (let round = 0; round < rounds; round++) {
    for (const [i, target] of targets.entries()) {
      const share = Math.ceil(target.cycles / rounds);
      const gateway = await target.start();
      try {
        samples[i]!.name = gateway.name;
        await measureCycles(consul, gateway, backendPort, share, target.waitLimitMs ?? 10_000, samples[i]!);
      } finally {
        await gateway.stop();
      }
    }
  }
  return samples.map(({ name, up, down }) => {
    const result = {
      target: name,
      cycles: up.length,
      registerP50Ms: percentile(up, 50),
      registerP99Ms: percentile(up, 99),
      deregisterP50Ms: percentile(down, 50),
      deregisterP99Ms: percentile(down, 99),
    };
    log(`propagation ${name}: register p50 ${result.registerP50Ms.toFixed(1)} / p99 ${result.registerP99Ms.toFixed(1)} ms, deregister p50 ${result.deregisterP50Ms.toFixed(1)} / p99 ${result.deregisterP99Ms.toFixed(1)} ms (${up.length} cycles)`);
    return result;
  });
}
