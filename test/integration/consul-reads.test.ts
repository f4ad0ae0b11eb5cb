/** The watch's read modes against a real agent: agent-cached and stale reads still follow changes. */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { ConsulAgent } from "../support/consul.js";
import { captureDebug } from "../support/gateway.js";
import { eventually } from "../support/wait.js";
import { ConsulWatcher, type HealthEntry } from "../../src/discovery/consul-adapter.js";
import { parseConsulAddress } from "../../src/config.js";

let consul: ConsulAgent;
before(async () => {
  consul = await ConsulAgent.start();
  await consul.register({ ID: "web-1", Name: "service-web", Address: "127.0.0.1", Port: 1001, Check: { TTL: "1h", Status: "passing" } });
});
after(async () => {
  await consul?.destroy();
});

for (const cached of [true, false]) {
  test(`a ${cached ? "cached, stale" : "default"} watch ${cached ? "goes through the agent cache (X-Cache) and" : "does not use the cache and"} follows registrations`, async () => {
    const log = captureDebug("gateway:consul");
    const watcher = new ConsulWatcher({
      addresses: [parseConsulAddress(consul.address)],
      token: undefined,
      waitMs: 2_000,
      backoffMaxMs: 1_000,
      consistency: cached ? "stale" : "default",
      cached,
      includeWarning: false,
    });
    let latest: HealthEntry[] = [];
    const watch = watcher.watchHealth("service-web", (entries) => (latest = entries), () => {});
    try {
      await eventually(() => latest.length === 1, 10_000, "first answer");
      const id = `web-${cached ? "c" : "d"}`;
      await consul.register({ ID: id, Name: "service-web", Address: "127.0.0.1", Port: 1002, Check: { TTL: "1h", Status: "passing" } });
      await eventually(() => latest.some((e) => e.Service.ID === id), 10_000, "the new registration");
      const answers = log.lines.filter((line) => line.includes("health watch"));
      assert.ok(answers.length >= 2);
      if (cached) assert.ok(answers.every((line) => /x-cache=(HIT|MISS)/.test(line)), answers.join("\n"));
      else assert.ok(answers.every((line) => line.includes("x-cache=-")), answers.join("\n"));
      await consul.deregister(id);
    } finally {
      watch.end();
      watcher.close();
      log.restore();
    }
  });
}
