import { test } from "node:test";
import assert from "node:assert/strict";
import { InvalidMessageError, isValidServiceName, parseWatcherCommand, parseWatcherMessage } from "../../src/discovery/messages.js";

const good = { id: "web-1", address: "10.0.0.1", port: 8080, tags: ["v1"], meta: { zone: "a" } };

test("a valid service message passes and comes out frozen", () => {
  const message = parseWatcherMessage({ type: "service", service: "service-web", index: "42", instances: [good] });
  assert.equal(message.type, "service");
  if (message.type !== "service") return;
  assert.deepEqual(message.instances[0], good);
  assert.ok(Object.isFrozen(message.instances[0]));
});

test("catalog and watch-error messages pass", () => {
  assert.deepEqual(parseWatcherMessage({ type: "catalog", index: "3", services: ["a", "b"] }), { type: "catalog", index: "3", services: ["a", "b"] });
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
  ["a catalog name that is not a service name", { type: "catalog", index: "1", services: ["ok", "../x"] }, /services\[1\]/],
];

for (const [name, raw, pattern] of bad) {
  test(`a message with ${name} is refused with a reason`, () => {
    assert.throws(() => parseWatcherMessage(raw), (err: unknown) => err instanceof InvalidMessageError && pattern.test(err.message));
  });
}

test("commands: subscribe and unsubscribe with a valid name only", () => {
  assert.deepEqual(parseWatcherCommand({ type: "subscribe", service: "web" }), { type: "subscribe", service: "web" });
  assert.throws(() => parseWatcherCommand({ type: "subscribe", service: "" }), InvalidMessageError);
  assert.throws(() => parseWatcherCommand({ type: "reboot", service: "web" }), InvalidMessageError);
});

test("service names: letters, digits, '-', '_', '.'; never '.' or '..'", () => {
  for (const name of ["service-web", "a_b", "v1.2", "X"]) assert.ok(isValidServiceName(name), name);
  for (const name of ["", ".", "..", "a/b", "a b", "a%2Fb", "ä", "a\r\nb", "x".repeat(129)]) assert.ok(!isValidServiceName(name), name);
});
