/** The gateway started inside the test process (its watcher child is a real forked process). */
import { format } from "node:util";
import createDebug from "debug";
import superagent from "superagent";
import { loadConfig } from "../../src/config.js";
import { startGateway, type Gateway } from "../../src/gateway/gateway.js";
import { WatcherSupervisor, supervisorOptions } from "../../src/discovery/supervisor.js";

export interface TestGateway extends Gateway {
  url: string;
  /** The gateway's discovery feed: one process, so its own watcher supervisor. */
  supervisor: WatcherSupervisor;
  /** The admin API and dashboard. */
  adminUrl: string;
}

/**
 * `registry` is a Consul address (host:port), or the settings that point the
 * gateway at a registry (a RegistryHarness's `env`).
 */
export async function startTestGateway(registry: string | Record<string, string>, env: Record<string, string> = {}): Promise<TestGateway> {
  const config = loadConfig({
    ...(typeof registry === "string" ? { CONSUL_HTTP_ADDR: registry } : registry),
    GATEWAY_HOST: "127.0.0.1",
    GATEWAY_PORT: "0",
    GATEWAY_ADMIN_PORT: "0",
    // Short enough that a test's stop/start of Consul is noticed quickly.
    GATEWAY_WATCHER_RESTART_MAX_MS: "1000",
    // Warm-up off: tests that add an instance and count hits assert even spreads. Warm-up tests set it.
    GATEWAY_WARMUP_MS: "0",
    ...env,
  });
  const supervisor = new WatcherSupervisor(supervisorOptions(config));
  const gateway = await startGateway(config, supervisor);
  return Object.assign(gateway, { url: `http://127.0.0.1:${gateway.port}`, adminUrl: `http://127.0.0.1:${gateway.adminPort}`, supervisor });
}

/**
 * Collects what the given debug namespaces print in this process, as
 * `DEBUG=...` would show it. Returns the lines so far, live.
 */
export function captureDebug(namespaces: string): { lines: string[]; restore(): void } {
  const lines: string[] = [];
  const previousLog = createDebug.log;
  const previousNamespaces = createDebug.disable();
  createDebug.enable(namespaces);
  createDebug.log = (...args: unknown[]) => {
    lines.push(format(...args));
  };
  return {
    lines,
    restore() {
      createDebug.log = previousLog;
      createDebug.enable(previousNamespaces);
    },
  };
}

/** Sends `count` GETs to `path` and counts which instance (by its `id`) answered each. */
export async function countHits(url: string, count: number, path = "/service-web/getRemoteIp"): Promise<Map<string, number>> {
  const hits = new Map<string, number>();
  for (let i = 0; i < count; i++) {
    const res = await superagent.get(url + path);
    const id = (res.body as { id: string }).id;
    hits.set(id, (hits.get(id) ?? 0) + 1);
  }
  return hits;
}
