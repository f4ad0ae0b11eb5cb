import { test } from "node:test";
import assert from "node:assert/strict";
import { canonicalPath, canonicalTarget } from "../../src/routing/canonical-path.js";
import { GatewayError } from "../../src/errors.js";

const KEPT = ["/", "/svc/a/b", "/svc/a%2Fb", "/svc/a//b", "//svc", "/svc/...", "/svc/%2e%2e%2e", "/svc/a;x=1/b", "/svc/%252e%252e/x", "/svc/..%2F..%2Fx", "/svc/..%5c", "/svc/a.b/.c/..d", "/svc/%c0%ae%c0%ae"];
for (const path of KEPT) {
  test(`${path} is already canonical`, () => assert.equal(canonicalPath(path), path));
}

const RESOLVED: [string, string][] = [
  ["/svc/./a", "/svc/a"],
  ["/svc/a/../b", "/svc/b"],
  ["/svc/a/b/..", "/svc/a/"],
  ["/svc/a/.", "/svc/a/"],
  ["/svc/..", "/"],
  ["/.", "/"],
  ["/svc/%2e%2e/x", "/x"],
  ["/svc/%2E%2e/x", "/x"],
  ["/svc/%2e./x", "/x"],
  ["/svc/.%2E/x", "/x"],
  ["/svc/%2e/x", "/svc/x"],
  ["/svc//../x", "/svc/x"],
  ["/a/b/c/../../d/./e", "/a/d/e"],
];
for (const [path, canonical] of RESOLVED) {
  test(`${path} → ${canonical}`, () => assert.equal(canonicalPath(path), canonical));
}

const REFUSED = ["/..", "/svc/../..", "/svc/%2e%2e/%2E%2E/etc", "/svc/a#b", "/svc/a\\b", "/svc/a\x00", "/svc/a\tb", "/svc/%00", "/svc/%1f", "/svc/%7F", "/svc/%", "/svc/%4", "/svc/%zz", "/svc/%u002e", "/svc/..;/x", "/svc/.;a", "/svc/%2e%2e;x/y", "/a/b/../../../c"];
for (const path of REFUSED) {
  test(`${JSON.stringify(path)} is refused with INVALID_PATH`, () => {
    assert.throws(() => canonicalPath(path), (err: unknown) => err instanceof GatewayError && err.code === "INVALID_PATH" && err.status === 400);
  });
}

test("the query is kept as sent, dots included; a fragment in it is refused", () => {
  assert.deepEqual(canonicalTarget("/svc/a/../b?x=/../..&y=%2e"), { path: "/svc/b", query: "?x=/../..&y=%2e" });
  assert.deepEqual(canonicalTarget("/svc/x"), { path: "/svc/x", query: "" });
  assert.throws(() => canonicalTarget("/svc/x?a#b"), /fragment/);
});
