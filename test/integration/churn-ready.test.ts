/**
 * /ready through a watcher child restart. The child is killed with SIGKILL;
 * while the supervisor re-forks it, the gateway serves from its last route
 * table (fail static), so it must stay ready: a load balancer that polls
 * every replica's /ready would otherwise pull them all out at once.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import superagent from "superagent";
import { ConsulAgent } from "../support/consul.js";
import { startBackend, ttlRegistration, type Backend } from "../support/backends.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";
import { eventually } from "../support/wait.js";

describe("/ready while the watcher child restarts", () => {
  let server: ConsulAgent;
  let client: ConsulAgent;
  let backend: Backend;
  let gateway: TestGateway;

  before(async () => {
    server = await ConsulAgent.start();
    client = await ConsulAgent.startClient(server);
    backend = await startBackend("web-1");
    await client.register(ttlRegistration(backend, "service-web"));
    // A restart backoff long enough that the gap is seen by many polls.
    gateway = await startTestGateway(client.address, { GATEWAY_SERVICES: "service-web", GATEWAY_WATCHER_RESTART_MAX_MS: "3000" });
    await eventually(async () => (await superagent.get(`${gateway.adminUrl}/ready`).ok(() => true)).status === 200, 20_000, "ready");
  });

  after(async () => {
    await gateway?.close();
    await backend?.close();
    await client?.destroy();
    await server?.destroy();
  });

  test("kill -9 of the child: /ready stays 200 and requests are served until a new child runs", async () => {
    const first = gateway.supervisor.childPid!;
    process.kill(first, "SIGKILL");
    const statuses: number[] = [];
    const proxied: number[] = [];
    let sawChildDown = false;
    let details: unknown;
    await eventually(async () => {
      const downBefore = !gateway.supervisor.running;
      const ready = await superagent.get(`${gateway.adminUrl}/ready`).ok(() => true);
      statuses.push(ready.status);
      // Only an answer given while the child was down from before the request to after it must say so:
      // one the new child overtook may rightly say nothing.
      if (downBefore && !gateway.supervisor.running) {
        sawChildDown = true;
        details = ready.body;
      }
      proxied.push((await superagent.get(`${gateway.url}/service-web/getRemoteIp`).ok(() => true)).status);
      return sawChildDown && gateway.supervisor.running && gateway.supervisor.childPid !== first;
    }, 30_000, "a new watcher child");
    assert.ok(sawChildDown, "the polls never saw the child down: the test proved nothing");
    assert.deepEqual([...new Set(statuses)], [200], JSON.stringify(details));
    assert.deepEqual([...new Set(proxied)], [200]);
    // The restart is not hidden: /ready's details say the routes are the last known ones.
    assert.match(JSON.stringify(details), /watcher/);
  });

  test("a draining gateway is unready", async () => {
    const closing = gateway.close();
    const ready = await superagent.get(`${gateway.adminUrl}/ready`).ok(() => true).catch(() => undefined);
    await closing;
    if (ready !== undefined) assert.equal(ready.status, 503);
  });
});
