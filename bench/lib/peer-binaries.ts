/**
 * Finds the binaries of the peer gateways (Fabio, Traefik) the bench compares
 * the gateway with. A user installs them the usual way, so `FABIO_BIN` /
 * `TRAEFIK_BIN` and then PATH come first; on the project's machines neither
 * can be installed from a registry, so the fallback is the prebuilt, xz
 * packed binaries in `shared/peers/` beside the clone (their README names the
 * sha256 of each), unpacked once into the cache that scripts/ensure-*.sh use.
 * A peer that cannot be found is skipped, with one line that says why.
 */
import { createHash } from "node:crypto";
import { execFileSync, spawnSync } from "node:child_process";
import { accessSync, chmodSync, constants, existsSync, mkdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { homedir } from "node:os";
import { delimiter, dirname, join, resolve } from "node:path";
import { REPO } from "./fixture.js";

export type PeerName = "fabio" | "traefik";

/** The sha256 of each decompressed binary, as shared/peers/README.md states it. */
const SHA256: Record<PeerName, string> = {
  fabio: "fa1c06c992022764378ddd501aa40e0c9018cfe94c9bc37d79b5e17336218088",
  traefik: "2ebefaea96b880821dcbb872e9fe9c1323134a99961531f3a08e242630bd0bc5",
};

const ENV: Record<PeerName, string> = { fabio: "FABIO_BIN", traefik: "TRAEFIK_BIN" };

export type PeerBinary = { found: true; path: string; from: string } | { found: false; reason: string };

function cacheDir(): string {
  const base = process.env.KCG_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "koa-consul-gateway");
  return join(base, "peers");
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (dir !== "" && executable(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

function sha256(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

/**
 * `shared/peers` beside the clone (as CI lays it out), and beside the main
 * checkout when this is a linked git worktree elsewhere.
 */
function peerFolders(): string[] {
  const folders = [resolve(REPO, "../shared/peers")];
  const common = spawnSync("git", ["rev-parse", "--path-format=absolute", "--git-common-dir"], { cwd: REPO, encoding: "utf8" });
  if (common.status === 0) folders.push(resolve(dirname(common.stdout.trim()), "../shared/peers"));
  return [...new Set(folders)];
}

/** Unpacks `<folder>/<name>.xz` into the cache and checks its sha256; the cached copy is used when it matches. */
function fromSharedPeers(name: PeerName): PeerBinary {
  const target = join(cacheDir(), name);
  if (existsSync(target) && sha256(target) === SHA256[name]) return { found: true, path: target, from: `cache ${target}` };
  const packed = peerFolders()
    .map((folder) => join(folder, `${name}.xz`))
    .find((file) => existsSync(file));
  if (packed === undefined) return { found: false, reason: `${ENV[name]} is not set, ${name} is not on PATH, and there is no ${peerFolders()[0]}/${name}.xz` };
  mkdirSync(cacheDir(), { recursive: true });
  const partial = `${target}.partial-${process.pid}`;
  try {
    execFileSync("bash", ["-c", 'xz -dc "$1" > "$2"', "unpack", packed, partial], { stdio: ["ignore", "ignore", "pipe"] });
    const digest = sha256(partial);
    if (digest !== SHA256[name]) return { found: false, reason: `${packed} unpacks to sha256 ${digest}, not the ${SHA256[name]} its README names` };
    chmodSync(partial, 0o755);
    renameSync(partial, target);
    return { found: true, path: target, from: `${packed}, unpacked to ${target}` };
  } catch (err) {
    return { found: false, reason: `could not unpack ${packed}: ${(err as Error).message.split("\n")[0]}` };
  } finally {
    rmSync(partial, { force: true });
  }
}

export function findPeerBinary(name: PeerName): PeerBinary {
  const fromEnv = process.env[ENV[name]];
  if (fromEnv !== undefined && fromEnv !== "") {
    return executable(fromEnv) ? { found: true, path: fromEnv, from: ENV[name] } : { found: false, reason: `${ENV[name]}=${fromEnv} is not an executable file` };
  }
  const path = onPath(name);
  if (path !== undefined) return { found: true, path, from: "PATH" };
  return fromSharedPeers(name);
}

/** The first line the binary prints about its version ("fabio -v", "traefik version"). */
export function peerVersion(name: PeerName, path: string): string {
  const run = spawnSync(path, name === "fabio" ? ["-v"] : ["version"], { encoding: "utf8", timeout: 10_000 });
  const text = `${run.stdout ?? ""}\n${run.stderr ?? ""}`;
  if (name === "traefik") return `Traefik ${text.match(/Version:\s+(\S+)/)?.[1] ?? "(version unknown)"}`;
  return `Fabio ${text.trim().split(/\s+/)[0] || "(version unknown)"}`;
}
