import { test } from "node:test";
import assert from "node:assert/strict";
import { Subscriptions } from "../../src/routing/subscriptions.js";
import { KEEP_RELEASED_WATCH_MS, MAX_KEPT_WATCHES } from "../../src/discovery/service-watches.js";

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

test("configured services are watched from the first catalog on, unless the exposure policy hides them", () => {
  const { subs, subscribed, released } = setup(1000, ["web", "vault", "later"]);
  assert.deepEqual(subscribed, []);
  subs.catalogChanged(new Set(["web"]), new Set(["vault"]));
  // "later" is not registered yet: watched, so that its first instance is routed at once.
  assert.deepEqual(subscribed, ["web", "later"]);
  // The hidden configured one is released once, for a primary that may have watched it.
  assert.deepEqual(released, [["vault"]]);
});

test("a hidden service's watch is released once, and taken again when it is exposed again", () => {
  const { subs, subscribed, released } = setup(1000, ["vault"]);
  subs.use("other");
  subs.catalogChanged(new Set(), new Set(["vault", "other"]));
  subs.catalogChanged(new Set(), new Set(["vault", "other"]));
  assert.deepEqual(released, [["other", "vault"]]);
  subs.catalogChanged(new Set(), new Set());
  assert.deepEqual(subscribed, ["other", "vault"]);
  subs.catalogChanged(new Set(), new Set(["vault"]));
  assert.deepEqual(released.slice(1), [["vault"]]);
  assert.ok(!subs.has("vault") && !subs.has("other"));
});

test("a service that left the catalog is subscribed again by the catalog that names it within the kept time", () => {
  const { subs, subscribed, released, advance } = setup(0);
  subs.use("web");
  subs.catalogChanged(new Set());
  assert.deepEqual(released, [["web"]]);
  advance(KEEP_RELEASED_WATCH_MS - 1);
  subs.catalogChanged(new Set(["web"]));
  assert.deepEqual(subscribed, ["web", "web"]);
  assert.ok(subs.has("web"));
});

test("a departed service is not subscribed again once hidden, after the kept time, or when released for idleness", () => {
  const { subs, subscribed, advance } = setup(1000);
  for (const s of ["late", "hidden", "idle"]) subs.use(s);
  subs.catalogChanged(new Set(["idle"]));
  subs.catalogChanged(new Set(["idle"]), new Set(["hidden"]));
  advance(2000);
  subs.sweep();
  assert.ok(!subs.has("idle"));
  subs.catalogChanged(new Set(["idle"]));
  advance(KEEP_RELEASED_WATCH_MS);
  subs.catalogChanged(new Set(["late", "idle"]));
  assert.deepEqual(subscribed, ["late", "hidden", "idle"]);
});

test("only the newest departures, as many as the watcher keeps, are subscribed again", () => {
  const { subs, subscribed, advance } = setup(0);
  const names = Array.from({ length: MAX_KEPT_WATCHES + 2 }, (_, i) => `s${i}`);
  for (const name of names) subs.use(name);
  names.forEach((_, i) => {
    advance(1);
    subs.catalogChanged(new Set(names.slice(i + 1)));
  });
  subscribed.length = 0;
  subs.catalogChanged(new Set(names));
  assert.deepEqual(subscribed.sort(), names.slice(2).sort());
});
