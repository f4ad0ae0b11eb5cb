import { test } from "node:test";
import assert from "node:assert/strict";
import { instancePath, parseInstanceNode, registrationBody, servicePath } from "../../src/discovery/registries/zookeeper-layout.js";

test("paths follow Registrator's layout: /services/<name>/<ip>:<port>", () => {
  assert.equal(servicePath("service-web"), "/services/service-web");
  assert.equal(instancePath({ name: "service-web", address: "10.0.0.7", port: 8080 }), "/services/service-web/10.0.0.7:8080");
});

test("the body is Registrator's ZnodeBody, field for field", () => {
  const body = JSON.parse(registrationBody({ id: "web-1", name: "service-web", address: "10.0.0.7", port: 8080, tags: ["v1"], meta: { zone: "a" } }).toString());
  assert.deepEqual(body, { Name: "service-web", IP: "10.0.0.7", PublicPort: 8080, PrivatePort: 8080, ContainerID: "web-1", Tags: ["v1"], Attrs: { zone: "a" } });
});

test("a node named ip:port with a Registrator body becomes an instance with its tags and attributes", () => {
  const data = Buffer.from(JSON.stringify({ Name: "api", IP: "10.0.0.7", PublicPort: 8080, PrivatePort: 80, ContainerID: "c0ffee", Tags: ["v1", 2], Attrs: { zone: "a", n: 1 } }));
  assert.deepEqual(parseInstanceNode("10.0.0.7:8080", data), {
    instance: { id: "10.0.0.7:8080", address: "10.0.0.7", port: 8080, tags: ["v1"], meta: { zone: "a" }, health: "passing", weights: { passing: 1, warning: 1 } },
  });
});

test("the node name decides the address and port, whatever the body says", () => {
  const data = Buffer.from(JSON.stringify({ IP: "192.0.2.1", PublicPort: 1 }));
  assert.deepEqual(parseInstanceNode("10.0.0.7:8080", data), { instance: { id: "10.0.0.7:8080", address: "10.0.0.7", port: 8080, tags: [], meta: {}, health: "passing", weights: { passing: 1, warning: 1 } } });
});

for (const [what, data] of [
  ["no data", undefined],
  ["empty data", Buffer.alloc(0)],
  ["data that is not JSON", Buffer.from("hello")],
  ["Go's null tags and attributes", Buffer.from('{"Tags":null,"Attrs":null}')],
  ["a JSON array", Buffer.from("[1,2]")],
] as const) {
  test(`a node with ${what} still counts, without tags or meta`, () => {
    assert.deepEqual(parseInstanceNode("web.internal:80", data), { instance: { id: "web.internal:80", address: "web.internal", port: 80, tags: [], meta: {}, health: "passing", weights: { passing: 1, warning: 1 } } });
  });
}

test("IPv6 node names, bracketed or not, split at the last colon", () => {
  assert.deepEqual(parseInstanceNode("[::1]:8080", undefined), { instance: { id: "[::1]:8080", address: "::1", port: 8080, tags: [], meta: {}, health: "passing", weights: { passing: 1, warning: 1 } } });
  assert.deepEqual(parseInstanceNode("fd00::7:8080", undefined), { instance: { id: "fd00::7:8080", address: "fd00::7", port: 8080, tags: [], meta: {}, health: "passing", weights: { passing: 1, warning: 1 } } });
});

for (const name of ["not-an-address", ":8080", "10.0.0.7:", "10.0.0.7:0", "10.0.0.7:65536", "10.0.0.7:80x", "evil.com/x:80", "a@b:80"]) {
  test(`a node named ${JSON.stringify(name)} is skipped with a reason`, () => {
    const parsed = parseInstanceNode(name, undefined);
    assert.ok("skipped" in parsed && /is not host:port/.test(parsed.skipped), JSON.stringify(parsed));
  });
}
