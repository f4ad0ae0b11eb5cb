/**
 * `npm run test:deploy`: the README's compose stack on a real engine, as a
 * user runs it, under a unique project name and on free host ports:
 *   up --build --scale serviceweb=3 → answers from 3 instances through the gateway;
 *   --scale serviceweb=5 → 5; one instance stopped under steady sequential load →
 *   it leaves the routes and no request fails; the gateway's log shows the
 *   change notifications; one Consul server stopped → still serving, and a new
 *   registration still arrives; down -v → no container, network or volume left.
 * Prints the time of each step. All traffic goes to the loopback ports the
 * stack publishes. Skips, saying why, when no engine answers, unless
 * KCG_REQUIRE_ENGINE=1 (as in .ci/run), where that is a failure.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import Docker from "dockerode";
import superagent from "superagent";
import { dockerHost, engineUnavailable } from "../support/engine.js";
import { SteadyLoad } from "../support/load.js";
import { freePorts } from "../support/ports.js";
import { eventually, sleep } from "../support/wait.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const PROJECT = `kcgdeploy${randomBytes(3).toString("hex")}`;
const PROJECT_LABEL = "com.docker.compose.project";
const unavailable = await engineUnavailable();

const composeCommand: string[] =
  spawnSync("docker-compose", ["version"], { stdio: "ignore" }).error === undefined ? ["docker-compose"] : ["docker", "compose"];

const timings: [string, number][] = [];
async function step<T>(name: string, run: () => Promise<T>): Promise<T> {
  const started = Date.now();
  try {
    return await run();
  } finally {
    const seconds = (Date.now() - started) / 1000;
    timings.push([name, seconds]);
    console.log(`test:deploy: ${name}: ${seconds.toFixed(1)} s`);
  }
}

describe("the compose stack on the engine", { skip: unavailable }, () => {
  const docker = new Docker();
  let env: NodeJS.ProcessEnv;
  let gatewayUrl: string;
  let consulUrl: string;
  let adminUrl: string;
  let downDone = false;

  async function compose(...args: string[]): Promise<string> {
    const [cmd, ...pre] = composeCommand as [string, ...string[]];
    try {
      const { stdout, stderr } = await promisify(execFile)(cmd, [...pre, "-p", PROJECT, "-f", "docker-compose.yml", ...args], {
        cwd: root,
        env,
        maxBuffer: 64 * 1024 * 1024,
        timeout: 20 * 60_000,
      });
      return stdout + stderr;
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string; message: string };
      throw new Error(`${composeCommand.join(" ")} ${args.join(" ")} failed: ${e.message}\n${(e.stdout ?? "").slice(-4000)}\n${(e.stderr ?? "").slice(-4000)}`);
    }
  }

  async function containers(service?: string, all = false): Promise<Docker.ContainerInfo[]> {
    const label = [`${PROJECT_LABEL}=${PROJECT}`, ...(service ? [`com.docker.compose.service=${service}`] : [])];
    return docker.listContainers({ all, filters: { label } });
  }

  /** The instance ids that answer through the gateway in one round of requests. */
  async function answeringInstances(requests: number): Promise<Set<string>> {
    const seen = new Set<string>();
    for (let i = 0; i < requests; i++) {
      const res = await superagent.get(`${gatewayUrl}/service-web/getRemoteIp`).timeout(5000).ok(() => true);
      if (res.status === 200) seen.add(String((res.body as { id: unknown }).id));
    }
    return seen;
  }

  async function waitForInstances(count: number, what: string): Promise<Set<string>> {
    return eventually(async () => {
      const seen = await answeringInstances(count * 4);
      return seen.size === count && seen;
    }, 180_000, what);
  }

  before(async () => {
    const [gatewayPort, consulPort, adminPort] = await freePorts(3);
    env = {
      ...process.env,
      DOCKER_HOST: dockerHost(),
      BUILDAH_FORMAT: "docker",
      GATEWAY_HOST_PORT: String(gatewayPort),
      CONSUL_HOST_PORT: String(consulPort),
      ADMIN_HOST_PORT: String(adminPort),
    };
    gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
    consulUrl = `http://127.0.0.1:${consulPort}`;
    adminUrl = `http://127.0.0.1:${adminPort}`;
    console.log(`test:deploy: project ${PROJECT} on ${dockerHost()}, gateway ${gatewayUrl}, Consul ${consulUrl}, admin ${adminUrl}`);
  });

  after(async () => {
    if (!downDone) {
      // A failed step: show what the gateway and the registrar said, then clean up.
      try {
        console.log((await compose("logs", "--no-color", "--tail=80", "gateway", "registrar")).slice(-12_000));
      } catch (err) {
        console.log(`test:deploy: no logs: ${(err as Error).message}`);
      }
      await compose("down", "-v", "--remove-orphans", "--timeout", "5").catch((err: Error) => console.log(`test:deploy: down failed: ${err.message}`));
    }
    console.log(`test:deploy: timings (s): ${timings.map(([n, s]) => `${n} ${s.toFixed(1)}`).join("; ")}`);
  });

  test("up --build --scale serviceweb=3: the gateway answers from 3 distinct instances", async () => {
    await step("up --build --scale serviceweb=3", () => compose("up", "-d", "--build", "--scale", "serviceweb=3"));
    const seen = await step("3 instances answer through the gateway", () => waitForInstances(3, "3 distinct instances"));
    assert.equal(seen.size, 3);
    assert.equal((await containers("serviceweb")).length, 3);
  });

  test("--scale serviceweb=5: 5 distinct instances", async () => {
    await step("up --scale serviceweb=5", () => compose("up", "-d", "--scale", "serviceweb=5"));
    const seen = await step("5 instances answer through the gateway", () => waitForInstances(5, "5 distinct instances"));
    assert.equal(seen.size, 5);
  });

  test("one instance stopped under steady sequential load: it leaves the routes and no request fails", async () => {
    const load = new SteadyLoad(`${gatewayUrl}/service-web/getRemoteIp`, { concurrency: 1, capMs: 300_000 });
    try {
      await sleep(2000);
      const [victim] = await containers("serviceweb");
      assert.ok(victim);
      const victimId = await (async () => {
        const info = await docker.getContainer(victim.Id).inspect();
        return info.Config.Hostname;
      })();
      await step("one serviceweb instance stopped and gone from the routes", async () => {
        await docker.getContainer(victim.Id).stop({ t: 10 });
        await waitForInstances(4, "4 instances after the stop");
      });
      const seen = await answeringInstances(20);
      assert.ok(![...seen].some((id) => id.includes(victimId)), `the stopped instance ${victimId} still answers: ${[...seen].join(", ")}`);
      await sleep(3000);
    } finally {
      const report = await load.stop();
      console.log(`test:deploy: steady load during the stop: ${report.sent} requests, ${report.failed} failed, longest gap ${report.longestGapMs} ms ${report.samples.join("; ")}`);
      assert.ok(report.sent > 20, `only ${report.sent} requests sent`);
      assert.equal(report.failed, 0, `failed requests: ${report.samples.join("; ")}`);
    }
  });

  test("the gateway's log shows the change notifications (DEBUG=gateway:*)", async () => {
    const log = await compose("logs", "--no-color", "gateway");
    assert.match(log, /gateway:\S+ change service-web .*instances=5/, "no change notification for 5 instances");
    assert.match(log, /gateway:\S+ change service-web .*instances=4/, "no change notification for the stopped instance");
  });

  test("one Consul server stopped: still serving, and a new registration still arrives", async () => {
    // The registrar registers through consul1's agent (as Registrator did through one agent), so the
    // server stopped is another one: the leader when that is not consul1.
    const leader = String((await superagent.get(`${consulUrl}/v1/status/leader`).timeout(5000)).body);
    const servers = await containers();
    const byService = (name: string) => servers.find((c) => c.Labels["com.docker.compose.service"] === name);
    const leaderContainer = servers.find((c) => Object.values(c.NetworkSettings.Networks).some((n) => n.IPAddress && leader.startsWith(`${n.IPAddress}:`)));
    const leaderService = leaderContainer?.Labels["com.docker.compose.service"];
    const stopped = leaderService && leaderService !== "consul1" && leaderService.startsWith("consul") ? leaderService : "consul2";
    console.log(`test:deploy: Raft leader ${leader} (${leaderService ?? "?"}); stopping ${stopped}`);
    await step(`${stopped} stopped`, () => docker.getContainer(byService(stopped)!.Id).stop({ t: 10 }));
    await step("still serving with a Consul server down", () => waitForInstances(4, "4 instances with a Consul server down"));
    await step("a new instance registered with a Consul server down", async () => {
      const before = new Set((await containers("serviceweb", true)).map((c) => c.Id));
      // --no-deps: `up` would otherwise start the stopped server again (the gateway depends on it).
      // Compose also starts the instance stopped above: 6 run afterwards, one of them new.
      await compose("up", "-d", "--no-deps", "--no-recreate", "--scale", "serviceweb=6", "serviceweb");
      const running = await containers("serviceweb");
      const created = running.filter((c) => !before.has(c.Id));
      assert.equal(created.length, 1, "one new serviceweb container");
      const seen = await waitForInstances(running.length, `${running.length} instances after scaling with a Consul server down`);
      const newHost = (await docker.getContainer(created[0]!.Id).inspect()).Config.Hostname;
      assert.ok([...seen].some((id) => id.includes(newHost)), `the new instance ${newHost} does not answer: ${[...seen].join(", ")}`);
      const server = await docker.getContainer(byService(stopped)!.Id).inspect();
      assert.equal(server.State.Running, false, `${stopped} was started again`);
    });
  });

  test("down -v leaves no container, network or volume", async () => {
    const volumes = new Set<string>();
    for (const c of await containers(undefined, true)) {
      for (const m of (await docker.getContainer(c.Id).inspect()).Mounts) if (m.Type === "volume" && m.Name) volumes.add(m.Name);
    }
    await step("down -v", () => compose("down", "-v", "--timeout", "10"));
    downDone = true;
    assert.deepEqual((await containers(undefined, true)).map((c) => c.Names), [], "containers left");
    const networks = (await docker.listNetworks()).filter((n) => n.Name.startsWith(`${PROJECT}_`) || n.Labels?.[PROJECT_LABEL] === PROJECT);
    assert.deepEqual(networks.map((n) => n.Name), [], "networks left");
    const left = ((await docker.listVolumes()).Volumes ?? []).filter((v) => volumes.has(v.Name) || v.Labels?.[PROJECT_LABEL] === PROJECT);
    assert.deepEqual(left.map((v) => v.Name), [], "volumes left");
    assert.ok(volumes.size > 0, "the Consul servers' data volumes were not seen, so their removal proves nothing");
  });
});
