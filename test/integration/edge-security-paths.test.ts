/**
 * One canonical path before any routing decision: a probe table of request
 * targets, each with what the instance must receive (which instance, which
 * path) or the error the gateway must answer with while no instance receives
 * anything. Dot segments are removed as RFC 3986 §5.2.4 says, with %2e (any
 * case) read as a dot; a path that climbs above the root, a fragment, a NUL
 * or another control character, a raw backslash, a dot segment hidden behind
 * a `;` parameter or a malformed %-escape is refused with 400 INVALID_PATH.
 * %2F stays %2F (it is not a separator), so are double encodings.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import superagent from "superagent";
import { ConsulAgent } from "../support/consul.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";
import { startRecordingInstance, type RecordingInstance } from "../support/recording-instance.js";
import { errorCodeOf, rawRequest } from "../support/raw-http.js";
import { eventually } from "../support/wait.js";

type Expected = { to: string; url: string } | { status: number; code: string };

/**
 * `svc` is a plain service; `public` has the prefix route /public (stripped);
 * `admin-internal` is another service the prefix route must not lead into
 * with its dots left for the instance to resolve.
 */
const PROBES: readonly { target: string; expect: Expected; why: string }[] = [
  { target: "/svc/a/b", expect: { to: "svc-1", url: "/a/b" }, why: "baseline" },
  { target: "/svc/a/./b", expect: { to: "svc-1", url: "/a/b" }, why: "a '.' segment" },
  { target: "/svc/a/../b", expect: { to: "svc-1", url: "/b" }, why: "a '..' segment inside the service" },
  { target: "/svc/a/b/..", expect: { to: "svc-1", url: "/a/" }, why: "a trailing '..'" },
  { target: "/svc/a/.", expect: { to: "svc-1", url: "/a/" }, why: "a trailing '.'" },
  { target: "/./svc/x", expect: { to: "svc-1", url: "/x" }, why: "a '.' before the service name" },
  { target: "/svc/../../../etc/passwd", expect: { status: 400, code: "INVALID_PATH" }, why: "climbs above the root" },
  { target: "/svc/a/%2e%2e/x", expect: { to: "svc-1", url: "/x" }, why: "%2e%2e is '..'" },
  { target: "/svc/a/%2E%2E/x", expect: { to: "svc-1", url: "/x" }, why: "upper-case %2E%2E is '..'" },
  { target: "/svc/a/%2e./x", expect: { to: "svc-1", url: "/x" }, why: "mixed %2e. is '..'" },
  { target: "/svc/a/.%2E/x", expect: { to: "svc-1", url: "/x" }, why: "mixed .%2E is '..'" },
  { target: "/svc/a/%2e/x", expect: { to: "svc-1", url: "/a/x" }, why: "%2e is '.'" },
  { target: "/svc/%2e%2e/%2e%2e/etc/passwd", expect: { status: 400, code: "INVALID_PATH" }, why: "encoded dots climbing above the root" },
  { target: "/svc/a/%252e%252e/x", expect: { to: "svc-1", url: "/a/%252e%252e/x" }, why: "double encoding is decoded once only: not a dot" },
  { target: "/svc/a/..%2F..%2Fx", expect: { to: "svc-1", url: "/a/..%2F..%2Fx" }, why: "%2F is no separator: one segment, kept" },
  { target: "/svc/%2e%2e%2f%2e%2e%2fetc", expect: { to: "svc-1", url: "/%2e%2e%2f%2e%2e%2fetc" }, why: "encoded dots and slashes in one segment: kept" },
  { target: "/svc/a%2Fb", expect: { to: "svc-1", url: "/a%2Fb" }, why: "%2F preserved as before" },
  { target: "/svc/a//b", expect: { to: "svc-1", url: "/a//b" }, why: "empty segments are not dot segments" },
  { target: "/svc//../x", expect: { to: "svc-1", url: "/x" }, why: "'..' removes the empty segment" },
  { target: "/svc/a/.../x", expect: { to: "svc-1", url: "/a/.../x" }, why: "'...' is a name" },
  { target: "/svc/a/%2e%2e%2e/x", expect: { to: "svc-1", url: "/a/%2e%2e%2e/x" }, why: "encoded '...' is a name" },
  { target: "/svc/a/b?x=/../..", expect: { to: "svc-1", url: "/a/b?x=/../.." }, why: "the query is not a path" },
  { target: "/svc/a/%2e%2e?q=1", expect: { to: "svc-1", url: "/?q=1" }, why: "dots before the query" },
  { target: "/svc/a;x=1/b", expect: { to: "svc-1", url: "/a;x=1/b" }, why: "a ';' parameter on a name" },
  { target: "/svc/a/..;/x", expect: { status: 400, code: "INVALID_PATH" }, why: "'..;' is '..' to Tomcat and a name to RFC 3986: ambiguous" },
  { target: "/svc/a/.;x=1/b", expect: { status: 400, code: "INVALID_PATH" }, why: "'.;x=1' likewise" },
  { target: "/svc/a/%2e%2e;/x", expect: { status: 400, code: "INVALID_PATH" }, why: "encoded '..;'" },
  { target: "/svc/a/b#frag", expect: { status: 400, code: "INVALID_PATH" }, why: "a fragment is never sent by a client" },
  { target: "/svc/#/../x", expect: { status: 400, code: "INVALID_PATH" }, why: "a fragment hiding dots" },
  { target: "/svc/a%23/../x", expect: { to: "svc-1", url: "/x" }, why: "an encoded '#' is a name character" },
  { target: "/svc/a%00b", expect: { status: 400, code: "INVALID_PATH" }, why: "an encoded NUL" },
  { target: "/svc/a%0d%0aX-Injected:%201", expect: { status: 400, code: "INVALID_PATH" }, why: "encoded CR LF" },
  { target: "/svc/a%09b", expect: { status: 400, code: "INVALID_PATH" }, why: "an encoded tab" },
  { target: "/svc/a%7fb", expect: { status: 400, code: "INVALID_PATH" }, why: "an encoded DEL" },
  { target: "/svc/a%zz", expect: { status: 400, code: "INVALID_PATH" }, why: "a malformed escape" },
  { target: "/svc/a/%u002e%u002e/x", expect: { status: 400, code: "INVALID_PATH" }, why: "IIS %u escapes are malformed escapes" },
  { target: "/svc/a/%c0%ae%c0%ae/x", expect: { to: "svc-1", url: "/a/%c0%ae%c0%ae/x" }, why: "overlong UTF-8 is not a dot: kept as sent" },
  { target: "/svc/a\\..\\..\\x", expect: { status: 400, code: "INVALID_PATH" }, why: "a raw backslash (a separator on some servers)" },
  { target: "/svc/a/..%5c..%5cx", expect: { to: "svc-1", url: "/a/..%5c..%5cx" }, why: "%5C is no separator here, kept like %2F" },
  { target: "/svc/..", expect: { status: 404, code: "ROUTE_NOT_FOUND" }, why: "resolves to the root" },
  { target: "/svc/../admin-internal/x", expect: { to: "internal-1", url: "/x" }, why: "the canonical path names another service" },
  { target: "/public/x", expect: { to: "public-1", url: "/x" }, why: "prefix route baseline" },
  { target: "/public/a/../b", expect: { to: "public-1", url: "/b" }, why: "dots inside the prefix route" },
  { target: "/public/../admin-internal/x", expect: { to: "internal-1", url: "/x" }, why: "prefix-route escape: routed by the canonical path" },
  { target: "/public/%2e%2e/admin-internal/x", expect: { to: "internal-1", url: "/x" }, why: "encoded prefix-route escape" },
  { target: "/public/%2E%2e/%2e%2E/etc/passwd", expect: { status: 400, code: "INVALID_PATH" }, why: "prefix-route escape above the root" },
  { target: "/public/..", expect: { status: 404, code: "ROUTE_NOT_FOUND" }, why: "out of the prefix route to the root" },
  { target: "/public%2f..%2fadmin-internal/x", expect: { status: 400, code: "INVALID_SERVICE_NAME" }, why: "encoded slashes in the first segment name nothing" },
];

