/**
 * The gateway as a process with its access log on stdout, and the CLI view
 * (`koa-consul-gateway routes`) reading its admin API, as a user runs them.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import superagent from "superagent";
import { ConsulAgent } from "../support/consul.js";
import { httpCheckedRegistration as registration, startBackend, type Backend } from "../support/backends.js";
import { freePort } from "../support/ports.js";
import { startTs, type Started } from "../support/processes.js";
import { eventually } from "../support/wait.js";

const MAIN = "src/main.ts";

describe("the gateway process's access log and the routes CLI", () => {
  let consul: ConsulAgent;
  const backends: Backend[] = [];
  const started: Started[] = [];
  let gateway: Started;
  let gatewayUrl: string;
  let adminUrl: string;

  /** Runs `koa-consul-gateway routes ...` and resolves with its exit code and output. */
  async function routes(args: readonly string[], env: Record<string, string> = {}): Promise<{ code: unknown; output: string }> {
    const cli = startTs(MAIN, ["routes", ...args], { env: { ...process.env, ...env } });
    started.push(cli);
    const code = await cli.exited;
    return { code, output: cli.output() };
  }

  before(async () => {
    consul = await ConsulAgent.start();
    for (const id of ["web-1", "web-2"]) {
      const backend = await startBackend(id);
      backends.push(backend);
      await consul.register({ ...registration(backend), Tags: ["blue"] });
    }
    const [port, adminPort] = [await freePort(), await freePort()];
    gatewayUrl = `http://127.0.0.1:${port}`;
    adminUrl = `http://127.0.0.1:${adminPort}`;
    gateway = startTs(MAIN, [], {
      env: {
        ...process.env,
        CONSUL_HTTP_ADDR: consul.address,
        GATEWAY_HOST: "127.0.0.1",
        GATEWAY_PORT: String(port),
        GATEWAY_ADMIN_PORT: String(adminPort),
        GATEWAY_SERVICES: "service-web",
        GATEWAY_ACCESS_LOG: "stdout",
        // Both rows must show requests: in turn, not at random (5 random picks all went to web-2 once).
        GATEWAY_BALANCER: "round-robin",
      },
    });
    started.push(gateway);
    await gateway.waitForOutput(/listening on/);
    await eventually(async () => (await superagent.get(`${adminUrl}/ready`).ok(() => true)).status === 200, 10_000, "the gateway ready");
  });

  after(async () => {
    await Promise.all(started.map((p) => p.stop()));
    await Promise.all(backends.map((b) => b.close()));
    await consul?.destroy();
  });

  test("GATEWAY_ACCESS_LOG=stdout prints one JSON line per request", async () => {
    await superagent.get(`${gatewayUrl}/service-web/getRemoteIp`).set("X-Request-Id", "cli-test-1");
    const [line] = await gateway.waitForOutput(/^\{.*"requestId":"cli-test-1".*\}$/m);
    const entry = JSON.parse(line) as Record<string, unknown>;
    assert.equal(entry.service, "service-web");
    assert.equal(entry.status, 200);
    assert.equal(entry.path, "/service-web/getRemoteIp");
  });

  test("an admin port in use stops a second gateway with exit code 1 and one line naming the address", async () => {
    const second = startTs(MAIN, [], {
      env: { ...process.env, CONSUL_HTTP_ADDR: consul.address, GATEWAY_HOST: "127.0.0.1", GATEWAY_PORT: "0", GATEWAY_ADMIN_PORT: new URL(adminUrl).port },
    });
    started.push(second);
    assert.equal(await second.exited, 1);
    assert.match(second.output(), new RegExp(`^koa-consul-gateway: cannot start: listen EADDRINUSE: address already in use 127\\.0\\.0\\.1:${new URL(adminUrl).port}\n$`));
  });

  test("`routes` prints the route table as an aligned table with a summary", async () => {
    for (let i = 0; i < 4; i++) await superagent.get(`${gatewayUrl}/service-web/getRemoteIp`);
    const { code, output } = await routes(["--admin", adminUrl]);
    assert.equal(code, 0, output);
    const lines = output.trimEnd().split("\n");
    assert.match(lines[0]!, /^SERVICE\s+INSTANCE\s+ADDRESS\s+TAGS\s+IN-FLIGHT\s+REQUESTS\s+ERRORS\s+ERROR RATE\s+INDEX\s+CHANGED$/);
    const rows = lines.filter((l) => l.startsWith("service-web "));
    assert.equal(rows.length, 2);
    for (const [i, row] of rows.entries()) {
      assert.match(row, new RegExp(`^service-web\\s+${consul.node}/web-${i + 1}\\s+127\\.0\\.0\\.1:${backends[i]!.port}\\s+blue\\s+0\\s+\\d+\\s+0\\s+0\\.0%\\s+\\d+\\s+\\d+s ago$`));
    }
    // Columns line up: every row's INSTANCE starts where the header's does.
    const column = lines[0]!.indexOf("INSTANCE");
    for (const row of rows) assert.equal(row.indexOf(`${consul.node}/web-`), column);
    assert.match(lines.at(-1)!, /^1 service, 2 healthy instances; catalog index \d+ \(\d+ services in the registry\)$/);
  });

  test("`routes <service>` shows one service; the admin address comes from GATEWAY_ADMIN_PORT when not given", async () => {
    const { code, output } = await routes(["service-web"], { GATEWAY_ADMIN_PORT: new URL(adminUrl).port });
    assert.equal(code, 0, output);
    assert.equal(output.split("\n").filter((l) => l.startsWith("service-web ")).length, 2);
  });

  test("`routes` says what went wrong: an unknown service, an admin API that is not there", async () => {
    const unknown = await routes(["nothing-here", "--admin", adminUrl]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.output, /the route table has no entry for this service/);

    const nowhere = `http://127.0.0.1:${await freePort()}`;
    const down = await routes(["--admin", nowhere]);
    assert.equal(down.code, 1);
    assert.match(down.output, new RegExp(`cannot reach the admin API at ${nowhere.replace(/\./g, "\\.")} \\(ECONNREFUSED\\)`));
  });
});
