/**
 * The registrar as a process (`koa-consul-gateway registrar`) against the real
 * engine's Docker API and a real Consul: initial sync, start and stop events,
 * no second registration, a Consul restart with changes meanwhile, a lost
 * Docker socket, and -cleanup. Skips, saying why, when no engine answers
 * (scripts/ensure-engine.sh makes one answer; .ci/run runs it).
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Docker from "dockerode";
import superagent from "superagent";
import { ConsulAgent } from "../support/consul.js";
import { dockerSocketPath, engineUnavailable, ensureImage, removeLabelled } from "../support/engine.js";
import { startTs, type Started } from "../support/processes.js";
import { eventually } from "../support/wait.js";

const IMAGE = "docker.io/library/node:24-bookworm-slim";
const RUN = randomBytes(4).toString("hex");
const LABEL = "koa-consul-gateway.test";
const HOSTNAME = `kcg-test-${RUN}`;
const SERVICE = `reg-${RUN}`;
const unavailable = await engineUnavailable();

interface AgentService {
  ID: string;
  Service: string;
  Address: string;
  Port: number;
  Tags: string[];
  Meta: Record<string, string>;
}

/**
 * A unix socket that forwards to the engine's, so that a test can take the
 * socket away from the registrar (every connection cut, new ones refused) and
 * give it back.
 */
class SocketRelay {
  private server: Server | undefined;
  private readonly open = new Set<Socket>();

  constructor(
    readonly path: string,
    private readonly target: string,
  ) {}

  async up(): Promise<void> {
    const server = createServer((client) => {
      const upstream = createConnection(this.target);
      for (const s of [client, upstream]) {
        this.open.add(s);
        s.on("close", () => this.open.delete(s));
        s.on("error", () => undefined);
      }
      client.pipe(upstream).pipe(client);
      client.on("close", () => upstream.destroy());
      upstream.on("close", () => client.destroy());
    });
    await new Promise<void>((resolve, reject) => server.once("error", reject).listen(this.path, resolve));
    this.server = server;
  }

