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

/**
 * `waitLimitMs` bounds one change: a few seconds for a gateway that watches
 * Consul, more than its interval for one that polls (Traefik by default).
 */
export async function measurePropagation(consul: ConsulAgent, gateway: Running, backendPort: number, cycles: number, waitLimitMs = 10_000): Promise<PropagationResult> {
  const origin = new URL(gateway.url).origin;
  const pool = new Pool(origin, { connections: 1 });
  const registration = benchRegistration(INSTANCE, SERVICE, backendPort);
  const up: number[] = [];
  const down: number[] = [];
  try {
    // The first request subscribes the gateway to the service; not timed.
    await consul.register(registration);
    await waitUntil(pool, true, waitLimitMs);
    for (let i = 0; i < cycles; i++) {
      let t0 = performance.now();
      await consul.deregister(INSTANCE);
      await waitUntil(pool, false, waitLimitMs);
      down.push(performance.now() - t0);
      t0 = performance.now();
      await consul.register(registration);
      await waitUntil(pool, true, waitLimitMs);
      up.push(performance.now() - t0);
    }
  } finally {
    await consul.deregister(INSTANCE).catch(() => {});
    await pool.close();
  }
  return {
    target: gateway.name,
    cycles,
    registerP50Ms: percentile(up, 50),
    registerP99Ms: percentile(up, 99),
    deregisterP50Ms: percentile(down, 50),
    deregisterP99Ms: percentile(down, 99),
  };
}
