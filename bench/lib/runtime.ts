/**
 * The bench measures the gateway on its supported runtime, Node 24 LTS: on a
 * machine whose `node` is older, `npm run bench` runs itself again under
 * Node 24 (scripts/ensure-node24.sh), so that the gateway, its cluster, the
 * Node peers and the harness all run on the same Node, and the machine's own
 * Node is measured beside it as one more row. When Node 24 cannot be had, the
 * run stays on the machine's Node and says so.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { join } from "node:path";

/** Set in the re-run: the `node` the bench was started with. */
const MACHINE_NODE_ENV = "KCG_BENCH_MACHINE_NODE";

export interface NodeRuntime {
  binary: string;
  version: string;
}

const major = (version: string): number => Number(version.replace(/^v/, "").split(".")[0]);

/**
 * Returns on Node 24 or later (the machine's Node, when another one, as
 * `machineNode`), or on the machine's Node with the reason Node 24 could not
 * be had; otherwise runs this same command under Node 24 and exits with its
 * status.
 */
export function onSupportedRuntime(repo: string, log: (line: string) => void): { machineNode?: NodeRuntime; unavailable?: string } {
  const startedWith = process.env[MACHINE_NODE_ENV];
  if (startedWith !== undefined) {
    return { machineNode: { binary: startedWith, version: execFileSync(startedWith, ["--version"], { encoding: "utf8" }).trim() } };
  }
  if (major(process.version) >= 24) return {};
  let node24: string;
  try {
    const folder = execFileSync("bash", [join(repo, "scripts/ensure-node24.sh")], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] }).trim().split("\n").at(-1)!;
    node24 = join(folder, "node");
  } catch (err) {
    const reason = `scripts/ensure-node24.sh failed (${(err as Error).message.split("\n")[0]}): the gateway is measured on ${process.version} only`;
    log(reason);
    return { unavailable: reason };
  }
  log(`running on Node 24 (${node24}); the machine's Node ${process.version} is measured beside it`);
  const rerun = spawnSync(node24, [...process.execArgv, ...process.argv.slice(1)], { stdio: "inherit", env: { ...process.env, [MACHINE_NODE_ENV]: process.execPath } });
  process.exit(rerun.status ?? 1);
}
