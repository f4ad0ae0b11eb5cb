import { test } from "node:test";
import assert from "node:assert/strict";
import { Subscriptions } from "../../src/routing/subscriptions.js";

function setup(idleMs = 1000, pinned: string[] = []) {
  let now = 0;
  const subscribed: string[] = [];
  const released: string[][] = [];
  const subs = new Subscriptions({ idleMs, pinned, now: () => now }, (s) => subscribed.push(s), (s) => released.push([...s]));
  return { subs, subscribed, released, advance: (ms: number) => (now += ms) };
}

test("the first use subscribes, later uses only keep the service from going idle", () => {
  const { subs, subscribed } = setup();
  subs.use("web");
  subs.use("web");
  assert.deepEqual(subscribed, ["web"]);
  assert.equal(subs.size, 1);
});

test("a service unused for longer than the idle time is released; a used one and a pinned one stay", () => {
  const { subs, released, advance } = setup(1000, ["pinned"]);
  subs.use("pinned");
  subs.use("idle");
  subs.use("busy");
  advance(600);
  subs.use("busy");
  advance(600);
  subs.sweep();
  assert.deepEqual(released, [["idle"]]);
  assert.ok(subs.has("busy") && subs.has("pinned") && !subs.has("idle"));
});

test("a released service is subscribed again on its next use", () => {
  const { subs, subscribed, advance } = setup();
  subs.use("web");
  advance(2000);
  subs.sweep();
  subs.use("web");
  assert.deepEqual(subscribed, ["web", "web"]);
});

test("services the catalog no longer names are released at once, pinned ones stay", () => {
  const { subs, released } = setup(1000, ["pinned"]);
  for (const s of ["pinned", "a", "b"]) subs.use(s);
  subs.catalogChanged(new Set(["a"]));
  assert.deepEqual(released, [["b"]]);
});

test("idle time 0 never releases for idleness", () => {
  const { subs, released, advance } = setup(0);
  subs.use("web");
  advance(10_000_000);
  subs.sweep();
  assert.deepEqual(released, []);
});
