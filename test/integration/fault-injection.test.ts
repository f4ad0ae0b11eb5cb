/**
 * Fault injection under steady load, against real processes: a Consul agent,
 * three self-registering service-web instances and the gateway. Each scenario
 * reports requests sent, failed, and the longest stretch without a success;
 * the targets of the resilience issue are asserted. With RESILIENCE_REPORT set
 * (npm run resilience) the figures are written to that file as Markdown.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir, cpus } from "node:os";
import { join } from "node:path";
import superagent from "superagent";
import { execFileSync } from "node:child_process";
import { ConsulAgent, consulBinary } from "../support/consul.js";
import { freePort } from "../support/ports.js";
import { startTs, type Started } from "../support/processes.js";
import { SteadyLoad, type LoadReport } from "../support/load.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";
import { eventually, sleep } from "../support/wait.js";

interface Row {
  scenario: string;
  load: string;
  report: LoadReport;
  target: string;
}

const rows: Row[] = [];
const IDS = ["sw-1", "sw-2", "sw-3"] as const;

describe("fault injection under steady load", () => {
  let consul: ConsulAgent;
  const instances = new Map<string, Started>();
  const ports = new Map<string, number>();
  let gateway: Started;
  let gatewayPort = 0;
  let snapshotFile = "";
  const extra: Started[] = [];

  const url = (path = "/service-web/getRemoteIp") => `http://127.0.0.1:${gatewayPort}${path}`;

  async function startInstance(id: string): Promise<void> {
    const instance = startTs("src/service-web/main.ts", [], {
      env: { ...process.env, CONSUL_HTTP_ADDR: consul.address, SERVICE_WEB_ID: id, SERVICE_WEB_PORT: String(ports.get(id)), SERVICE_WEB_HOST: "127.0.0.1", SERVICE_WEB_CHECK_INTERVAL: "1s" },
    });
    instances.set(id, instance);
    await instance.waitForOutput(/registered in Consul/);
  }

  function startGatewayProcess(port: number): Started {
    return startTs("src/main.ts", [], {
      env: {
        ...process.env,
        CONSUL_HTTP_ADDR: consul.address,
        GATEWAY_HOST: "127.0.0.1",
        GATEWAY_PORT: String(port),
        GATEWAY_ADMIN_PORT: "0",
        GATEWAY_SERVICES: "service-web",
        GATEWAY_SNAPSHOT_FILE: snapshotFile,
        GATEWAY_WATCHER_RESTART_MAX_MS: "1000",
        GATEWAY_DISCOVERY_TIMEOUT_MS: "1000",
      },
    });
  }

  /** All three instances running, passing, and answering through the gateway. */
  async function allThreeServing(): Promise<void> {
    for (const id of IDS) {
      const instance = instances.get(id);
      if (instance === undefined || instance.child.exitCode !== null || instance.child.signalCode !== null) await startInstance(id);
    }
    const seen = new Set<string>();
    await eventually(async () => {
      const res = await superagent.get(url()).ok(() => true);
      if (res.status === 200) seen.add((res.body as { id: string }).id);
      return seen.size === 3;
    }, 30_000, "all three instances answering through the gateway");
  }

  async function underLoad(scenario: string, target: string, action: () => Promise<void>, options: { posts?: boolean } = {}): Promise<{ get: LoadReport; post?: LoadReport }> {
    await allThreeServing();
    const get = new SteadyLoad(url(), { concurrency: 4 });
    const post = options.posts ? new SteadyLoad(url("/service-web/echo/load"), { concurrency: 2, method: "POST", body: Buffer.alloc(16 * 1024, 1) }) : undefined;
    await sleep(1_000);
    await action();
    await sleep(2_000);
    const getReport = await get.stop();
    rows.push({ scenario, load: "GET ×4", report: getReport, target });
    const postReport = await post?.stop();
    if (postReport) rows.push({ scenario, load: "POST ×2 (16 KiB)", report: postReport, target: "≤ requests in flight to the killed instance (2)" });
    return postReport ? { get: getReport, post: postReport } : { get: getReport };
  }

  before(async () => {
    consul = await ConsulAgent.start();
    snapshotFile = join(mkdtempSync(join(tmpdir(), "kcg-fault-")), "routes.json");
    for (const id of IDS) ports.set(id, await freePort());
    for (const id of IDS) await startInstance(id);
    gatewayPort = await freePort();
    gateway = startGatewayProcess(gatewayPort);
    await gateway.waitForOutput(/listening on/);
  });

  after(async () => {
    await gateway?.stop();
    await Promise.all([...instances.values(), ...extra].map((p) => p.stop()));
    await consul?.destroy();
    const table = [
      "| Scenario | Load | Sent | Failed | Longest gap | Target |",
      "|---|---|---:|---:|---:|---|",
      ...rows.map((r) => `| ${r.scenario} | ${r.load} | ${r.report.sent} | ${r.report.failed} | ${r.report.longestGapMs} ms | ${r.target} |`),
    ].join("\n");
    console.log(`\n${table}\n`);
    for (const r of rows) if (r.report.samples.length) console.log(`${r.scenario} (${r.load}) failures, first few: ${r.report.samples.join("; ")}`);
    const reportFile = process.env.RESILIENCE_REPORT;
    if (reportFile) {
      const document = readFileSync(reportFile, "utf8");
      const consulVersion = execFileSync(consulBinary(), ["version"], { encoding: "utf8" }).split("\n")[0];
      const stamp = `Measured ${new Date().toISOString().slice(0, 10)} on ${cpus().length} × ${cpus()[0]?.model.trim()}, Node ${process.version}, ${consulVersion}.`;
      writeFileSync(reportFile, document.replace(/<!-- figures -->[\s\S]*<!-- \/figures -->/, `<!-- figures -->\n${stamp}\n\n${table}\n<!-- /figures -->`));
    }
  });

  test("(a) kill -9 one of three instances: no GET fails; at most the POSTs in flight to it fail", async () => {
    const { get, post } = await underLoad("(a) kill -9 one instance", "0 failed GETs", async () => {
      instances.get("sw-1")!.child.kill("SIGKILL");
      await instances.get("sw-1")!.exited;
    }, { posts: true });
    assert.equal(get.failed, 0, get.samples.join("; "));
    assert.ok(post!.failed <= 2, `${post!.failed} POSTs failed: ${post!.samples.join("; ")}`);
  });

  test("(b) a clean deploy (the instance deregisters, then stops): no request fails", async () => {
    const { get } = await underLoad("(b) deregister, then stop", "0 failed GETs", async () => {
      assert.equal(await instances.get("sw-2")!.stop(), 0);
    });
    assert.equal(get.failed, 0, get.samples.join("; "));
  });

  test("(c) a rolling restart of all three instances: no request fails", async () => {
    const { get } = await underLoad("(c) rolling restart of all three", "0 failed GETs", async () => {
      for (const id of IDS) {
        await instances.get(id)!.stop();
        await startInstance(id);
        // The next one goes down only once this one passes its check again.
        await eventually(async () => {
          const res = await superagent.get(`${consul.url}/v1/health/checks/service-web`);
          return (res.body as { ServiceID: string; Status: string }[]).some((c) => c.ServiceID === id && c.Status === "passing");
        }, 15_000, `${id} passing again`);
      }
    });
    assert.equal(get.failed, 0, get.samples.join("; "));
  });

  test("(e) kill the watcher child: no request fails, and the child comes back", async () => {
    const childPids = () => readFileSync(`/proc/${gateway.child.pid}/task/${gateway.child.pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
    const [watcher] = childPids();
    assert.ok(watcher, "the gateway has a watcher child");
    const { get } = await underLoad("(e) kill -9 the watcher child", "0 failed GETs", async () => {
      process.kill(watcher, "SIGKILL");
      await eventually(() => childPids().some((pid) => pid !== watcher), 10_000, "a new watcher child");
    });
    assert.equal(get.failed, 0, get.samples.join("; "));
  });

  test("(g) restart one of two gateways behind a front gateway: no request fails", async () => {
    const secondPort = await freePort();
    const second = startGatewayProcess(secondPort);
    extra.push(second);
    await second.waitForOutput(/listening on/);
    const check = { TTL: "1h", Status: "passing" };
    await consul.register({ ID: "gw-1", Name: "gateway-tier", Address: "127.0.0.1", Port: gatewayPort, Check: check });
    await consul.register({ ID: "gw-2", Name: "gateway-tier", Address: "127.0.0.1", Port: secondPort, Check: check });
    const front: TestGateway = await startTestGateway(consul.address, { GATEWAY_SERVICES: "gateway-tier", GATEWAY_BALANCER: "round-robin" });
    try {
      await allThreeServing();
      const load = new SteadyLoad(`${front.url}/gateway-tier/service-web/getRemoteIp`, { concurrency: 4 });
      await sleep(1_000);
      // SIGTERM: the gateway drains (no new connections, requests in flight finish), then restarts on its port.
      assert.equal(await second.stop(), 0);
      const restarted = startGatewayProcess(secondPort);
      extra.push(restarted);
      await restarted.waitForOutput(/listening on/);
      await sleep(2_000);
      const report = await load.stop();
      rows.push({ scenario: "(g) restart one of two gateways behind a front gateway", load: "GET ×4", report, target: "0 failed GETs" });
      assert.equal(report.failed, 0, report.samples.join("; "));
    } finally {
      await front.close();
      await consul.deregister("gw-1");
      await consul.deregister("gw-2");
    }
  });

  test("(d) restart Consul: no request fails (the gateway keeps its last known routes)", async () => {
    const { get } = await underLoad("(d) restart Consul", "0 failed GETs", async () => {
      await consul.restart();
    });
    assert.equal(get.failed, 0, get.samples.join("; "));
  });

  test("(f) restart the gateway while Consul is down: it routes from its snapshot", async () => {
    await allThreeServing();
    const load = new SteadyLoad(url(), { concurrency: 4 });
    await sleep(1_000);
    await consul.stop();
    assert.equal(await gateway.stop(), 0);
    gateway = startGatewayProcess(gatewayPort);
    await gateway.waitForOutput(/listening on/);
    // Consul is still down: every answer now comes from the snapshot's routes.
    const res = await superagent.get(url());
    assert.match((res.body as { id: string }).id, /^sw-\d$/);
    await sleep(2_000);
    const report = await load.stop();
    rows.push({ scenario: "(f) restart the gateway, Consul down", load: "GET ×4", report, target: "reported (one gateway: down while it restarts)" });
    await consul.boot();
  });
});
