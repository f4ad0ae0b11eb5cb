import { test } from "node:test";
import assert from "node:assert/strict";
import type { IncomingMessage } from "node:http";
import { RequestRouter, type RequestRouterOptions } from "../../src/routing/request-router.js";
import { GatewayError } from "../../src/errors.js";
import { checkUpstreamPath } from "../../src/routing/request-target.js";
import { RouteStore } from "../../src/routing/route-store.js";

const options: RequestRouterOptions = {
  headerRoutePrefix: "/services",
  tagHeader: "x-gateway-tag",
  serviceTags: new Map([["service-web", ["v2"]]]),
};

function router(tags: Record<string, string[]> = {}, opts = options) {
  const store = new RouteStore();
  const names = ["service-web", "api", ...Object.keys(tags)];
  store.swap(store.current.withCatalog(names, "1", tags));
  return new RequestRouter(store, () => Promise.reject(new Error("the catalog is there")), opts);
}

const req = (url: string, headers: Record<string, string> = {}) => ({ url, headers }) as unknown as IncomingMessage;

/** `route` throws at once for a bad target once the catalog is known, and rejects before it: both count. */
async function rejectsWith(route: () => unknown, code: string, message?: RegExp): Promise<void> {
  await assert.rejects(async () => route(), (err: unknown) => err instanceof GatewayError && err.code === code && (message === undefined || message.test(err.message)));
}

test("/<service>/<path>: the path after the service goes upstream, with the service's configured tags", async () => {
  assert.deepEqual(await router().route(req("/service-web/a%2Fb?x=1")), { service: "service-web", upstreamPath: "/a%2Fb?x=1", tags: ["v2"] });
  assert.deepEqual(await router().route(req("/api/x")), { service: "api", upstreamPath: "/x", tags: [] });
});

test("the tag header adds tags (comma-separated, deduplicated, sorted); empty config ignores it", async () => {
  const target = await router().route(req("/service-web/x", { "x-gateway-tag": "canary, v2,,canary" }));
  assert.deepEqual(target.tags, ["canary", "v2"]);
  const ignoring = router({}, { ...options, tagHeader: undefined });
  assert.deepEqual((await ignoring.route(req("/api/x", { "x-gateway-tag": "canary" }))).tags, []);
});

test("header routing: /services with service_name and api_name picks the service and the path; the request's query is kept", async () => {
  const target = await router().route(req("/services?page=2", { service_name: "service-web", api_name: "getRemoteIp" }));
  assert.deepEqual(target, { service: "service-web", upstreamPath: "/getRemoteIp?page=2", tags: ["v2"] });
  const withQuery = await router().route(req("/services/", { service_name: "api", api_name: "/search?q=a" }));
  assert.equal(withQuery.upstreamPath, "/search?q=a");
  assert.equal((await router().route(req("/services?z=1", { service_name: "api", api_name: "/search?q=a" }))).upstreamPath, "/search?q=a&z=1");
});

test("header routing: a missing or invalid service_name is 400 INVALID_SERVICE_NAME", async () => {
  await rejectsWith(() => router().route(req("/services", { api_name: "/x" })), "INVALID_SERVICE_NAME", /service_name/);
  await rejectsWith(() => router().route(req("/services", { service_name: "a/b", api_name: "/x" })), "INVALID_SERVICE_NAME");
  await rejectsWith(() => router().route(req("/services", { service_name: "..", api_name: "/x" })), "INVALID_SERVICE_NAME");
});

test("header routing: a missing api_name is 400 INVALID_PATH (the root is asked for as \"/\")", async () => {
  await rejectsWith(() => router().route(req("/services", { service_name: "api" })), "INVALID_PATH", /api_name/);
  assert.equal((await router().route(req("/services", { service_name: "api", api_name: "/" }))).upstreamPath, "/");
});

test("header routing: an api_name that is not a plain path is 400 INVALID_PATH, so it can never name another host", async () => {
  for (const apiName of ["//evil.example/x", "http://evil.example/x", "https:evil", "/../admin", "/a/%2e%2e/%2e%2e/admin", "..", "/a b", "/a\\b", "/x#frag", "/%zz", "/%00", "/caf\u00e9"]) {
    await rejectsWith(() => router().route(req("/services", { service_name: "api", api_name: apiName })), "INVALID_PATH", undefined);
  }
});

