import { test } from "node:test";
import assert from "node:assert/strict";
import { toInstances } from "../../src/discovery/health-entries.js";
import type { HealthEntry } from "../../src/discovery/consul-adapter.js";

const entry = (
  address: string,
  tags: string[] | null,
  meta: Record<string, string> | null,
  statuses: string[] = ["passing"],
  weights?: { Passing: number; Warning: number },
  id = "web-1",
): HealthEntry => ({
  Node: { Node: "n1", Address: "10.0.0.9" },
  Service: { ID: id, Service: "web", Address: address, Port: 8080, Tags: tags, Meta: meta, ...(weights ? { Weights: weights } : {}) },
  Checks: statuses.map((Status, i) => ({ CheckID: `check-${i}`, Status })),
});

test("the service address is used when set", () => {
  assert.equal(toInstances([entry("10.0.0.1", [], {})])[0]!.address, "10.0.0.1");
});

test("an empty service address falls back to the node's address", () => {
  assert.equal(toInstances([entry("", [], {})])[0]!.address, "10.0.0.9");
});

test("null tags and meta (as Consul sends for none) become empty values; missing Weights are Consul's default 1/1", () => {
  assert.deepEqual(toInstances([entry("10.0.0.1", null, null)])[0], {
    id: "web-1", node: "n1", address: "10.0.0.1", port: 8080, tags: [], meta: {}, health: "passing", weights: { passing: 1, warning: 1 },
  });
});

test("Consul's Weights are carried", () => {
  assert.deepEqual(toInstances([entry("10.0.0.1", [], {}, ["passing"], { Passing: 5, Warning: 2 })])[0]!.weights, { passing: 5, warning: 2 });
});

test("by default only instances whose every check passes are kept", () => {
  const entries = [entry("a", [], {}, ["passing", "passing"], undefined, "ok"), entry("b", [], {}, ["passing", "warning"], undefined, "warn"), entry("c", [], {}, ["critical"], undefined, "down")];
  assert.deepEqual(toInstances(entries).map((i) => i.id), ["ok"]);
});

test("with warning included, the worst check decides: warning kept as such, critical and maintenance dropped", () => {
  const entries = [
    entry("a", [], {}, ["passing"], undefined, "ok"),
    entry("b", [], {}, ["passing", "warning"], undefined, "warn"),
    entry("c", [], {}, ["warning", "critical"], undefined, "down"),
    entry("d", [], {}, ["maintenance"], undefined, "maint"),
    entry("e", [], {}, ["something-new"], undefined, "unknown"),
  ];
  const instances = toInstances(entries, { includeWarning: true });
  assert.deepEqual(instances.map((i) => [i.id, i.health]), [["ok", "passing"], ["warn", "warning"]]);
});

test("a warning instance registered with Weights.Warning 0 is left out: Consul's way of asking for no traffic while warning", () => {
  const entries = [entry("b", [], {}, ["warning"], { Passing: 3, Warning: 0 }, "zero"), entry("b", [], {}, ["passing"], { Passing: 3, Warning: 0 }, "fine")];
  assert.deepEqual(toInstances(entries, { includeWarning: true }).map((i) => i.id), ["fine"]);
});
