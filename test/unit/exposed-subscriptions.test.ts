import { test } from "node:test";
import assert from "node:assert/strict";
import { ExposedSubscriptions } from "../../src/routing/exposed-subscriptions.js";
import { RouteTable } from "../../src/routing/route-table.js";

function recorder() {
  const calls: string[] = [];
  return { calls, feed: { subscribe: (s: string) => calls.push(`+${s}`), unsubscribe: (s: string) => calls.push(`-${s}`) } };
}

test("nothing is watched before the first catalog; then the configured services unless hidden", () => {
  const { calls, feed } = recorder();
  const subscriptions = new ExposedSubscriptions(feed, ["web", "vault", "later"]);
  subscriptions.reconcile(RouteTable.EMPTY, new Set());
  assert.deepEqual(calls, []);
  subscriptions.reconcile(RouteTable.EMPTY.withCatalog(["web"], "1"), new Set(["vault"]));
  assert.deepEqual(calls, ["-vault", "+web", "+later"]);
});

test("a hidden service's watch is dropped once, and taken again when it is exposed again", () => {
  const { calls, feed } = recorder();
  const subscriptions = new ExposedSubscriptions(feed, ["vault"]);
  const table = RouteTable.EMPTY.withCatalog([], "1");
  subscriptions.reconcile(table, new Set(["vault", "other"]));
  subscriptions.reconcile(table, new Set(["vault", "other"]));
  assert.deepEqual(calls, ["-vault", "-other"]);
  subscriptions.reconcile(table, new Set());
  assert.deepEqual(calls.slice(2), ["+vault"]);
  subscriptions.reconcile(table, new Set(["vault"]));
  assert.deepEqual(calls.slice(3), ["-vault"]);
});
