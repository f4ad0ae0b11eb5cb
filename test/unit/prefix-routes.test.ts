import { test } from "node:test";
import assert from "node:assert/strict";
import { parseRouteTag, prefixMatches, prefixRoutes, routedPath } from "../../src/routing/prefix-routes.js";
import { RouteTable } from "../../src/routing/route-table.js";
import { missingTags, withTags } from "../../src/routing/tag-filter.js";
import { instance } from "../support/instances.js";

test("route tags: urlprefix-/path with an optional strip=", () => {
  assert.deepEqual(parseRouteTag("urlprefix-/api strip=/api"), { prefix: "/api", strip: "/api" });
  assert.deepEqual(parseRouteTag("urlprefix-/api/v2"), { prefix: "/api/v2", strip: undefined });
  assert.deepEqual(parseRouteTag("urlprefix-/"), { prefix: "/", strip: undefined });
  assert.equal(parseRouteTag("v2"), undefined);
});

test("route tags that ask for what is not supported are not routed at all", () => {
  for (const tag of [
    "urlprefix-example.com/api",
    "urlprefix-/api allow=ip:10.0.0.0/8",
    "urlprefix-/api proto=https",
    "urlprefix-/api strip=/other",
    "urlprefix-/api strip=/ap",
    "urlprefix-/a/../b",
    "urlprefix-//evil.com/x",
    "urlprefix-/a?x=1",
  ]) {
    const parsed = parseRouteTag(tag);
    assert.ok(parsed !== undefined && "skipped" in parsed, `${tag} → ${JSON.stringify(parsed)}`);
  }
});

test("a prefix matches whole segments: /api covers /api, /api/x, not /apix", () => {
  assert.ok(prefixMatches("/api", "/api"));
  assert.ok(prefixMatches("/api", "/api/users"));
  assert.ok(!prefixMatches("/api", "/apix"));
  assert.ok(prefixMatches("/", "/anything"));
  assert.ok(prefixMatches("/api/", "/api/x"));
});

test("strip removes the prefix; the query is kept", () => {
  const route = { prefix: "/api", strip: "/api", service: "s", tag: "t" };
  assert.equal(routedPath(route, "/api/users", "?q=1"), "/users?q=1");
  assert.equal(routedPath(route, "/api", ""), "/");
  assert.equal(routedPath({ ...route, strip: undefined }, "/api/users", ""), "/api/users");
});

test("the index: longest prefix wins; one prefix claimed twice goes to the first service by name", () => {
  const catalog = RouteTable.EMPTY.withCatalog(["api", "api-v2", "zeta", "web"], "1", {
    api: ["urlprefix-/api strip=/api", "v1"],
    "api-v2": ["urlprefix-/api/v2 strip=/api/v2"],
    zeta: ["urlprefix-/api"],
    web: ["urlprefix-/"],
  }).catalog!;
  const index = prefixRoutes(catalog);
  assert.equal(index.match("/api/v2/users")?.service, "api-v2");
  assert.equal(index.match("/api/v1/users")?.service, "api");
  assert.equal(index.match("/api")?.service, "api");
  assert.equal(index.match("/other")?.service, "web");
  assert.equal(prefixRoutes(catalog), index, "built once per catalog");
});

test("tags select the instances that carry all of them; the same list comes back for the same tags", () => {
  const list = Object.freeze([instance("a", { tags: ["v2", "canary"] }), instance("b", { tags: ["v2"] }), instance("c")]);
  assert.equal(withTags(list, []), list);
  assert.deepEqual(withTags(list, ["v2"]).map((i) => i.id), ["a", "b"]);
  assert.deepEqual(withTags(list, ["canary", "v2"]).map((i) => i.id), ["a"]);
  assert.equal(withTags(list, ["v2"]), withTags(list, ["v2"]));
  assert.deepEqual(missingTags(list, ["v2", "v3"]), ["v3"]);
  // Each tag exists, but no instance has both: both are named.
  assert.deepEqual(missingTags([instance("x", { tags: ["p"] }), instance("y", { tags: ["q"] })], ["p", "q"]), ["p", "q"]);
});
