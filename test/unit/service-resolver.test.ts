import { test } from "node:test";
import assert from "node:assert/strict";
import { ServiceResolver } from "../../src/routing/service-resolver.js";
import { GatewayError } from "../../src/errors.js";
import { RouteStore } from "../../src/routing/route-store.js";
import { instance } from "../support/instances.js";

function resolver() {
  const store = new RouteStore();
  store.swap(
    store.current
      .withCatalog(["web"], "1", { web: ["v1", "v2", "canary"] })
      .withService("web", [instance("a", { tags: ["v1"] }), instance("b", { tags: ["v2", "canary"] }), instance("c", { tags: ["v2"] })], "2"),
  );
  return new ServiceResolver(store, () => {}, 50);
}

test("tags narrow the instances to those that carry all of them", async () => {
  assert.deepEqual((await resolver().resolve("web", ["v2"])).map((i) => i.id), ["b", "c"]);
  assert.deepEqual((await resolver().resolve("web", ["canary", "v2"])).map((i) => i.id), ["b"]);
  assert.equal((await resolver().resolve("web")).length, 3);
});

test("an unknown tag is 503 NO_HEALTHY_INSTANCE naming the tag and the service", async () => {
  await assert.rejects(resolver().resolve("web", ["v3"]), (err: unknown) => {
    assert.ok(err instanceof GatewayError);
    assert.equal(err.code, "NO_HEALTHY_INSTANCE");
    assert.equal(err.status, 503);
    assert.equal(err.service, "web");
    assert.match(err.message, /carries the tag "v3"/);
    return true;
  });
  await assert.rejects(resolver().resolve("web", ["canary", "v1"]), /carries the tags "canary", "v1"/);
});

test("the catalog is answered at once when it is there, and after a bounded wait (DISCOVERY_TIMEOUT) when it is not", async () => {
  assert.ok((await resolver().catalog()).services.has("web"));
  await assert.rejects(new ServiceResolver(new RouteStore(), () => {}, 20).catalog(), (err: unknown) => err instanceof GatewayError && err.code === "DISCOVERY_TIMEOUT");
});
