import { test } from "node:test";
import assert from "node:assert/strict";
import { toInstances } from "../../src/discovery/health-entries.js";
import type { HealthEntry } from "../../src/discovery/consul-adapter.js";

const entry = (address: string, tags: string[] | null, meta: Record<string, string> | null): HealthEntry => ({
  Node: { Node: "n1", Address: "10.0.0.9" },
  Service: { ID: "web-1", Service: "web", Address: address, Port: 8080, Tags: tags, Meta: meta },
  Checks: [{ CheckID: "serfHealth", Status: "passing" }],
});

test("the service address is used when set", () => {
  assert.equal(toInstances([entry("10.0.0.1", [], {})])[0]!.address, "10.0.0.1");
});

test("an empty service address falls back to the node's address", () => {
  assert.equal(toInstances([entry("", [], {})])[0]!.address, "10.0.0.9");
});

test("null tags and meta (as Consul sends for none) become empty values", () => {
  assert.deepEqual(toInstances([entry("10.0.0.1", null, null)])[0], { id: "web-1", address: "10.0.0.1", port: 8080, tags: [], meta: {} });
});
