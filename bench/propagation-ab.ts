/**
 * Route propagation of gateway builds beside Fabio, for one change to the
 * discovery path: `node --import tsx bench/propagation-ab.ts [rounds]
 * [cycles] [dist...]` (dist/ by default, after `npm run build`; another build
 * folder must sit inside the repository so that it finds node_modules). One
 * Consul, one backend, interleaved rounds (bench/propagation.ts); Fabio is
 * skipped with a line when it cannot be found.
 */
import { resolve } from "node:path";
import { startBackend, startConsulWithBackend, startGateway, REPO } from "./lib/fixture.js";
import { findPeerBinary, peerVersion } from "./lib/peer-binaries.js";
import { startFabio } from "./lib/peer-gateways.js";
import { measurePropagation, type PropagationTarget } from "./propagation.js";

const [roundsArg, cyclesArg, ...dists] = process.argv.slice(2);
const rounds = Number(roundsArg ?? 5);
const cycles = Number(cyclesArg ?? 100);
const log = (line: string): void => console.log(`propagation-ab: ${line}`);

const backend = await startBackend();
const backendPort = Number(new URL(backend.url).port);
const consul = await startConsulWithBackend(backendPort);
try {
  const targets: PropagationTarget[] = (dists.length > 0 ? dists : [resolve(REPO, "dist")]).map((dist) => ({
    start: () => startGateway(`gateway (${dist.replace(REPO + "/", "")})`, consul, 1, { dist: resolve(dist) }),
    cycles,
  }));
  const fabio = findPeerBinary("fabio");
  if (fabio.found) targets.push({ start: () => startFabio(peerVersion("fabio", fabio.path), fabio.path, consul), cycles });
  else log(`fabio skipped: ${fabio.reason}`);
  const results = await measurePropagation(consul, backendPort, targets, rounds, log);
  console.log("\n| target | register p50 / p99 ms | deregister p50 / p99 ms |\n|---|---|---|");
  for (const r of results) console.log(`| ${r.target} | ${r.registerP50Ms.toFixed(1)} / ${r.registerP99Ms.toFixed(1)} | ${r.deregisterP50Ms.toFixed(1)} / ${r.deregisterP99Ms.toFixed(1)} |`);
} finally {
  await consul.destroy();
  await backend.stop();
}
