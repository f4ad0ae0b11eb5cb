/** What the bench reads about its processes from /proc (Linux): memory and children. */
import { readdirSync, readFileSync, readlinkSync } from "node:fs";

/** Resident set size in MiB, or undefined once the process is gone. */
export function rssMiB(pid: number): number | undefined {
  try {
    const kb = readFileSync(`/proc/${pid}/status`, "utf8").match(/^VmRSS:\s+(\d+) kB/m)?.[1];
    return kb === undefined ? undefined : Number(kb) / 1024;
  } catch {
    return undefined;
  }
}

/** The direct children of a process (e.g. the gateway's watcher child, a primary's workers). */
export function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** A process and all its descendants (a cluster's primary, workers and watcher; nginx's master and workers). */
export function processTree(pid: number): number[] {
  return [pid, ...childPids(pid).flatMap(processTree)];
}

/** CPU time of a set of processes, in milliseconds; those that are gone count 0. */
export function treeCpuMs(pids: readonly number[]): number {
  let total = 0;
  for (const pid of pids) {
    try {
      total += cpuMs(pid);
    } catch {
      // exited meanwhile
    }
  }
  return total;
}

/** CPU time (user + system) a process has used so far, in milliseconds. */
export function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").replace(/^.*\) /, "").split(" ");
  // After the command: field 14 (utime) and 15 (stime) of stat(5) are at 11 and 12 here, in clock ticks (100 Hz).
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

export function loadAverage(): number {
  return Number(readFileSync("/proc/loadavg", "utf8").split(" ")[0]);
}

/**
 * Established TCP connections from `pid` to 127.0.0.1:`port`, read from
 * /proc/net/tcp and the process's file descriptors. For the watcher child each
 * one is a blocking query held open against Consul.
 */
export function establishedConnections(pid: number, port: number): number {
  const portHex = port.toString(16).toUpperCase().padStart(4, "0");
  const inodes = new Set<string>();
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let table: string;
    try {
      table = readFileSync(file, "utf8");
    } catch {
      continue;
    }
    for (const line of table.split("\n").slice(1)) {
      const cols = line.trim().split(/\s+/);
      // cols: sl local rem st ... inode (9)
      if (cols.length > 9 && cols[2]!.endsWith(`:${portHex}`) && cols[3] === "01") inodes.add(cols[9]!);
    }
  }
  let count = 0;
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const link = readlinkSync(`/proc/${pid}/fd/${fd}`);
        if (link.startsWith("socket:[") && inodes.has(link.slice(8, -1))) count++;
      } catch {
        // closed meanwhile
      }
    }
  } catch {
    return 0;
  }
  return count;
}
