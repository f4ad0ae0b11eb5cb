import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadSnapshot, SnapshotWriter } from "../../src/routing/table-snapshot.js";
import { RouteTable } from "../../src/routing/route-table.js";

const table = RouteTable.EMPTY.withCatalog(["web", "api"], "7", { web: ["urlprefix-/w"] }).withService("web", [{ id: "w1", address: "10.0.0.1", port: 80, tags: ["v1"], meta: { a: "b" }, health: "passing", weights: { passing: 1, warning: 1 } }], "6");

function folder(): string {
  return mkdtempSync(join(tmpdir(), "kcg-snapshot-"));
}

test("a saved table loads back as the same catalog and services", async () => {
  const dir = folder();
  const file = join(dir, "routes.json");
  const writer = new SnapshotWriter(file, 10);
  writer.schedule(table);
  await writer.flush();
  assert.deepEqual(readdirSync(dir), ["routes.json"], "no temporary file left behind");
  const warnings: string[] = [];
  const messages = await loadSnapshot(file, (m) => warnings.push(m));
  assert.deepEqual(warnings, []);
  assert.deepEqual(messages, [
    { type: "catalog", index: "7", services: ["api", "web"], tags: { web: ["urlprefix-/w"] } },
    { type: "service", service: "web", index: "6", instances: [{ id: "w1", address: "10.0.0.1", port: 80, tags: ["v1"], meta: { a: "b" }, health: "passing", weights: { passing: 1, warning: 1 } }] },
  ]);
});

test("only the latest table of a burst is written", async () => {
  const file = join(folder(), "routes.json");
  const writer = new SnapshotWriter(file, 10);
  writer.schedule(RouteTable.EMPTY.withService("old", [], "1"));
  writer.schedule(table);
  await writer.flush();
  assert.deepEqual(Object.keys(JSON.parse(readFileSync(file, "utf8")).services), ["web"]);
});

test("a missing snapshot is normal: nothing loaded, nothing reported", async () => {
  const warnings: string[] = [];
  assert.deepEqual(await loadSnapshot(join(folder(), "none.json"), (m) => warnings.push(m)), []);
  assert.deepEqual(warnings, []);
});

const corrupt: [string, string, RegExp][] = [
  ["not JSON", "{ half", /corrupt/],
  ["an unknown version", JSON.stringify({ version: 99, services: {} }), /unknown format version 99/],
  ["an instance that fails validation", JSON.stringify({ version: 1, savedAt: "", catalog: null, services: { web: { index: "1", instances: [{ id: "x", address: "evil.com/x", port: 1, tags: [], meta: {} }] } } }), /address/],
];

for (const [name, content, pattern] of corrupt) {
  test(`a snapshot with ${name} is reported and ignored`, async () => {
    const file = join(folder(), "routes.json");
    writeFileSync(file, content);
    const warnings: string[] = [];
    assert.deepEqual(await loadSnapshot(file, (m) => warnings.push(m)), []);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, pattern);
  });
}

test("an unreadable snapshot (here a folder in its place, EISDIR even for root) is reported and ignored", async () => {
  const warnings: string[] = [];
  assert.deepEqual(await loadSnapshot(folder(), (m) => warnings.push(m)), []);
  assert.match(warnings[0]!, /could not be read/);
});
