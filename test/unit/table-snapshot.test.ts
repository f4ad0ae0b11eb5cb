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

test("instances keep their node across a save and load; a snapshot written before nodes were kept still loads", async () => {
  const file = join(folder(), "routes.json");
  const writer = new SnapshotWriter(file, 10);
  const dup = (node: string, port: number) => ({ id: "dup", node, address: "10.0.0.1", port, tags: [], meta: {}, health: "passing" as const, weights: { passing: 1, warning: 1 } });
  writer.schedule(RouteTable.EMPTY.withCatalog(["web"], "7").withService("web", [dup("n1", 80), dup("n2", 81)], "6"));
  await writer.flush();
  const loaded = await loadSnapshot(file, () => {});
  const service = loaded.find((m) => m.type === "service");
  assert.deepEqual(service?.type === "service" && service.instances.map((i) => [i.node, i.id]), [["n1", "dup"], ["n2", "dup"]]);

  // The older form: no node field.
  const older = JSON.parse(readFileSync(file, "utf8")) as { services: Record<string, { instances: Record<string, unknown>[] }> };
  for (const i of older.services.web!.instances) delete i.node;
  writeFileSync(file, JSON.stringify(older));
  const warnings: string[] = [];
  const again = await loadSnapshot(file, (m) => warnings.push(m));
  assert.deepEqual(warnings, []);
  const web = again.find((m) => m.type === "service");
  assert.deepEqual(web?.type === "service" && web.instances.map((i) => [i.node, i.id, i.port]), [[undefined, "dup", 80], [undefined, "dup", 81]]);
});
