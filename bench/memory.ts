/**
 * The gateway's memory: RSS idle (started, routes known, before any load),
 * under load, and over a long run of constant load, sampled at a fixed
 * interval, to tell whether it stays flat (no growth per request).
 */
import { setTimeout as sleep } from "node:timers/promises";
import { childPids, rssMiB } from "./lib/proc.js";
import { runLoad, type LoadResult } from "./lib/load.js";
import type { Running } from "./lib/fixture.js";
import { median } from "./lib/stats.js";

export interface MemoryResult {
  idleMiB: number;
  watcherIdleMiB: number;
  underLoadMiB: number;
  samples: { atS: number; rssMiB: number }[];
  durationS: number;
  requests: number;
  /** RSS at the end less RSS after the first quarter of the run (the warm-up of the heap excluded). */
  growthMiB: number;
  load: LoadResult;
}

export async function measureMemory(gateway: Running, connections: number, durationS: number): Promise<MemoryResult> {
  const rss = (): number => rssMiB(gateway.pid) ?? NaN;
  const watcher = childPids(gateway.pid)[0];
  const idleMiB = rss();
  const watcherIdleMiB = watcher === undefined ? NaN : rssMiB(watcher) ?? NaN;
  const samples: { atS: number; rssMiB: number }[] = [];
  const everyS = Math.max(1, Math.round(durationS / 24));
  const started = Date.now();
  let running = true;
  const sampling = (async () => {
    while (running) {
      samples.push({ atS: Math.round((Date.now() - started) / 1000), rssMiB: rss() });
      await sleep(everyS * 1000);
    }
  })();
  const load = await runLoad(gateway.url, { connections, durationS });
  running = false;
  await sampling;
  samples.push({ atS: Math.round((Date.now() - started) / 1000), rssMiB: rss() });
  const loaded = samples.filter((s) => s.atS > 0);
  const quarter = loaded.find((s) => s.atS >= durationS / 4) ?? loaded[0]!;
  return {
    idleMiB,
    watcherIdleMiB,
    underLoadMiB: median(loaded.map((s) => s.rssMiB)),
    samples,
    durationS,
    requests: Math.round(load.requestsPerSecond * durationS),
    growthMiB: samples.at(-1)!.rssMiB - quarter.rssMiB,
    load,
  };
}