  async down(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.open) s.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

describe("the registrar on the real engine and Consul", { skip: unavailable }, () => {
  const docker = new Docker();
  let consul: ConsulAgent;
  let relay: SocketRelay;
  let relayDir: string;
  let registrar: Started | undefined;

  async function services(): Promise<AgentService[]> {
    const res = await superagent.get(`${consul.url}/v1/agent/services`).timeout(3000);
    return Object.values(res.body as Record<string, AgentService>).filter((s) => s.Service === SERVICE || s.Meta?.["registrar-host"] === HOSTNAME);
  }

  async function passing(): Promise<string[]> {
    const res = await superagent.get(`${consul.url}/v1/health/service/${SERVICE}?passing`).timeout(3000);
    return (res.body as { Service: { ID: string } }[]).map((e) => e.Service.ID).sort();
  }

  /** A container that answers HTTP on 3000 and carries Registrator's keys. */
  async function run(name: string, labels: Record<string, string> = {}): Promise<Docker.Container> {
    const container = await docker.createContainer({
      name: `${name}-${RUN}`,
      Image: IMAGE,
      Cmd: ["node", "-e", "require('http').createServer((q, s) => s.end('ok')).listen(3000)"],
      ExposedPorts: { "3000/tcp": {} },
      Env: [`SERVICE_3000_NAME=${SERVICE}`, "SERVICE_3000_CHECK_HTTP=/health", "SERVICE_3000_CHECK_INTERVAL=1s", "SERVICE_3000_TAGS=itest"],
      Labels: { [LABEL]: RUN, ...labels },
      HostConfig: { Init: true },
    });
    await container.start();
    return container;
  }

  const idOf = (name: string): string => `${HOSTNAME}:${name}-${RUN}:3000`;

  function startRegistrar(extra: string[] = []): Started {
    registrar = startTs("src/main.ts", ["registrar", "-internal", "-resync=1", "-retry-interval=200", `-hostname=${HOSTNAME}`, ...extra, `consul://${consul.address}`], {
      env: { ...process.env, DOCKER_HOST: `unix://${relay.path}` },
    });
    return registrar;
  }

  before(async () => {
    await ensureImage(docker, IMAGE);
    consul = await ConsulAgent.start();
    relayDir = mkdtempSync(join(tmpdir(), "kcg-relay-"));
    relay = new SocketRelay(join(relayDir, "docker.sock"), dockerSocketPath() ?? "/var/run/docker.sock");
    await relay.up();
  });

  after(async () => {
    await registrar?.stop();
    await removeLabelled(docker, LABEL, RUN);
    await relay?.down();
    if (relayDir) rmSync(relayDir, { recursive: true, force: true });
    await consul?.destroy();
  });

  test("registers running containers at start, with their IP, exposed port, tags and HTTP check", async () => {
    const a = await run("a");
    await run("ignored", { SERVICE_IGNORE: "true" });
    const proc = startRegistrar();
    await proc.waitForOutput(new RegExp(`registered ${idOf("a")}`), 60_000);
    const info = await a.inspect();
    const ip = Object.values(info.NetworkSettings.Networks)[0]?.IPAddress || (info.NetworkSettings as { IPAddress?: string }).IPAddress;
    const list = await services();
    assert.deepEqual(list.map((s) => [s.ID, s.Service, s.Address, s.Port, s.Tags]), [[idOf("a"), SERVICE, ip, 3000, ["itest"]]]);
    // The HTTP check reaches the container on its bridge network and passes.
    assert.deepEqual(await eventually(async () => (await passing()).length === 1 && (await passing()), 60_000, "a passing check"), [idOf("a")]);
  });

  test("registers a container on its start event and deregisters it when it stops", async () => {
    const b = await run("b");
    await eventually(async () => (await services()).some((s) => s.ID === idOf("b")), 60_000, "b registered");
    await b.stop({ t: 2 });
    await eventually(async () => !(await services()).some((s) => s.ID === idOf("b")), 60_000, "b deregistered");
    assert.deepEqual((await services()).map((s) => s.ID), [idOf("a")]);
  });

  test("never registers a container twice: a restarted registrar adopts what the agent holds", async () => {
    await registrar!.stop();
    const proc = startRegistrar();
    await proc.waitForOutput(/registrar: internal ports/, 30_000);
    // Several resyncs (one per second) and no new registration of a.
    const before = await passing();
    await new Promise((resolve) => setTimeout(resolve, 3500));
    assert.doesNotMatch(proc.output(), /registered /, proc.output());
    assert.deepEqual((await services()).map((s) => s.ID), [idOf("a")]);
    assert.deepEqual(await passing(), before, "the check was not reset by a second registration");
  });

  test("a Consul restart: what changed meanwhile is registered and deregistered afterwards", async () => {
    await consul.stop();
    const c = await run("c");
    const a = docker.getContainer(`a-${RUN}`);
    await a.stop({ t: 2 });
    await registrar!.waitForOutput(/failed: .*; retrying/, 30_000);
    await consul.boot();
    await eventually(async () => {
      const ids = (await services()).map((s) => s.ID).sort();
      return ids.length === 1 && ids[0] === idOf("c");
    }, 60_000, "c registered and a deregistered after the restart");
    await c.stop({ t: 2 });
    await eventually(async () => (await services()).length === 0, 60_000, "c deregistered");
  });

  test("a lost Docker socket: reconnects and resyncs what happened meanwhile", async () => {
    await relay.down();
    await registrar!.waitForOutput(/event stream ended|cannot read the engine's events/, 30_000);
    await run("d");
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assert.ok(!(await services()).some((s) => s.ID === idOf("d")), "registered without a socket?");
    await relay.up();
    await eventually(async () => (await services()).some((s) => s.ID === idOf("d")), 60_000, "d registered after the socket came back");
    assert.equal((await services()).filter((s) => s.ID === idOf("d")).length, 1);
  });

  test("-cleanup removes what an earlier run on this host left for containers that are gone, and nothing else", async () => {
    await registrar!.stop();
    const leftover = { ID: `${HOSTNAME}:gone-${RUN}:3000`, Name: SERVICE, Address: "10.255.0.1", Port: 3000, Meta: { registrar: "koa-consul-gateway", "registrar-host": HOSTNAME, "container-id": "0".repeat(64) } };
    const foreign = { ID: `other-host:x-${RUN}:3000`, Name: SERVICE, Address: "10.255.0.2", Port: 3000 };
    await superagent.put(`${consul.url}/v1/agent/service/register`).send(leftover);
    await superagent.put(`${consul.url}/v1/agent/service/register`).send(foreign);
    const proc = startRegistrar(["-cleanup"]);
    await proc.waitForOutput(new RegExp(`deregistered ${leftover.ID.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`), 30_000);
    const ids = (await services()).map((s) => s.ID).sort();
    assert.deepEqual(ids, [idOf("d"), foreign.ID].sort());
  });
});
