/**
 * Counts a process's established TCP connections to a port, as `ss -tnp`
 * shows them: how many connections the watcher child holds to its Consul
 * agent (Consul refuses more than http_max_conns_per_client per client address).
 */
import { execFileSync } from "node:child_process";

export function establishedConnections(pid: number, port: number): number {
  const out = execFileSync("ss", ["-Htnp", "state", "established", "dst", `127.0.0.1:${port}`], { encoding: "utf8" });
  return out.split("\n").filter((line) => line.includes(`pid=${pid},`)).length;
}