test("header routing: api_name is put in canonical form by the request line's rules", async () => {
  for (const apiName of ["/a/../admin", "/a/%2e%2e/admin", "./b/../admin"]) {
    assert.equal((await router().route(req("/services", { service_name: "api", api_name: apiName }))).upstreamPath, "/admin", apiName);
  }
});

test("the request path is canonical before any routing decision", async () => {
  const r = router({ "api-gw": ["urlprefix-/api strip=/api"] });
  assert.deepEqual(await r.route(req("/api/../service-web/x")), { service: "service-web", upstreamPath: "/x", tags: ["v2"] });
  assert.deepEqual(await r.route(req("/service-web/a/%2E%2e/b?q=/../")), { service: "service-web", upstreamPath: "/b?q=/../", tags: ["v2"] });
  await rejectsWith(() => r.route(req("/api/../../etc/passwd")), "INVALID_PATH");
});

test("GATEWAY_TAG_HEADER_ALLOW: a tag outside the list is 400 TAG_NOT_ALLOWED", async () => {
  const allowing = router({}, { ...options, tagHeaderAllow: new Set(["canary"]) });
  assert.deepEqual((await allowing.route(req("/api/x", { "x-gateway-tag": "canary" }))).tags, ["canary"]);
  await rejectsWith(() => allowing.route(req("/api/x", { "x-gateway-tag": "canary, internal" })), "TAG_NOT_ALLOWED", /"internal"/);
});

test("header routing off (empty prefix): /services is an ordinary service path", async () => {
  const off = router({}, { ...options, headerRoutePrefix: undefined });
  assert.deepEqual(await off.route(req("/services/x", { service_name: "api", api_name: "/y" })), { service: "services", upstreamPath: "/x", tags: [] });
});

test("prefix routes: the longest prefix wins, stripping as the tag says, and only instances with the tag may serve", async () => {
  const r = router({ "api-gw": ["urlprefix-/api strip=/api"], "api-v2": ["urlprefix-/api/v2 strip=/api/v2"], site: ["urlprefix-/"] });
  assert.deepEqual(await r.route(req("/api/users?x=1")), { service: "api-gw", upstreamPath: "/users?x=1", tags: ["urlprefix-/api strip=/api"] });
  assert.deepEqual(await r.route(req("/api/v2/users")), { service: "api-v2", upstreamPath: "/users", tags: ["urlprefix-/api/v2 strip=/api/v2"] });
  // "/" is only one character: /service-web's own route is longer.
  assert.equal((await r.route(req("/service-web/x"))).service, "service-web");
  assert.equal((await r.route(req("/no-such-service/x"))).service, "site");
  assert.equal((await r.route(req("/"))).service, "site");
  // A tie between a tag route and a /<service> route of the same length goes to the tag route: /api is both.
  assert.equal((await r.route(req("/api"))).service, "api-gw");
});

test("no route: / is 404 ROUTE_NOT_FOUND, an absolute URL is 400 INVALID_PATH", async () => {
  await rejectsWith(() => router().route(req("/")), "ROUTE_NOT_FOUND");
  await rejectsWith(() => router().route(req("http://evil.example/x")), "INVALID_PATH");
});

test("before Consul's catalog arrives, a path that cannot be a service route fails at once instead of waiting", async () => {
  const r = new RequestRouter(new RouteStore(), () => new Promise(() => {}), options);
  await rejectsWith(() => r.route(req("/")), "ROUTE_NOT_FOUND");
  await rejectsWith(() => r.route(req("/a%20b/x")), "INVALID_SERVICE_NAME");
});

test("checkUpstreamPath roots a relative path and keeps encodings", () => {
  assert.equal(checkUpstreamPath("getRemoteIp", "p"), "/getRemoteIp");
  assert.equal(checkUpstreamPath("/a%2Fb/c:d@e?x=%20&y=/z", "p"), "/a%2Fb/c:d@e?x=%20&y=/z");
  assert.equal(checkUpstreamPath("", "p"), "/");
});
