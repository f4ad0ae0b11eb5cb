/**
 * WebSocket figures: echo messages per second through the gateway beside the
 * same echo instance reached directly, and the gateway's memory (RSS) for
 * thousands of idle upgraded connections.
 *
 * Echo: `connections` sockets each send a 64-byte text message and wait for
 * its echo before the next (ping-pong), for `durationS`, after a warm-up; the
 * targets (direct, a bare TCP relay as the floor, the gateway) rotate over
 * `rounds`, medians kept.
 * Idle: a client process opens `idleConnections` sockets through the gateway
 * and keeps them silent; the gateway's RSS before and after, per connection.
 * Each upgraded connection holds two descriptors in the gateway (client and
 * instance), so the count is capped by the hard `ulimit -n` (the soft limit is
 * raised to it for the gateway, the echo instance and the clients).
 */
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import WebSocket from "ws";
import type { ConsulAgent } from "../test/support/consul.js";
import { freePort } from "../test/support/ports.js";
import { start, type Started } from "../test/support/processes.js";
import { eventually } from "../test/support/wait.js";
import { REPO, SERVICE } from "./lib/fixture.js";
import { rssMiB } from "./lib/proc.js";
import { median } from "./lib/stats.js";

export const WS_SERVICE = "bench-ws-echo";

export interface WebSocketSettings {
  rounds: number;
  warmupS: number;
  durationS: number;
  connections: number;
  /** Idle upgraded connections asked for (capped by the descriptor limit). */
  idleConnections: number;
}

type Target = "direct" | "tcp relay" | "gateway";

export interface EchoRate {
  target: Target;
  messagesPerSecond: number;
  runs: number[];
}

export interface WebSocketResult {
  connections: number;
  durationS: number;
  echo: EchoRate[];
  /** Gateway ÷ direct. */
  ratio: number;
  /** The bare TCP relay (bench/peers/tcp-relay.ts) with the same idle connections, for comparison. */
  relayIdle: { opened: number; perConnectionKiB: number } | undefined;
  idle: {
    asked: number;
    opened: number;
    /** Why fewer were opened than asked, when they were. */
    note: string | undefined;
    gatewayBeforeMiB: number;
    gatewayWithConnectionsMiB: number;
    perConnectionKiB: number;
    echoInstancePerConnectionKiB: number;
  };
}

/** The hard limit on open files: the soft limit of the processes started here is raised to it. */
function hardFileLimit(): number {
  return Number(execFileSync("bash", ["-c", "ulimit -Hn"], { encoding: "utf8" }).trim());
}

/** `node <args>` with the soft descriptor limit raised to the hard one. */
function startNode(args: string[], env: Record<string, string> = {}): Started {
  return start("bash", ["-c", 'ulimit -n "$(ulimit -Hn)" && exec "$@"', "bash", process.execPath, ...args], { env: { ...process.env, ...env } });
}

function startTsNode(file: string, args: string[], env: Record<string, string> = {}): Started {
  return startNode(["--import", import.meta.resolve("tsx"), file, ...args], env);
}

function open(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { perMessageDeflate: false });
    socket.once("open", () => resolve(socket));
    socket.once("error", reject);
    socket.once("unexpected-response", (_req, res) => reject(new Error(`handshake answered ${res.statusCode}`)));
  });
}

/** Ping-pong on every socket until `untilMs`; returns the messages echoed. */
async function pingPong(sockets: WebSocket[], untilMs: number): Promise<number> {
  const message = "x".repeat(64);
  let echoed = 0;
  await Promise.all(
    sockets.map(
      (socket) =>
        new Promise<void>((resolve, reject) => {
          const onMessage = (): void => {
            echoed += 1;
            if (Date.now() >= untilMs) {
              socket.off("message", onMessage);
              resolve();
            } else socket.send(message);
          };
          socket.on("message", onMessage);
          socket.once("close", () => reject(new Error("a socket closed during the echo run")));
          socket.send(message);
        }),
    ),
  );
  return echoed;
}

async function echoRate(url: string, settings: WebSocketSettings): Promise<number> {
  const sockets = await Promise.all(Array.from({ length: settings.connections }, () => open(url)));
  try {
    await pingPong(sockets, Date.now() + settings.warmupS * 1000);
    const startedAt = Date.now();
    const echoed = await pingPong(sockets, startedAt + settings.durationS * 1000);
    return echoed / ((Date.now() - startedAt) / 1000);
  } finally {
    for (const socket of sockets) socket.terminate();
  }
}

/** RSS per idle connection of the bare relay, for the same count; undefined when its clients failed. */
async function idleOnRelay(relay: Started, url: string, count: number): Promise<{ opened: number; perConnectionKiB: number } | undefined> {
  const before = rssMiB(relay.child.pid!) ?? NaN;
  const clients = startTsNode(join(REPO, "bench/peers/ws-idle-clients.ts"), [url, String(count)]);
  try {
    const [, status, opened] = await clients.waitForOutput(/(open|failed) (\d+)/, 600_000);
    if (status !== "open") return undefined;
    await sleep(2000);
    return { opened: Number(opened), perConnectionKiB: (((rssMiB(relay.child.pid!) ?? NaN) - before) * 1024) / Number(opened) };
  } finally {
    await clients.stop();
  }
}

