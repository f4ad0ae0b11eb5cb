import { test } from "node:test";
import assert from "node:assert/strict";
import type { IncomingMessage } from "node:http";
import { ensureRequestId } from "../../src/observability/request-id.js";
import { accessLogPath } from "../../src/observability/access-log.js";

/** The two header views of a request that Node gives: raw pairs and the parsed object. */
function request(raw: string[]): IncomingMessage {
  const headers: Record<string, string> = {};
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    headers[name] = headers[name] === undefined ? raw[i + 1]! : `${headers[name]}, ${raw[i + 1]!}`;
  }
  return { rawHeaders: raw, headers } as unknown as IncomingMessage;
}

test("a client's usable X-Request-Id is kept as it is", () => {
  const req = request(["Host", "x", "X-Request-Id", "abc-123"]);
  assert.equal(ensureRequestId(req), "abc-123");
  assert.deepEqual(req.rawHeaders, ["Host", "x", "X-Request-Id", "abc-123"]);
});

test("without one, a UUID is generated and added to the headers the forwarder copies upstream", () => {
  const req = request(["Host", "x"]);
  const id = ensureRequestId(req);
  assert.match(id, /^[0-9a-f-]{36}$/);
  assert.deepEqual(req.rawHeaders, ["Host", "x", "x-request-id", id]);
  assert.equal(req.headers["x-request-id"], id);
  assert.notEqual(ensureRequestId(request([])), id);
});

test("an unusable id (spaces, control characters, too long, repeated) is replaced, every copy of it", () => {
  for (const raw of [["X-Request-Id", "two words"], ["X-Request-Id", "a\u0007b"], ["X-Request-Id", "x".repeat(129)], ["x-request-id", "a", "X-Request-ID", "b"]]) {
    const req = request(["Host", "x", ...raw]);
    const id = ensureRequestId(req);
    assert.match(id, /^[0-9a-f-]{36}$/);
    assert.deepEqual(req.rawHeaders, ["Host", "x", "x-request-id", id], JSON.stringify(raw));
  }
});

test("the access log's path leaves out the query string and is bounded", () => {
  assert.equal(accessLogPath("/web/login?token=secret"), "/web/login");
  assert.equal(accessLogPath("/web/a%2Fb"), "/web/a%2Fb");
  assert.equal(accessLogPath(`/${"a".repeat(5000)}`).length, 2049);
});
