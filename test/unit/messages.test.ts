import { test } from "node:test";
import assert from "node:assert/strict";
import { InvalidMessageError, parseWatcherCommand, parseWatcherMessage } from "../../src/discovery/messages.js";
import { isValidServiceName } from "../../src/service-name.js";

const good = { id: "web-1", address: "10.0.0.1", port: 8080, tags: ["v1"], meta: { zone: "a" }, health: "passing", weights: { passing: 3, warning: 1 } };

test("a valid service message passes and comes out frozen", () => {
  const message = parseWatcherMessage({ type: "service", service: "service-web", index: "42", instances: [good] });
  assert.equal(message.type, "service");
  if (message.type !== "service") return;
  assert.deepEqual(message.instances[0], good);
  assert.ok(Object.isFrozen(message.instances[0]));
});

test("catalog and watch-error messages pass", () => {
  assert.deepEqual(parseWatcherMessage({ type: "catalog", index: "3", services: ["a", "b"], tags: { a: ["urlprefix-/a"] } }), {
    type: "catalog",
    index: "3",
    services: ["a", "b"],
    tags: { a: ["urlprefix-/a"] },
  });
  assert.deepEqual(parseWatcherMessage({ type: "watch-error", service: null, message: "down" }), { type: "watch-error", service: null, message: "down" });
});

const bad: [string, unknown, RegExp][] = [
  ["not an object", "hello", /not an object/],
  ["an unknown type", { type: "explode" }, /unknown message type/],
  ["a bad service name", { type: "service", service: "a/b", index: "1", instances: [] }, /service name/],
  ["a non-numeric index", { type: "service", service: "web", index: "1; DROP", instances: [] }, /index/],
  ["instances not an array", { type: "service", service: "web", index: "1", instances: {} }, /instances/],
  ["a port out of range", { type: "service", service: "web", index: "1", instances: [{ ...good, port: 70000 }] }, /port/],
  ["a fractional port", { type: "service", service: "web", index: "1", instances: [{ ...good, port: 80.5 }] }, /port/],
  ["an address with a path", { type: "service", service: "web", index: "1", instances: [{ ...good, address: "evil.com/x" }] }, /address/],
  ["an address with userinfo", { type: "service", service: "web", index: "1", instances: [{ ...good, address: "a@b" }] }, /address/],
  ["an empty id", { type: "service", service: "web", index: "1", instances: [{ ...good, id: "" }] }, /id/],
  ["tags that are not strings", { type: "service", service: "web", index: "1", instances: [{ ...good, tags: [1] }] }, /tags/],
  ["meta values that are not strings", { type: "service", service: "web", index: "1", instances: [{ ...good, meta: { a: 1 } }] }, /meta/],
  ["a catalog name that is not a service name", { type: "catalog", index: "1", services: ["ok", "../x"], tags: {} }, /services\[1\]/],
  ["an unknown health state", { type: "service", service: "web", index: "1", instances: [{ ...good, health: "critical" }] }, /health/],
  ["weights that are not an object", { type: "service", service: "web", index: "1", instances: [{ ...good, weights: 3 }] }, /weights/],
  ["a passing weight of 0", { type: "service", service: "web", index: "1", instances: [{ ...good, weights: { passing: 0, warning: 1 } }] }, /weights\.passing/],
  ["a fractional weight", { type: "service", service: "web", index: "1", instances: [{ ...good, weights: { passing: 1.5, warning: 1 } }] }, /weights\.passing/],
  ["a negative warning weight", { type: "service", service: "web", index: "1", instances: [{ ...good, weights: { passing: 1, warning: -1 } }] }, /weights\.warning/],
  ["a warning instance that may take no traffic", { type: "service", service: "web", index: "1", instances: [{ ...good, health: "warning", weights: { passing: 1, warning: 0 } }] }, /left out/],
  ["catalog tags that are not an object", { type: "catalog", index: "1", services: ["a"], tags: ["x"] }, /tags/],
  ["catalog tags of a service not in the catalog", { type: "catalog", index: "1", services: ["a"], tags: { b: ["x"] } }, /not in services/],
  ["catalog tags that are not strings", { type: "catalog", index: "1", services: ["a"], tags: { a: [1] } }, /tags\["a"\]/],
];

for (const [name, raw, pattern] of bad) {
  test(`a message with ${name} is refused with a reason`, () => {
    assert.throws(() => parseWatcherMessage(raw), (err: unknown) => err instanceof InvalidMessageError && pattern.test(err.message));
  });
}

test("absent health, weights and catalog tags mean what Consul means without them (older snapshots, other registries)", () => {
  const { health: _h, weights: _w, ...bare } = good;
  const message = parseWatcherMessage({ type: "service", service: "web", index: "1", instances: [bare] });
  assert.equal(message.type, "service");
  if (message.type !== "service") return;
  assert.equal(message.instances[0]!.health, "passing");
  assert.deepEqual(message.instances[0]!.weights, { passing: 1, warning: 1 });
  assert.deepEqual(parseWatcherMessage({ type: "catalog", index: "2", services: ["a"] }), { type: "catalog", index: "2", services: ["a"], tags: {} });
});

test("a catalog service named __proto__ keeps its tags as a key, not as the object's prototype", () => {
  const raw = JSON.parse('{"type":"catalog","index":"1","services":["__proto__"],"tags":{"__proto__":["urlprefix-/p"]}}');
  const message = parseWatcherMessage(raw);
  assert.equal(message.type, "catalog");
  if (message.type !== "catalog") return;
  assert.deepEqual(Object.entries(message.tags), [["__proto__", ["urlprefix-/p"]]]);
  assert.equal(Object.getPrototypeOf(message.tags), Object.prototype);
});

test("commands: subscribe and unsubscribe with a valid name only", () => {
  assert.deepEqual(parseWatcherCommand({ type: "subscribe", service: "web" }), { type: "subscribe", service: "web" });
  assert.throws(() => parseWatcherCommand({ type: "subscribe", service: "" }), InvalidMessageError);
  assert.throws(() => parseWatcherCommand({ type: "reboot", service: "web" }), InvalidMessageError);
});

test("service names: letters, digits, '-', '_', '.'; never '.' or '..'", () => {
  for (const name of ["service-web", "a_b", "v1.2", "X"]) assert.ok(isValidServiceName(name), name);
  for (const name of ["", ".", "..", "a/b", "a b", "a%2Fb", "ä", "a\r\nb", "x".repeat(129)]) assert.ok(!isValidServiceName(name), name);
});