export async function measureWebSocket(consul: ConsulAgent, settings: WebSocketSettings, log: (line: string) => void): Promise<WebSocketResult> {
  const echo = startTsNode(join(REPO, "test/support/ws-echo-server.ts"), ["bench-ws"]);
  let gateway: Started | undefined;
  let relay: Started | undefined;
  let clients: Started | undefined;
  try {
    const echoPort = Number((await echo.waitForOutput(/listening on (\d+)/, 30_000))[1]);
    await consul.register({ ID: `${WS_SERVICE}-1`, Name: WS_SERVICE, Address: "127.0.0.1", Port: echoPort });
    const port = await freePort();
    gateway = startNode([join(REPO, "dist/main.js")], {
      CONSUL_HTTP_ADDR: consul.address,
      GATEWAY_HOST: "127.0.0.1",
      GATEWAY_PORT: String(port),
      GATEWAY_ADMIN_PORT: "0",
      GATEWAY_WARMUP_MS: "0",
      GATEWAY_SERVICES: `${SERVICE},${WS_SERVICE}`,
    });
    relay = startTsNode(join(REPO, "bench/peers/tcp-relay.ts"), [], { BACKEND_PORT: String(echoPort) });
    const relayPort = Number((await relay.waitForOutput(/listening (\d+)/, 30_000))[1]);
    const direct = `ws://127.0.0.1:${echoPort}/`;
    const viaRelay = `ws://127.0.0.1:${relayPort}/`;
    const through = `ws://127.0.0.1:${port}/${WS_SERVICE}/`;
    await eventually(async () => {
      (await open(through)).terminate();
      return true;
    }, 30_000, `a WebSocket through the gateway on ${through} (output: ${gateway.output().slice(-500)})`);

    const targets: Target[] = ["direct", "tcp relay", "gateway"];
    const urls: Record<Target, string> = { direct, "tcp relay": viaRelay, gateway: through };
    const runs: Record<Target, number[]> = { direct: [], "tcp relay": [], gateway: [] };
    for (let round = 0; round < settings.rounds; round++) {
      // The order rotates each round, so that no target always runs first (or last) on a loaded machine.
      for (let i = 0; i < targets.length; i++) {
        const target = targets[(round + i) % targets.length]!;
        runs[target].push(await echoRate(urls[target], settings));
      }
    }
    const echoRates: EchoRate[] = targets.map((target) => ({ target, messagesPerSecond: median(runs[target]), runs: runs[target] }));
    const rate = (target: Target): number => echoRates.find((e) => e.target === target)!.messagesPerSecond;
    const ratio = rate("gateway") / rate("direct");
    log(`websocket echo: direct ${rate("direct").toFixed(0)} msg/s, tcp relay ${rate("tcp relay").toFixed(0)}, gateway ${rate("gateway").toFixed(0)} msg/s (× ${ratio.toFixed(2)} direct)`);

    // Two descriptors per connection in the gateway, and some to spare for its own (Consul, admin, logs).
    const hard = hardFileLimit();
    const fit = Math.floor((hard - 256) / 2);
    const asked = settings.idleConnections;
    const wanted = Math.min(asked, fit);
    await sleep(1000);
    // The floor first: the bare relay with the same count, then stopped (the echo instance holds them all).
    const relayIdle = await idleOnRelay(relay, viaRelay, wanted);
    await relay.stop();
    relay = undefined;
    await sleep(1000);
    const gatewayBeforeMiB = rssMiB(gateway.child.pid!) ?? NaN;
    const echoBeforeMiB = rssMiB(echo.child.pid!) ?? NaN;
    clients = startTsNode(join(REPO, "bench/peers/ws-idle-clients.ts"), [through, String(wanted)]);
    const [line, status, count, reason] = await clients.waitForOutput(/(open|failed) (\d+)(?: (.*))?/, 600_000);
    const opened = Number(count);
    // Let the sockets' buffers settle before reading the resident size.
    await sleep(2000);
    const gatewayWithConnectionsMiB = rssMiB(gateway.child.pid!) ?? NaN;
    const echoWithMiB = rssMiB(echo.child.pid!) ?? NaN;
    const notes: string[] = [];
    if (wanted < asked) notes.push(`capped at ${wanted} by the hard descriptor limit (ulimit -Hn ${hard}; two descriptors per upgraded connection in the gateway)`);
    if (status === "failed") notes.push(`the clients stopped after ${opened}: ${reason ?? line}`);
    const perConnectionKiB = opened === 0 ? NaN : ((gatewayWithConnectionsMiB - gatewayBeforeMiB) * 1024) / opened;
    log(`websocket idle: ${opened} connections, gateway RSS ${gatewayBeforeMiB.toFixed(1)} → ${gatewayWithConnectionsMiB.toFixed(1)} MiB (${perConnectionKiB.toFixed(1)} KiB each)`);
    return {
      connections: settings.connections,
      durationS: settings.durationS,
      echo: echoRates,
      ratio,
      relayIdle,
      idle: {
        asked,
        opened,
        note: notes.length === 0 ? undefined : notes.join("; "),
        gatewayBeforeMiB,
        gatewayWithConnectionsMiB,
        perConnectionKiB,
        echoInstancePerConnectionKiB: opened === 0 ? NaN : ((echoWithMiB - echoBeforeMiB) * 1024) / opened,
      },
    };
  } finally {
    await clients?.stop();
    await relay?.stop();
    await gateway?.stop();
    await echo.stop();
    await consul.deregister(`${WS_SERVICE}-1`).catch(() => {});
  }
}
