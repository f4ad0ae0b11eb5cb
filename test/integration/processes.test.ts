/**
 * The programs as a user runs them: separate processes, configured by the
 * environment, observed through their output and through Consul.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import superagent from "superagent";
import { ConsulAgent } from "../support/consul.js";
import { freePort } from "../support/ports.js";
import { startTs, type Started } from "../support/processes.js";
import { eventually } from "../support/wait.js";

const GATEWAY = "src/main.ts";
const SERVICE_WEB = "src/service-web/main.ts";

interface HealthRow {
  Service: { ID: string; Port: number };
  Checks: { Status: string; Type: string }[];
}

describe("the gateway and service-web as processes", () => {
  let consul: ConsulAgent;
  const started: Started[] = [];

  before(async () => {
    consul = await ConsulAgent.start();
  });

  after(async () => {
    await Promise.all(started.map((p) => p.stop()));
    await consul?.destroy();
  });

  test("a bad setting stops the start with exit code 2 and a message naming it", async () => {
    const gateway = startTs(GATEWAY, [], { env: { ...process.env, GATEWAY_ADMIN_PORT: "0", GATEWAY_BALANCER: "fastest" } });
    started.push(gateway);
    assert.equal(await gateway.exited, 2);
    assert.match(gateway.output(), /invalid configuration: GATEWAY_BALANCER: expected one of random, round-robin, weighted, least-request, hash, got "fastest"/);
  });

  test("an unknown flag is refused the same way", async () => {
    const gateway = startTs(GATEWAY, ["--prot", "1"], { env: { ...process.env, GATEWAY_ADMIN_PORT: "0" } });
    started.push(gateway);
    assert.equal(await gateway.exited, 2);
    assert.match(gateway.output(), /invalid configuration: --prot: unknown option; accepted: .*--balancer/);
  });

  test("service-web registers itself with an HTTP check, the gateway routes to it with DEBUG change notifications, SIGTERM deregisters it", async () => {
    const webPorts = [await freePort(), await freePort()];
    const webs = webPorts.map((port, i) =>
      startTs(SERVICE_WEB, [], {
        env: { ...process.env, CONSUL_HTTP_ADDR: consul.address, SERVICE_WEB_PORT: String(port), SERVICE_WEB_HOST: "127.0.0.1", SERVICE_WEB_ID: `proc-web-${i + 1}` },
      }),
    );
    started.push(...webs);
    for (const web of webs) await web.waitForOutput(/registered in Consul as service-web/);

    const rows = await eventually(async () => {
      const res = await superagent.get(`${consul.url}/v1/health/service/service-web`);
      const list = res.body as HealthRow[];
      return list.length === 2 && list.every((r) => r.Checks.every((c) => c.Status === "passing")) ? list : undefined;
    }, 10_000, "both instances passing in Consul");
    assert.ok(rows.every((r) => r.Checks.some((c) => c.Type === "http")), "the registration carries an HTTP check");

    const gatewayPort = await freePort();
    const gateway = startTs(GATEWAY, [], {
      env: { ...process.env, DEBUG: "gateway:*", CONSUL_HTTP_ADDR: consul.address, GATEWAY_PORT: String(gatewayPort), GATEWAY_ADMIN_PORT: "0", GATEWAY_HOST: "127.0.0.1", GATEWAY_SERVICES: "service-web" },
    });
    started.push(gateway);
    await gateway.waitForOutput(/gateway:routes change service-web index=\d+ instances=2 /);

    const ids = new Set<string>();
    await eventually(async () => {
      const res = await superagent.get(`http://127.0.0.1:${gatewayPort}/service-web/getRemoteIp`);
      const body = res.body as { ip: string; port: number; id: string };
      assert.match(body.ip, /^\d+\.\d+\.\d+\.\d+$/);
      assert.ok(webPorts.includes(body.port));
      ids.add(body.id);
      return ids.size === 2;
    }, 10_000, "answers from both instances");

    assert.equal(await webs[0]!.stop(), 0);
    await gateway.waitForOutput(/gateway:routes change service-web index=\d+ instances=1 \[\S+\/proc-web-2@127\.0\.0\.1:\d+\]/);
    const left = (await superagent.get(`${consul.url}/v1/health/service/service-web`)).body as HealthRow[];
    assert.deepEqual(left.map((r) => r.Service.ID), ["proc-web-2"]);

    // The gateway leaves on SIGTERM with exit code 0, taking its watcher child with it.
    assert.equal(await gateway.stop(), 0);
  });
});

describe("npm run demo", () => {
  for (const [flags, servers] of [[[], 1], [["--cluster"], 3]] as const) {
    test(`${flags.join(" ") || "(one server)"}: brings up ${servers} Consul server(s), three instances and the gateway, answers the README's curl, and Ctrl-C leaves nothing running`, async () => {
      const [gatewayPort, adminPort, consulPort] = [await freePort(), await freePort(), await freePort()];
      const demo = startTs("scripts/demo.ts", ["--gateway-port", String(gatewayPort), "--admin-port", String(adminPort), "--consul-port", String(consulPort), ...flags]);
      try {
        const ready = await demo.waitForOutput(/demo: ready\. .* pids: consul ([\d ]+), ([\d ]+)\n/, 90_000);
        const consulPids = ready[1]!.trim().split(" ").map(Number);
        assert.equal(consulPids.length, servers);
        const pids = [...consulPids, ...ready[2]!.trim().split(" ").map(Number)];
        assert.equal(pids.length, servers + 4, "consul, three instances, the gateway");

        const ids = new Set<string>();
        await eventually(async () => {
          const res = await superagent.get(`http://localhost:${gatewayPort}/service-web/getRemoteIp`);
          ids.add((res.body as { id: string }).id);
          return ids.size === 3;
        }, 20_000, "answers from all three instances");
        // The dashboard's address the demo prints is the gateway's admin port.
        assert.match(demo.output(), new RegExp(`dashboard http://127\\.0\\.0\\.1:${adminPort}/`));
        assert.equal((await superagent.get(`http://127.0.0.1:${adminPort}/ready`)).status, 200);

        demo.child.kill("SIGINT");
        assert.equal(await demo.exited, 0);
        assert.match(demo.output(), /demo: stopped, nothing left running/);
        for (const pid of pids) assert.throws(() => process.kill(pid, 0), { code: "ESRCH" }, `pid ${pid} still running`);
      } finally {
        await demo.stop();
      }
    });
  }
});
