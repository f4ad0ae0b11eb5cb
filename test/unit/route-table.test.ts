import { test } from "node:test";
import assert from "node:assert/strict";
import { RouteTable } from "../../src/routing/route-table.js";
import { RouteStore } from "../../src/routing/route-store.js";
import type { Instance } from "../../src/discovery/instance.js";
import { instance } from "../support/instances.js";

const a = instance("a", { address: "10.0.0.1", port: 80 });
const b = instance("b", { address: "10.0.0.2", port: 80, tags: ["v2"], meta: { zone: "x" } });

test("withService returns a new table and leaves the old one as it was", () => {
  const t1 = RouteTable.EMPTY.withService("web", [a], "5");
  const t2 = t1.withService("web", [a, b], "6");
  assert.deepEqual(t1.get("web")!.instances.map((i) => i.id), ["a"]);
  assert.deepEqual(t2.get("web")!.instances.map((i) => i.id), ["a", "b"]);
  assert.equal(t2.get("web")!.index, "6");
  assert.equal(RouteTable.EMPTY.get("web"), undefined);
});

test("a table and its instance lists are frozen", () => {
  const t = RouteTable.EMPTY.withService("web", [a], "1");
  assert.ok(Object.isFrozen(t));
  assert.ok(Object.isFrozen(t.get("web")!.instances));
  assert.throws(() => (t.get("web")!.instances as Instance[]).push(b));
});

test("updating one service shares the other services' entries (no rebuild)", () => {
  const t1 = RouteTable.EMPTY.withService("web", [a], "1").withService("api", [b], "2");
  const t2 = t1.withService("web", [b], "3");
  assert.equal(t2.get("api"), t1.get("api"));
  assert.notEqual(t2.get("web"), t1.get("web"));
});

test("the catalog is carried over by service updates and replaced by catalog updates", () => {
  const t1 = RouteTable.EMPTY.withCatalog(["web", "api"], "9");
  const t2 = t1.withService("web", [a], "10");
  assert.equal(t2.catalog, t1.catalog);
  assert.ok(t2.catalog!.services.has("api"));
  const t3 = t2.withCatalog(["web"], "11");
  assert.ok(!t3.catalog!.services.has("api"));
  assert.equal(t3.get("web"), t2.get("web"));
});

test("the catalog keeps each service's tags, where prefix routes are read from", () => {
  const t = RouteTable.EMPTY.withCatalog(["web", "api"], "3", { web: ["urlprefix-/w", "v2"], api: [] });
  assert.deepEqual(t.catalog!.tags.get("web"), ["urlprefix-/w", "v2"]);
  assert.deepEqual(t.catalog!.tags.get("api"), []);
  assert.ok(Object.isFrozen(t.catalog!.tags.get("web")));
});

test("toJSON prints each service's index, time and instances, sorted by name", () => {
  const t = RouteTable.EMPTY.withService("web", [a], "7", Date.UTC(2026, 0, 1)).withService("api", [b], "8", Date.UTC(2026, 0, 2));
  const json = t.toJSON();
  assert.deepEqual(Object.keys(json), ["api", "web"]);
  assert.equal(json.web!.index, "7");
  assert.equal(json.web!.updatedAt, "2026-01-01T00:00:00.000Z");
});

test("RouteStore.waitFor resolves on the swap that satisfies it, and undefined after the timeout", async () => {
  const store = new RouteStore();
  const waiting = store.waitFor((t) => t.get("web") !== undefined, 5_000);
  store.swap(store.current.withService("api", [a], "1"));
  store.swap(store.current.withService("web", [b], "2"));
  const table = await waiting;
  assert.equal(table?.get("web")?.instances[0]?.id, "b");
  assert.equal(await store.waitFor((t) => t.get("nothing") !== undefined, 20), undefined);
});
