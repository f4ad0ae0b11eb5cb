/**
 * What reaches the edge is a decision: a service tagged gateway.enable=false
 * (or, with GATEWAY_EXPOSED_BY_DEFAULT=false, one not tagged
 * gateway.enable=true, or one outside GATEWAY_CONSTRAINTS) is answered
 * exactly like a service the registry does not know, through every way in
 * (/<service>/..., header routing, its prefix routes), and the gateway keeps
 * no watch on it.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import superagent from "superagent";
import { ConsulAgent } from "../support/consul.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";
import { startRecordingInstance, type RecordingInstance } from "../support/recording-instance.js";
import { eventually } from "../support/wait.js";

interface Answer {
  status: number;
  code: string | undefined;
  message: string | undefined;
  id: string | undefined;
}

async function ask(gateway: TestGateway, path: string, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await superagent.get(gateway.url + path).set(headers).ok(() => true);
  const body = res.body as { id?: string; error?: { code: string; message: string } };
  return { status: res.status, code: body.error?.code, message: body.error?.message, id: body.id };
}

/** Three ways in to `service`: its own path, header routing, and its prefix route when it has one. */
function waysIn(service: string, prefix?: string): { name: string; path: string; headers?: Record<string, string> }[] {
  return [
    { name: "/<service>/", path: `/${service}/x` },
    { name: "header routing", path: "/services", headers: { service_name: service, api_name: "/x" } },
    ...(prefix === undefined ? [] : [{ name: "prefix route", path: `${prefix}/x` }]),
  ];
}

describe("exposure policy", () => {
  let consul: ConsulAgent;
  const instances: RecordingInstance[] = [];
  const gateways: TestGateway[] = [];
  /** Exposed by default (today's behaviour). */
  let open: TestGateway;
  /** GATEWAY_EXPOSED_BY_DEFAULT=false: only services tagged gateway.enable=true. */
  let optIn: TestGateway;
  /** GATEWAY_CONSTRAINTS: only services whose tags match the expression. */
  let constrained: TestGateway;

  const unknownAnswer = async (gateway: TestGateway, name: string): Promise<Answer> => ask(gateway, `/${name}/x`);

  async function register(id: string, name: string, tags: string[]): Promise<RecordingInstance> {
    let instance = instances.find((i) => i.id === id);
    if (instance === undefined) {
      instance = await startRecordingInstance(id);
      instances.push(instance);
    }
    await consul.register({ ID: id, Name: name, Address: "127.0.0.1", Port: instance.port, Tags: tags, Check: { TTL: "1h", Status: "passing" } });
    return instance;
  }

  const received = (): number => instances.reduce((n, i) => n + i.received.length, 0);

  before(async () => {
    consul = await ConsulAgent.start();
    await register("web-1", "web", ["edge", "urlprefix-/web-route strip=/web-route"]);
    await register("internal-1", "admin-internal", ["gateway.enable=false", "urlprefix-/internal strip=/internal"]);
    await register("opted-1", "opted", ["gateway.enable=true", "urlprefix-/opted-route strip=/opted-route"]);
    open = await startTestGateway(consul.address, { GATEWAY_SERVICES: "web,admin-internal" });
    optIn = await startTestGateway(consul.address, { GATEWAY_EXPOSED_BY_DEFAULT: "false" });
    constrained = await startTestGateway(consul.address, { GATEWAY_CONSTRAINTS: "Tag(`edge`) && !Tag(`gateway.enable=false`)" });
    gateways.push(open, optIn, constrained);
    await eventually(async () => (await ask(open, "/web/x")).status === 200, 30_000, "web served");
  });

  after(async () => {
    await Promise.all(gateways.map((g) => g.close()));
    await Promise.all(instances.map((i) => i.close()));
    await consul?.destroy();
  });

  test("a service tagged gateway.enable=false is answered like an unknown one, every way in", async () => {
    const unknown = await unknownAnswer(open, "no-such-service");
    assert.equal(unknown.code, "UNKNOWN_SERVICE");
    const before = received();
    for (const way of waysIn("admin-internal", "/internal")) {
      const answer = await ask(open, way.path, way.headers);
      assert.deepEqual({ ...answer, id: undefined }, { ...unknown, id: undefined }, `${way.name}: ${JSON.stringify(answer)}`);
    }
    assert.equal(received(), before, "the hidden service's instance received a request");
  });

  test("no watch is kept on a hidden service, even one named in GATEWAY_SERVICES", async () => {
    await eventually(() => open.store.current.catalog !== undefined && open.store.current.get("web") !== undefined, 30_000, "catalog and web");
    await eventually(() => open.store.current.get("admin-internal") === undefined, 30_000, "admin-internal dropped from the route table");
    await ask(open, "/admin-internal/x");
    const routes = await superagent.get(`${open.adminUrl}/routes`);
    assert.ok(!JSON.stringify(routes.body).includes("internal-1"), "the admin API lists the hidden service's instance");
    assert.equal(open.store.current.get("admin-internal"), undefined);
  });

  test("exposed services still answer every way in", async () => {
    for (const [service, prefix, id] of [["web", "/web-route", "web-1"], ["opted", "/opted-route", "opted-1"]] as const) {
      for (const way of waysIn(service, prefix)) {
        const answer = await ask(open, way.path, way.headers);
        assert.equal(answer.status, 200, `${service} ${way.name}: ${JSON.stringify(answer)}`);
        assert.equal(answer.id, id);
      }
    }
  });

  test("GATEWAY_EXPOSED_BY_DEFAULT=false: only services tagged gateway.enable=true", async () => {
    await eventually(async () => (await ask(optIn, "/opted/x")).status === 200, 30_000, "opted served");
    for (const way of waysIn("opted", "/opted-route")) {
      assert.equal((await ask(optIn, way.path, way.headers)).id, "opted-1", way.name);
    }
    const unknown = await unknownAnswer(optIn, "no-such-service");
    const before = received();
    for (const [service, prefix] of [["web", "/web-route"], ["admin-internal", "/internal"]] as const) {
      for (const way of waysIn(service, prefix)) {
        const answer = await ask(optIn, way.path, way.headers);
        assert.deepEqual({ ...answer, id: undefined }, { ...unknown, id: undefined }, `${service} ${way.name}: ${JSON.stringify(answer)}`);
      }
    }
    assert.equal(received(), before);
    assert.equal(optIn.store.current.get("web"), undefined, "a watch was opened on a service not opted in");
  });

  test("GATEWAY_CONSTRAINTS: only services whose tags match the expression", async () => {
    await eventually(async () => (await ask(constrained, "/web/x")).status === 200, 30_000, "web served");
    assert.equal((await ask(constrained, "/web-route/x")).id, "web-1");
    for (const way of waysIn("opted", "/opted-route")) {
      assert.equal((await ask(constrained, way.path, way.headers)).code, "UNKNOWN_SERVICE", `opted ${way.name}`);
    }
  });

  test("a service that stops being exposed is hidden and its watch dropped", async () => {
    await register("flip-1", "flip", []);
    await eventually(async () => (await ask(open, "/flip/x")).id === "flip-1", 30_000, "flip served");
    assert.ok(open.store.current.get("flip") !== undefined);
    await register("flip-1", "flip", ["gateway.enable=false"]);
    await eventually(async () => (await ask(open, "/flip/x")).code === "UNKNOWN_SERVICE", 30_000, "flip hidden");
    await eventually(() => open.store.current.get("flip") === undefined, 30_000, "flip's entry dropped");
  });
});
