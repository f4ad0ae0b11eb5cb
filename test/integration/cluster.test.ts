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

/** The workers the primary has started so far, in order, from its `gateway:cluster` log. */
function startedWorkers(gateway: Started): number[] {
  return [...gateway.output().matchAll(/gateway:cluster worker (\d+) started/g)].map((m) => Number(m[1]));
}

describe("cluster mode (GATEWAY_WORKERS=2) against a real Consul", () => {
  let consul: ConsulAgent;
  const backends: Backend[] = [];
  let gateway: Started;
  let url: string;

  before(async () => {
    consul = await ConsulAgent.start();
    const first = await startBackend("web-1");
    backends.push(first);
    await consul.register(httpCheckedRegistration(first));
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    gateway = startTs(GATEWAY, [], {
      env: { ...process.env, DEBUG: "gateway:cluster", CONSUL_HTTP_ADDR: consul.address, GATEWAY_HOST: "127.0.0.1", GATEWAY_PORT: String(port), GATEWAY_WORKERS: "2", GATEWAY_SERVICES: "service-web", GATEWAY_WATCHER_RESTART_MAX_MS: "1000", GATEWAY_ADMIN_PORT: "0", GATEWAY_WARMUP_MS: "0" },
    });
    // No admin server in cluster mode (docs/deployment.md says why): the start line says so.
    await gateway.waitForOutput(/listening on 127\.0\.0\.1:\d+ with 2 workers .*admin API and dashboard off in cluster mode/, 30_000);
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
});
