/** Route table instances for unit tests: a passing instance with Consul's default weights, unless told otherwise. */
import type { Instance } from "../../src/discovery/instance.js";

export function instance(id: string, overrides: Partial<Instance> = {}): Instance {
  return Object.freeze({ id, address: "127.0.0.1", port: 1, tags: [], meta: {}, health: "passing", weights: { passing: 1, warning: 1 }, ...overrides });
}

/** Tallies the ids `pick` returns over `n` calls. */
export function counts(pick: () => Instance, n: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const id = pick().id;
    out[id] = (out[id] ?? 0) + 1;
  }
  return out;
}

/** A seeded pseudo-random source (mulberry32), so statistical unit tests are reproducible. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
