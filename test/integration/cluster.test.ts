import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import superagent from "superagent";
import { ConsulAgent } from "../support/consul.js";
import { httpCheckedRegistration, startBackend, type Backend } from "../support/backends.js";
import { freePort } from "../support/ports.js";
import { startTs, type Started } from "../support/processes.js";
import { eventually } from "../support/wait.js";

const GATEWAY = "src/main.ts";

/** One request on a fresh connection, so that node:cluster hands it to the next worker in turn. */
async function answeredBy(url: string): Promise<string> {
  const res = await superagent.get(`${url}/service-web/getRemoteIp`).set("connection", "close");
  return (res.body as { id: string }).id;
}

/** The sum of gateway_requests_total for service-web at an admin server's /metrics. */
async function requestsCounted(admin: string): Promise<number> {
  const text = (await superagent.get(`${admin}/metrics`)).text;
  return [...text.matchAll(/^gateway_requests_total\{service="service-web",[^}]*\} (\d+)$/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
}

/** The requests /routes counts over service-web's instances. */
async function instanceRequests(admin: string): Promise<number> {
  const view = (await superagent.get(`${admin}/routes/service-web`)).body as { instances: { requests: number }[] };
  return view.instances.reduce((sum, i) => sum + i.requests, 0);
}

/** The workers the primary has started so far, in order, from its `gateway:cluster` log. */
function startedWorkers(gateway: Started): number[] {
  return [...gateway.output().matchAll(/gateway:cluster worker (\d+) started/g)].map((m) => Number(m[1]));
}

describe("cluster mode (GATEWAY_WORKERS=2) against a real Consul", () => {
  let consul: ConsulAgent;
  const backends: Backend[] = [];
  let gateway: Started;
  let url: string;
  let admin: string;

  before(async () => {
    consul = await ConsulAgent.start();
    const first = await startBackend("web-1");
    backends.push(first);
    await consul.register(httpCheckedRegistration(first));
    // Hidden by the exposure policy, though named in GATEWAY_SERVICES: the workers must drop the primary's watch on it.
    await consul.register({ ID: "hidden-1", Name: "hidden-svc", Address: "127.0.0.1", Port: first.port, Tags: ["gateway.enable=false"] });
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    gateway = startTs(GATEWAY, [], {
      env: { ...process.env, DEBUG: "gateway:cluster,gateway:watch", CONSUL_HTTP_ADDR: consul.address, GATEWAY_HOST: "127.0.0.1", GATEWAY_PORT: String(port), GATEWAY_WORKERS: "2", GATEWAY_SERVICES: "service-web,hidden-svc", GATEWAY_WATCHER_RESTART_MAX_MS: "1000", GATEWAY_ADMIN_PORT: "0", GATEWAY_WARMUP_MS: "0", GATEWAY_SUBSCRIPTION_IDLE_MS: "1500" },
    });
    // The primary serves the admin API for the whole cluster: the start line names its port.
    const started = await gateway.waitForOutput(/listening on 127\.0\.0\.1:\d+ with 2 workers .*admin API and dashboard on (http:\/\/127\.0\.0\.1:\d+)\//, 30_000);
    admin = started[1]!;
  });

  after(async () => {
    assert.equal(await gateway?.stop(), 0, "the primary stops its workers and leaves with 0");
    for (const pid of startedWorkers(gateway)) assert.throws(() => process.kill(pid, 0), { code: "ESRCH" }, `worker ${pid} still running`);
    await Promise.all(backends.map((b) => b.close()));
    await consul?.destroy();
  });

  test("one watcher, two workers: a registration reaches every worker", async () => {
    const workers = startedWorkers(gateway);
    assert.equal(workers.length, 2);
    const second = await startBackend("web-2");
    backends.push(second);
    await consul.register(httpCheckedRegistration(second));
    for (const pid of workers) {
      await gateway.waitForOutput(new RegExp(`gateway:cluster worker ${pid} got service-web index=\\d+ instances=2`), 10_000);
    }
    // Both workers route to both instances.
    await eventually(async () => {
      const seen = new Set<string>();
      for (let i = 0; i < 20; i++) seen.add(await answeredBy(url));
      return seen.size === 2;
    }, 10_000, "answers from web-1 and web-2");
  });

  test("a service hidden by the exposure policy is unknown to every worker, and its watch is dropped", async () => {
    for (let i = 0; i < 4; i++) {
      const res = await superagent.get(`${url}/hidden-svc/getRemoteIp`).set("connection", "close").ok(() => true);
      assert.equal(res.status, 404);
      assert.equal((res.body as { error: { code: string } }).error.code, "UNKNOWN_SERVICE");
    }
    await gateway.waitForOutput(/gateway:watch unsubscribe hidden-svc/, 15_000);
  });

  test("the primary's admin server covers the whole cluster: /metrics adds up every worker's requests, /routes their counters", async () => {
    const before = await requestsCounted(admin);
    const routedBefore = await instanceRequests(admin);
    const sent = 30;
    // A fresh connection each time: node:cluster hands them to the workers in turn, so both count some.
    for (let i = 0; i < sent; i++) await answeredBy(url);
    await eventually(async () => (await requestsCounted(admin)) === before + sent, 15_000, `gateway_requests_total grown by ${sent} at the primary's /metrics`);
    // Refreshed from the workers every second.
    await eventually(async () => (await instanceRequests(admin)) === routedBefore + sent, 15_000, `/routes counting ${sent} more requests over both instances`);
    assert.equal((await superagent.get(`${admin}/ready`)).status, 200);
    const page = await superagent.get(`${admin}/`);
    assert.match(page.headers["content-type"] ?? "", /text\/html/);
    const metrics = (await superagent.get(`${admin}/metrics`)).text;
    assert.match(metrics, /^gateway_route_instances\{service="service-web"\} 2$/m, "the table's metrics come from the primary, once");
    assert.match(metrics, /^gateway_upstream_duration_seconds_count\{service="service-web"\} \d+$/m);
    assert.match(metrics, /^process_cpu_seconds_total \d/m, "Node's process metrics, added up over the workers");
  });

  test("killing a worker: requests keep being answered, it is re-forked and gets the current routes", async () => {
    const [victim, survivor] = startedWorkers(gateway) as [number, number];
    process.kill(victim, "SIGKILL");
    await gateway.waitForOutput(new RegExp(`gateway:cluster worker ${victim} exited`), 10_000);
    // While the replacement starts, the surviving worker answers every request.
    for (let i = 0; i < 10; i++) assert.match(await answeredBy(url), /^web-[12]$/);

    const replacement = await eventually(() => startedWorkers(gateway).find((pid) => pid !== victim && pid !== survivor), 10_000, "a re-forked worker");
    // It starts with the routes the others have (replayed by the primary), without a change in Consul.
    await gateway.waitForOutput(new RegExp(`gateway:cluster worker ${replacement} got service-web index=\\d+ instances=2`), 15_000);
    for (let i = 0; i < 10; i++) assert.match(await answeredBy(url), /^web-[12]$/);
  });

  test("a service asked for on demand is served by both workers, released by both when idle, and served again", async () => {
    await consul.register({ ID: "od-1", Name: "ondemand", Address: "127.0.0.1", Port: backends[0]!.port });
    const served = async (): Promise<number[]> => {
      const statuses: number[] = [];
      // A fresh connection each: node:cluster hands them to both workers, and the second asks for a service the primary watches already.
      for (let i = 0; i < 6; i++) statuses.push((await superagent.get(`${url}/ondemand/getRemoteIp`).set("connection", "close").ok(() => true)).status);
      return statuses;
    };
    await eventually(async () => (await superagent.get(`${url}/ondemand/getRemoteIp`).set("connection", "close").ok(() => true)).status === 200, 10_000, "ondemand in the catalog");
    assert.deepEqual(await served(), Array(6).fill(200));
    await gateway.waitForOutput(/gateway:cluster no worker wants ondemand any more: its watch stops/, 20_000);
    assert.deepEqual(await served(), Array(6).fill(200));
    await consul.deregister("od-1");
  });

  test("a service whose last instance leaves and whose next one registers is served by both workers from the watch the watcher kept", async () => {
    const statuses = async (): Promise<number[]> => {
      const all: number[] = [];
      for (let i = 0; i < 6; i++) all.push((await superagent.get(`${url}/redeployed/getRemoteIp`).set("connection", "close").ok(() => true)).status);
      return all;
    };
    await consul.register({ ID: "rd-1", Name: "redeployed", Address: "127.0.0.1", Port: backends[0]!.port });
    await eventually(async () => (await statuses()).every((s) => s === 200), 10_000, "redeployed served by both workers");
    await consul.deregister("rd-1");
    await eventually(async () => (await statuses()).every((s) => s === 404), 10_000, "redeployed unknown to both workers");
    await consul.register({ ID: "rd-2", Name: "redeployed", Address: "127.0.0.1", Port: backends[0]!.port });
    // The watcher revives its kept watch with the catalog. Its list reaches the primary before or after the workers ask again, as the two watches' answers race: served either way.
    await eventually(async () => (await statuses()).every((s) => s === 200), 10_000, "redeployed served again by both workers");
    assert.match(gateway.output(), /gateway:watch redeployed: its kept watch is revived/);
    await consul.deregister("rd-2");
  });
});

describe("cluster mode: stopping drains the workers as a single process drains", () => {
  let consul: ConsulAgent;
  let backend: Backend;
  let gateway: Started | undefined;

  before(async () => {
    consul = await ConsulAgent.start();
    backend = await startBackend("web-1");
    await consul.register(httpCheckedRegistration(backend));
  });

  after(async () => {
    await gateway?.stop();
    await backend?.close();
    await consul?.destroy();
  });

  test("a request in flight for longer than the primary used to wait (5 s) is answered, /ready says 503 meanwhile, and the primary leaves with 0", async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    gateway = startTs(GATEWAY, [], {
      env: { ...process.env, CONSUL_HTTP_ADDR: consul.address, GATEWAY_HOST: "127.0.0.1", GATEWAY_PORT: String(port), GATEWAY_WORKERS: "2", GATEWAY_SERVICES: "service-web", GATEWAY_ADMIN_PORT: "0", GATEWAY_WARMUP_MS: "0", GATEWAY_SHUTDOWN_GRACE_MS: "30000" },
    });
    const admin = (await gateway.waitForOutput(/admin API and dashboard on (http:\/\/127\.0\.0\.1:\d+)\//, 30_000))[1]!;
    await eventually(async () => (await superagent.get(`${admin}/ready`).ok(() => true)).status === 200, 15_000, "the cluster ready");
    const slow = superagent.get(`${url}/service-web/slow?ms=7000`).then((res) => res, (err: unknown) => err as Error);
    // In flight at a worker: the primary's /routes adds up the workers' counters.
    await eventually(async () => ((await superagent.get(`${admin}/routes/service-web`)).body as { instances: { inFlight: number }[] }).instances.some((i) => i.inFlight === 1), 15_000, "the slow request in flight");
    const stopped = gateway.stop(40_000);
    await eventually(async () => (await superagent.get(`${admin}/ready`).ok(() => true)).status === 503, 5_000, "/ready answering 503 while the workers drain");
    const res = await slow;
    assert.ok(!(res instanceof Error), `the slow request was cut: ${res instanceof Error ? res.message : ""}`);
    assert.equal(res.status, 200);
    assert.equal((res.body as { sleptMs: number }).sleptMs, 7000);
    assert.equal(await stopped, 0, "the primary leaves with 0 once its workers have");
    gateway = undefined;
  });
});
