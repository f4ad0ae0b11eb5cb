import { test } from "node:test";
import assert from "node:assert/strict";
import { classifyFailure, isRetryable } from "../../src/proxy/retry-policy.js";

const err = (code: string, cause?: unknown) => Object.assign(new Error(code), { code, cause });

test("failures are classified by their socket code, also when undici wraps it in cause", () => {
  assert.equal(classifyFailure(err("ECONNREFUSED")), "connect");
  assert.equal(classifyFailure(err("UND_ERR_CONNECT_TIMEOUT")), "connect");
  assert.equal(classifyFailure(err("UND_ERR_SOCKET")), "reset");
  assert.equal(classifyFailure(err("ECONNRESET")), "reset");
  assert.equal(classifyFailure(err("UND_ERR_HEADERS_TIMEOUT")), "other");
  assert.equal(classifyFailure(new Error("TypeError: fetch failed", { cause: err("ECONNREFUSED") })), "connect");
});

const cases: [string, "connect" | "reset" | "other", string, boolean, boolean][] = [
  ["refused GET", "connect", "GET", false, true],
  ["refused POST, body untouched", "connect", "POST", false, true],
  ["refused POST, body already streamed", "connect", "POST", true, false],
  ["reset GET", "reset", "GET", false, true],
  ["reset PUT, no body read", "reset", "PUT", false, true],
  ["reset PUT, body streamed", "reset", "PUT", true, false],
  ["reset DELETE", "reset", "DELETE", false, true],
  ["reset POST, even with no body read", "reset", "POST", false, false],
  ["reset PATCH", "reset", "PATCH", false, false],
  ["response timeout GET", "other", "GET", false, false],
];

for (const [name, kind, method, started, expected] of cases) {
  test(`${name}: ${expected ? "retried" : "not retried"}`, () => {
    assert.equal(isRetryable(kind, method, started), expected);
  });
}