describe("canonical request paths (probe table)", () => {
  let consul: ConsulAgent;
  const instances: RecordingInstance[] = [];
  let gateway: TestGateway;

  before(async () => {
    consul = await ConsulAgent.start();
    const registrations = [
      { id: "svc-1", name: "svc", tags: [] as string[] },
      { id: "public-1", name: "public", tags: ["urlprefix-/public strip=/public"] },
      { id: "internal-1", name: "admin-internal", tags: [] as string[] },
    ];
    for (const r of registrations) {
      const instance = await startRecordingInstance(r.id);
      instances.push(instance);
      await consul.register({ ID: r.id, Name: r.name, Address: "127.0.0.1", Port: instance.port, Tags: r.tags, Check: { TTL: "1h", Status: "passing" } });
    }
    gateway = await startTestGateway(consul.address, { GATEWAY_SERVICES: "svc,public,admin-internal" });
    for (const path of ["/svc/ready", "/admin-internal/ready", "/public/ready"]) {
      await eventually(async () => (await superagent.get(gateway.url + path).ok(() => true)).status === 200, 30_000, `${path} served`);
    }
  });

  after(async () => {
    await gateway?.close();
    await Promise.all(instances.map((i) => i.close()));
    await consul?.destroy();
  });

  for (const probe of PROBES) {
    const outcome = "to" in probe.expect ? `${probe.expect.to} receives ${probe.expect.url}` : `${probe.expect.status} ${probe.expect.code}`;
    test(`${JSON.stringify(probe.target)} → ${outcome} (${probe.why})`, async () => {
      const before = instances.map((i) => i.received.length);
      const response = await rawRequest(gateway.port, Buffer.from(`GET ${probe.target} HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n`, "latin1"));
      const reached = instances.flatMap((i, n) => i.received.slice(before[n]).map((r) => ({ id: i.id, url: r.url })));
      if ("to" in probe.expect) {
        assert.equal(response.status, 200, `${response.headers}\n${response.body}`);
        assert.deepEqual(reached, [{ id: probe.expect.to, url: probe.expect.url }]);
      } else {
        assert.deepEqual(reached, [], "no instance may receive a refused request");
        assert.equal(response.status, probe.expect.status, `${response.headers}\n${response.body}`);
        assert.match(response.headers, /content-type: application\/json/i);
        assert.equal(errorCodeOf(response.body), probe.expect.code);
      }
    });
  }

  test("header routing's api_name follows the same rules", async () => {
    const cases: { apiName: string; expect: Expected }[] = [
      { apiName: "/a/../b", expect: { to: "svc-1", url: "/b" } },
      { apiName: "/a/%2e%2e/b", expect: { to: "svc-1", url: "/b" } },
      { apiName: "/../etc/passwd", expect: { status: 400, code: "INVALID_PATH" } },
      { apiName: "/a%00", expect: { status: 400, code: "INVALID_PATH" } },
    ];
    for (const c of cases) {
      const before = instances.map((i) => i.received.length);
      const response = await rawRequest(gateway.port, `GET /services HTTP/1.1\r\nHost: gw\r\nservice_name: svc\r\napi_name: ${c.apiName}\r\nConnection: close\r\n\r\n`);
      const reached = instances.flatMap((i, n) => i.received.slice(before[n]).map((r) => ({ id: i.id, url: r.url })));
      if ("to" in c.expect) {
        assert.equal(response.status, 200, `${c.apiName}: ${response.body}`);
        assert.deepEqual(reached, [{ id: c.expect.to, url: c.expect.url }], c.apiName);
      } else {
        assert.deepEqual(reached, [], c.apiName);
        assert.equal(errorCodeOf(response.body), c.expect.code, `${c.apiName}: ${response.body}`);
      }
    }
  });
});
