import { test } from "node:test";
import assert from "node:assert/strict";
import { LatestWatcherMessages } from "../../src/cluster/latest-watcher-messages.js";
import { parseWorkerMessage } from "../../src/cluster/messages.js";
import { RestartBackoff } from "../../src/discovery/restart-backoff.js";
import type { WatcherMessage } from "../../src/discovery/messages.js";
import { instance } from "../support/instances.js";

const service = (name: string, index: string, ids: string[]): WatcherMessage => ({
  type: "service",
  service: name,
  index,
  instances: ids.map((id) => instance(id)),
});

test("a (re)started worker is replayed the newest catalog first, then the newest list of every service", () => {
  const latest = new LatestWatcherMessages();
  latest.remember(service("web", "5", ["w1"]));
  latest.remember({ type: "catalog", index: "6", services: ["web"], tags: { web: [] } });
  latest.remember(service("api", "7", ["a1"]));
  latest.remember(service("web", "8", ["w1", "w2"]));
  latest.remember({ type: "catalog", index: "9", services: ["api", "web"], tags: { api: [], web: [] } });
  latest.remember({ type: "watch-error", service: "web", message: "Consul away" });
  assert.deepEqual(
    latest.replay().map((m) => (m.type === "service" ? `${m.service}@${m.index}` : `${m.type}@${"index" in m ? m.index : ""}`)),
    ["catalog@9", "web@8", "api@7"],
  );
});

test("nothing to replay before the watcher said anything", () => {
  assert.deepEqual(new LatestWatcherMessages().replay(), []);
});

test("worker messages: ready and subscribe pass, anything else is refused", () => {
  assert.deepEqual(parseWorkerMessage({ type: "ready" }), { type: "ready" });
  assert.deepEqual(parseWorkerMessage({ type: "subscribe", service: "web" }), { type: "subscribe", service: "web" });
  assert.throws(() => parseWorkerMessage({ type: "subscribe", service: "../etc" }), /not a valid service name/);
  assert.throws(() => parseWorkerMessage({ type: "service", service: "web" }), /unknown command type/);
  assert.throws(() => parseWorkerMessage("ready"), /not an object/);
});

test("restart backoff: 100 ms doubling up to the ceiling, from the bottom again after a stable run", () => {
  let now = 0;
  const backoff = new RestartBackoff(1_000, () => now);
  assert.deepEqual([0, 0, 0, 0, 0, 0].map((startedAt) => backoff.next(startedAt)), [100, 200, 400, 800, 1_000, 1_000]);
  now = 20_000;
  assert.equal(backoff.next(5_000), 100, "a process that lived 15 s was healthy");
  assert.equal(backoff.next(19_000), 200);
});
