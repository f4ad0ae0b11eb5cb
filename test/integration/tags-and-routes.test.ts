import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import superagent from "superagent";
import { ConsulAgent } from "../support/consul.js";
import { startBackend, ttlRegistration, type Backend } from "../support/backends.js";
import { countHits, startTestGateway, type TestGateway } from "../support/gateway.js";
import { eventually } from "../support/wait.js";

/** Keeps 4xx/5xx answers instead of throwing: these tests assert on them. */
const send = (request: superagent.SuperAgentRequest): Promise<superagent.Response> => request.ok(() => true);
const idOf = (res: superagent.Response): string => (res.body as { id: string }).id;

describe("tags, header routing and prefix routes, against a real Consul", () => {
  let consul: ConsulAgent;
  const backends: Backend[] = [];
  let plain: TestGateway;
  let onlyV2: TestGateway;

  async function register(id: string, service: string, tags: string[]): Promise<Backend> {
    const backend = await startBackend(id);
    backends.push(backend);
    await consul.register(ttlRegistration(backend, service, { Tags: tags }));
    return backend;
  }

  before(async () => {
    consul = await ConsulAgent.start();
    await register("web-v1", "service-web", ["v1"]);
    await register("web-v2", "service-web", ["v2"]);
    await register("web-canary", "service-web", ["v2", "canary"]);
    await register("users-1", "users", ["urlprefix-/api strip=/api", "urlprefix-/echo"]);
    await register("users-2", "users", []);
    await register("users-v2", "users-v2", ["urlprefix-/api/v2 strip=/api/v2"]);
    await register("guarded", "guarded", ["urlprefix-/guarded allow=ip:10.0.0.0/8"]);
    // The tag header is off by default (docs/security.md): these gateways turn it on.
    plain = await startTestGateway(consul.address, { GATEWAY_BALANCER: "round-robin", GATEWAY_TAG_HEADER: "X-Gateway-Tag" });
    onlyV2 = await startTestGateway(consul.address, { GATEWAY_BALANCER: "round-robin", GATEWAY_SERVICE_TAGS: "service-web:v2", GATEWAY_TAG_HEADER: "X-Gateway-Tag" });
    await eventually(() => plain.store.current.catalog?.services.has("users-v2") && onlyV2.store.current.catalog?.services.has("users-v2"), 10_000, "the catalog");
  });

  after(async () => {
    await plain?.close();
    await onlyV2?.close();
    await Promise.all(backends.map((b) => b.close()));
    await consul?.destroy();
  });

  test("GATEWAY_SERVICE_TAGS limits a service to the instances with the tag", async () => {
    assert.deepEqual(Object.fromEntries(await countHits(onlyV2.url, 20)), { "web-canary": 10, "web-v2": 10 });
  });

  test("X-Gateway-Tag asks for a tag, on top of the configured ones", async () => {
    for (const [gateway, tag, expected] of [[plain, "v1", "web-v1"], [plain, "canary", "web-canary"], [onlyV2, "canary", "web-canary"]] as const) {
      const ids = new Set<string>();
      for (let i = 0; i < 6; i++) ids.add(idOf(await superagent.get(`${gateway.url}/service-web/getRemoteIp`).set("x-gateway-tag", tag)));
      assert.deepEqual([...ids], [expected], `tag ${tag}`);
    }
  });

  test("an unknown tag is 503 NO_HEALTHY_INSTANCE naming the tag", async () => {
    const res = await send(superagent.get(`${plain.url}/service-web/getRemoteIp`).set("x-gateway-tag", "v3"));
    assert.equal(res.status, 503);
    assert.deepEqual(res.body, { error: { code: "NO_HEALTHY_INSTANCE", message: 'no healthy instance carries the tag "v3"', service: "service-web" } });
    // v1 exists, but not together with the configured v2: both are named.
    const both = await send(superagent.get(`${onlyV2.url}/service-web/getRemoteIp`).set("x-gateway-tag", "v1"));
    assert.equal(both.status, 503);
    assert.match((both.body as { error: { message: string } }).error.message, /tags "v1", "v2"/);
  });

  test("header routing: /services with service_name and api_name reaches the service at that path", async () => {
    const res = await superagent.get(`${plain.url}/services?x=1`).set("service_name", "users").set("api_name", "/inspect/a%2Fb");
    const seen = res.body as { id: string; url: string; headers: Record<string, string> };
    assert.ok(["users-1", "users-2"].includes(seen.id));
    assert.equal(seen.url, "/inspect/a%2Fb?x=1");
    // The instance is addressed as itself: nothing in a header can name another host.
    const instance = backends.find((b) => b.id === seen.id)!;
    assert.equal(seen.headers.host, `127.0.0.1:${instance.port}`);
  });

  test("header routing: a header path that is not a plain path, or no service_name, is 400", async () => {
    for (const apiName of ["//127.0.0.1:1/x", "http://127.0.0.1:1/x", "/../b", "/a/%2e%2e/%2E%2E/b"]) {
      const res = await send(superagent.get(`${plain.url}/services`).set("service_name", "users").set("api_name", apiName));
      assert.equal(res.status, 400, apiName);
      assert.equal((res.body as { error: { code: string } }).error.code, "INVALID_PATH");
    }
    const noService = await send(superagent.get(`${plain.url}/services`).set("api_name", "/getRemoteIp"));
    assert.equal(noService.status, 400);
    assert.equal((noService.body as { error: { code: string } }).error.code, "INVALID_SERVICE_NAME");
  });

  test("prefix routes from urlprefix- tags: only tagged instances, strip applied, longest prefix wins, /<service>/ still works", async () => {
    assert.deepEqual(Object.fromEntries(await countHits(plain.url, 6, "/api/getRemoteIp")), { "users-1": 6 });
    assert.deepEqual(Object.fromEntries(await countHits(plain.url, 4, "/api/v2/getRemoteIp")), { "users-v2": 4 });
    assert.deepEqual(Object.fromEntries(await countHits(plain.url, 6, "/users/getRemoteIp")), { "users-1": 3, "users-2": 3 });
    // Without strip= the whole path goes upstream.
    const echoed = await superagent.post(`${plain.url}/echo/abc?q=1`).set("content-type", "text/plain").send("hi");
    assert.equal(echoed.headers["x-echo-url"], "/echo/abc?q=1");
    assert.equal(echoed.headers["x-echo-id"], "users-1");
  });

  test("a route tag with an option the gateway does not support (allow=) is not routed at all", async () => {
    // Kept, the tag route would win the tie with /guarded's own /<service> route and send the whole
    // path (no strip=), which service-web answers with 404. Dropped, the service route strips /guarded.
    const res = await send(superagent.get(`${plain.url}/guarded/getRemoteIp`));
    assert.equal(res.status, 200);
    assert.equal(idOf(res), "guarded");
  });

  test("a route registered while the gateway runs is served once Consul's catalog says so", async () => {
    const before = await send(superagent.get(`${plain.url}/late-route/getRemoteIp`));
    assert.equal((before.body as { error: { code: string } }).error.code, "UNKNOWN_SERVICE");
    await register("late-1", "late", ["urlprefix-/late-route strip=/late-route"]);
    await eventually(async () => {
      const res = await send(superagent.get(`${plain.url}/late-route/getRemoteIp`));
      return res.status === 200 && idOf(res) === "late-1";
    }, 10_000, "the new prefix route served");
  });
});
