import { test } from "node:test";
import assert from "node:assert/strict";
import type { Instance } from "../../src/discovery/instance.js";
import type { WatcherMessage } from "../../src/discovery/messages.js";
import type { RegistryListener, ServiceRegistry } from "../../src/discovery/registries/registry.js";
import { ServiceWatches } from "../../src/discovery/service-watches.js";

const instance = (id: string): Instance => ({ id, address: "127.0.0.1", port: 8080, tags: [], meta: {}, health: "passing", weights: { passing: 1, warning: 1 } });

/** The registry interface the child drives, held in memory: which watches are open, and a way to report to them. */
function setup(options: { keepMs?: number; maxKept?: number } = {}) {
  let now = 0;
  const listeners = new Map<string, RegistryListener<Instance[]>>();
  const opened: string[] = [];
  const registry = {
    subscribe: (service: string, listener: RegistryListener<Instance[]>) => {
      opened.push(service);
      listeners.set(service, listener);
    },
    unsubscribe: (service: string) => listeners.delete(service),
  } as unknown as ServiceRegistry;
  const sent: WatcherMessage[] = [];
  const watches = new ServiceWatches(registry, (m) => sent.push(m), { ...options, now: () => now });
  const report = (service: string, ids: string[], index: string): void => listeners.get(service)!.change(ids.map(instance), index);
  /** A watched service that reported `ids` at `index`, then was let go of: its watch is kept. */
  const keptAfter = (service: string, ids: string[], index: string): void => {
    watches.subscribe(service);
    report(service, ids, index);
    watches.unsubscribe(service);
  };
  const lists = (): string[] => sent.flatMap((m) => (m.type === "service" ? [`${m.service}@${m.index}:${m.instances.map((i) => i.id).join(",")}`] : []));
  return { watches, report, keptAfter, lists, sent, opened, open: () => [...listeners.keys()], advance: (ms: number) => (now += ms) };
}

test("a list is sent the first time, empty included, and then only when it changes", () => {
  const { watches, report, lists } = setup();
  watches.subscribe("web");
  report("web", [], "1");
  report("web", [], "2");
  report("web", ["a"], "3");
  report("web", ["a"], "4");
  assert.deepEqual(lists(), ["web@1:", "web@3:a"]);
});

test("an unsubscribed service's watch is kept, silent, and a subscription takes it back with its latest list at once", () => {
  const { watches, report, keptAfter, lists, opened, open } = setup();
  keptAfter("web", ["a"], "5");
  assert.deepEqual(open(), ["web"]);
  assert.deepEqual(watches.kept, ["web"]);
  report("web", ["b"], "9");
  assert.deepEqual(lists(), ["web@5:a"]);
  watches.subscribe("web");
  assert.deepEqual(lists(), ["web@5:a", "web@9:b"]);
  assert.deepEqual(opened, ["web"], "no second watch was opened");
  assert.deepEqual(watches.kept, []);
});

test("a service back in the catalog is revived with a list at least as new as the catalog, not with its departure's", () => {
  const { watches, report, lists } = setup();
  watches.subscribe("web");
  report("web", ["a"], "5");
  watches.catalogSent(["web"], "5", new Set());
  watches.unsubscribe("web");
  report("web", [], "7");
  // Back at index 8, before its own watch saw it: nothing stale goes; the watch's report does.
  watches.catalogSent(["web"], "8", new Set());
  assert.deepEqual(lists(), ["web@5:a"]);
  report("web", ["b"], "8");
  assert.deepEqual(lists(), ["web@5:a", "web@8:b"]);
});

// Indexes beyond a double's precision compare exactly; one that is not a decimal number counts as current (the child must not throw).
for (const [reported, catalog] of [["12345678901234567891", "12345678901234567890"], ["not-an-index", "9"]] as const) {
  test(`a kept list at index ${reported} goes at once with a returning catalog at index ${catalog}`, () => {
    const { watches, report, keptAfter, lists } = setup();
    keptAfter("web", ["a"], "5");
    report("web", ["b"], reported);
    watches.catalogSent(["web"], catalog, new Set());
    assert.deepEqual(lists(), ["web@5:a", `web@${reported}:b`]);
  });
}

test("a kept service the previous catalog named too (released for idleness) waits for a subscription", () => {
  const { watches, keptAfter, lists } = setup();
  keptAfter("web", ["a"], "5");
  watches.catalogSent(["web"], "6", new Set(["web"]));
  assert.deepEqual(watches.kept, ["web"]);
  assert.deepEqual(lists(), ["web@5:a"]);
});

test("kept watches end after the kept time, and past the bound the oldest first", () => {
  const { watches, advance, open } = setup({ keepMs: 1000, maxKept: 2 });
  for (const s of ["a", "b", "c", "d"]) watches.subscribe(s);
  for (const s of ["a", "b", "c"]) {
    watches.unsubscribe(s);
    advance(10);
  }
  assert.deepEqual(open().sort(), ["b", "c", "d"]);
  advance(1000);
  watches.unsubscribe("d");
  assert.deepEqual(open(), ["d"]);
  watches.close();
});

test("errors of a kept watch are not reported; those of a wanted one are", () => {
  const sent: WatcherMessage[] = [];
  const listeners: RegistryListener<Instance[]>[] = [];
  const registry = { subscribe: (_s: string, l: RegistryListener<Instance[]>) => listeners.push(l), unsubscribe: () => {} } as unknown as ServiceRegistry;
  const own = new ServiceWatches(registry, (m) => sent.push(m));
  own.subscribe("web");
  listeners[0]!.error(new Error("down"));
  own.unsubscribe("web");
  listeners[0]!.error(new Error("still down"));
  own.close();
  assert.deepEqual(sent.map((m) => (m.type === "watch-error" ? m.message : m.type)), ["down"]);
});
