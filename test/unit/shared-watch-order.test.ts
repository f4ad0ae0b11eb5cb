import { test } from "node:test";
import assert from "node:assert/strict";
import type { CheckEntry, ConsulWatcher, HealthEntry } from "../../src/discovery/consul-adapter.js";
import { SharedServiceWatch } from "../../src/discovery/shared-watch.js";

const check = (service: string, status: string): CheckEntry => ({ Node: "n1", CheckID: `service:${service}-1`, Status: status, ServiceID: `${service}-1`, ServiceName: service });
const entry = (service: string, port: number): HealthEntry => ({
  Node: { Node: "n1", Address: "127.0.0.1" },
  Service: { ID: `${service}-1`, Service: service, Address: "127.0.0.1", Port: port, Tags: [], Meta: {} },
  Checks: [],
});

/** A ConsulWatcher whose check watch and reads the test drives by hand. */
function fakeConsul() {
  const reads: { service: string; resolve: (entries: HealthEntry[]) => void }[] = [];
  let checksChanged: (checks: CheckEntry[], index: string) => void = () => {};
  const consul = {
    watchChecks(onChange: (checks: CheckEntry[], index: string) => void) {
      checksChanged = onChange;
      return { end() {} };
    },
    fetchHealth(service: string) {
      return new Promise<HealthEntry[]>((resolve) => reads.push({ service, resolve }));
    },
  } as unknown as ConsulWatcher;
  return { consul, reads, checks: (checks: CheckEntry[], index: string) => checksChanged(checks, index) };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

test("shared watch: a change during a service's read waits for it; the newer read is applied last", async () => {
  const { consul, reads, checks } = fakeConsul();
  const applied: { port: number; index: string }[] = [];
  const watch = new SharedServiceWatch(consul, { onInstances: (_s, entries, index) => applied.push({ port: entries[0]!.Service.Port, index }), onError: () => {} }, 1_000);
  watch.subscribe("api");
  checks([check("api", "passing")], "10");
  assert.equal(reads.length, 1);
  checks([check("api", "warning")], "11");
  assert.equal(reads.filter((r) => r.service === "api").length, 1, "at most one read of a service in flight");
  reads[0]!.resolve([entry("api", 1)]);
  await tick();
  assert.equal(reads.length, 2, "the change seen during the read is read after it");
  reads[1]!.resolve([entry("api", 2)]);
  await tick();
  assert.deepEqual(applied, [{ port: 1, index: "10" }, { port: 2, index: "11" }]);
  watch.end();
});

test("shared watch: changes during a read coalesce into one read at the newest index", async () => {
  const { consul, reads, checks } = fakeConsul();
  const applied: string[] = [];
  const watch = new SharedServiceWatch(consul, { onInstances: (_s, _e, index) => applied.push(index), onError: () => {} }, 1_000);
  watch.subscribe("api");
  checks([check("api", "passing")], "10");
  checks([check("api", "warning")], "11");
  checks([check("api", "critical")], "12");
  reads[0]!.resolve([entry("api", 1)]);
  await tick();
  // The changes at 11 and 12 coalesce into one read at 12.
  assert.equal(reads.length, 2);
  reads[1]!.resolve([entry("api", 3)]);
  await tick();
  assert.deepEqual(applied, ["10", "12"]);
  watch.end();
});

test("shared watch: a read of an ended subscription is dropped even when the service is subscribed again meanwhile", async () => {
  const { consul, reads, checks } = fakeConsul();
  const applied: number[] = [];
  const watch = new SharedServiceWatch(consul, { onInstances: (_s, entries) => applied.push(entries[0]!.Service.Port), onError: () => {} }, 1_000);
  watch.subscribe("api");
  checks([check("api", "passing")], "10");
  watch.unsubscribe("api");
  watch.subscribe("api");
  checks([check("api", "warning")], "11");
  assert.equal(reads.length, 1, "the new subscription's read waits for the old one");
  reads[0]!.resolve([entry("api", 1)]);
  await tick();
  assert.equal(reads.length, 2);
  reads[1]!.resolve([entry("api", 2)]);
  await tick();
  assert.deepEqual(applied, [2]);
  watch.end();
});
