/**
 * Child processes started by tests. Every one is recorded so that it is killed
 * when the test process leaves, also when a test failed or threw.
 */
import { spawn, type ChildProcess, type SpawnOptions } from "node:child_process";
import { once } from "node:events";
import { eventually } from "./wait.js";

const running = new Set<ChildProcess>();

process.on("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});
// A SIGTERM (the test runner ending a file that timed out) exits without "exit" handlers and
// would orphan every Consul agent the file started. Unless the program handles SIGTERM itself
// (the demo stops its processes in order), leave as SIGTERM's default would, children first.
process.on("SIGTERM", () => {
  if (process.listenerCount("SIGTERM") > 1) return;
  process.exit(143);
});

export interface Started {
  child: ChildProcess;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  /** Resolves when `pattern` appears in the output, rejects after `timeoutMs`. */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Resolves with the exit code (or signal) when the process ends by itself. */
  exited: Promise<number | NodeJS.Signals | null>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code or signal. */
  stop(graceMs?: number): Promise<number | NodeJS.Signals | null>;
}

class ExitedEarly extends Error {}

/**
 * Polls `probe` until a server process is ready to use. A process that exits
 * (a port taken, a bad flag) ends the wait at once instead of at the timeout,
 * and a failure carries the process's output as it is then, not as it was
 * when the wait began.
 */
export async function waitUntilReady<T>(started: Started, probe: () => Promise<T | undefined | false>, timeoutMs: number, what: string): Promise<T> {
  const { child } = started;
  try {
    return await eventually(
      async () => {
        if (child.exitCode !== null || child.signalCode !== null) throw new ExitedEarly(`the process exited (${child.exitCode ?? child.signalCode}) before it was ready`);
        return probe();
      },
      timeoutMs,
      what,
      (err) => err instanceof ExitedEarly,
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}; its output:\n${started.output()}`, { cause: err });
  }
}

export function start(command: string, args: readonly string[], options: SpawnOptions = {}): Started {
  const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"], ...options });
  running.add(child);
  let output = "";
  const onData = (chunk: Buffer): void => {
    output += chunk.toString();
  };
  child.stdout?.on("data", onData);
  child.stderr?.on("data", onData);
  const exited = once(child, "exit").then(([code, signal]) => {
    running.delete(child);
    return (code ?? signal) as number | NodeJS.Signals | null;
  });

  return {
    child,
    exited,
    output: () => output,
    waitForOutput(pattern, timeoutMs = 15_000) {
      return new Promise((resolve, reject) => {
        const check = (): boolean => {
          const match = output.match(pattern);
          if (match) {
            cleanup();
            resolve(match);
          }
          return match !== null;
        };
        const onExit = (): void => {
          if (!check()) {
            cleanup();
            reject(new Error(`${command} exited before printing ${pattern}; output:\n${output}`));
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`timed out after ${timeoutMs} ms waiting for ${pattern}; output:\n${output}`));
        }, timeoutMs);
        const cleanup = (): void => {
          clearTimeout(timer);
          child.stdout?.off("data", check);
          child.stderr?.off("data", check);
          child.off("exit", onExit);
        };
        if (check()) return;
        child.stdout?.on("data", check);
        child.stderr?.on("data", check);
        child.once("exit", onExit);
      });
    },
    async stop(graceMs = 5_000) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
        const result = await exited;
        clearTimeout(timer);
        return result;
      }
      return exited;
    },
  };
}

/** Runs a TypeScript entry point of this repository in a plain node process (no wrapper that could orphan it). */
export function startTs(entry: string, args: readonly string[] = [], options: SpawnOptions = {}): Started {
  return start(process.execPath, ["--import", import.meta.resolve("tsx"), entry, ...args], options);
}
