import { test } from "node:test";
import assert from "node:assert/strict";
import { acceptsTrailers } from "../../src/proxy/trailers.js";
import { askToCloseConnection, downstreamTrailers, http1RequestHeaders, httpStatusOfGrpc, requestHost, requestScheme } from "../../src/proxy/h2-headers.js";
import { speaksH2c } from "../../src/proxy/instance-protocol.js";
import { instance } from "../support/instances.js";
import { loadConfig, ConfigError } from "../../src/config.js";

test("an HTTP/2 request's headers for HTTP/1.1: no pseudo-headers, :authority as Host, cookies joined", () => {
  const raw = [":method", "GET", ":path", "/x", ":scheme", "https", ":authority", "api.test", "cookie", "a=1", "accept", "*/*", "cookie", "b=2"];
  assert.deepEqual(http1RequestHeaders(raw), ["accept", "*/*", "host", "api.test", "cookie", "a=1; b=2"]);
});

test("a Host the HTTP/2 client sent itself is kept, and :authority adds no second one", () => {
  assert.deepEqual(http1RequestHeaders([":authority", "a.test", "host", "b.test"]), ["host", "b.test"]);
});

test("requestHost: Host, else :authority", () => {
  assert.equal(requestHost({ host: "h.test" }), "h.test");
  assert.equal(requestHost({ ":authority": "a.test" }), "a.test");
  assert.equal(requestHost({}), undefined);
});

test("the scheme comes from the connection, never from a header", () => {
  assert.equal(requestScheme({ socket: { encrypted: true } }), "https");
  assert.equal(requestScheme({ socket: {} }), "http");
  assert.equal(requestScheme({ socket: null }), "http");
});

const teCases: [string | string[] | undefined, boolean][] = [
  ["trailers", true],
  ["Trailers", true],
  ["gzip, trailers", true],
  ["trailers;q=0.5", true],
  [["deflate", "trailers"], true],
  ["gzip", false],
  ["trailersx", false],
  [undefined, false],
];
for (const [te, expected] of teCases) {
  test(`TE ${JSON.stringify(te)}: trailers accepted = ${expected}`, () => assert.equal(acceptsTrailers(te), expected));
}

test("trailers passed on lose framing, routing and connection fields and pseudo-headers; none left is undefined", () => {
  assert.deepEqual(downstreamTrailers({ "grpc-status": "0", "grpc-message": "ok", "content-length": "3", connection: "x", ":status": "200", "transfer-encoding": "chunked" }), { "grpc-status": "0", "grpc-message": "ok" });
  assert.equal(downstreamTrailers({ "content-length": "1" }), undefined);
  assert.equal(downstreamTrailers(null), undefined);
});

test("gRPC statuses map to the HTTP status they stand for", () => {
  assert.equal(httpStatusOfGrpc("0"), 200);
  assert.equal(httpStatusOfGrpc("5"), 404);
  assert.equal(httpStatusOfGrpc("14"), 503);
  assert.equal(httpStatusOfGrpc("4"), 504);
  assert.equal(httpStatusOfGrpc("16"), 401);
  assert.equal(httpStatusOfGrpc("99"), 500);
  assert.equal(httpStatusOfGrpc("x"), undefined);
  assert.equal(httpStatusOfGrpc(undefined), undefined);
});

test("Connection: close is asked for on HTTP/1.1 only (HTTP/2 forbids the header)", () => {
  const set: string[] = [];
  const res = { setHeader: (name: string, value: string) => set.push(`${name}: ${value}`) };
  askToCloseConnection({ httpVersionMajor: 2 }, res);
  assert.deepEqual(set, []);
  askToCloseConnection({ httpVersionMajor: 1 }, res);
  assert.deepEqual(set, ["Connection: close"]);
});

test("h2c instances: meta gateway-protocol=h2c, or a tag scheme=h2c (Traefik's form too)", () => {
  assert.equal(speaksH2c(instance("a", { meta: { "gateway-protocol": "h2c" } })), true);
  assert.equal(speaksH2c(instance("b", { tags: ["scheme=h2c"] })), true);
  assert.equal(speaksH2c(instance("c", { tags: ["traefik.http.services.x.loadbalancer.server.scheme=h2c"] })), true);
  assert.equal(speaksH2c(instance("d", { tags: ["scheme=http"], meta: { "gateway-protocol": "http" } })), false);
  assert.equal(speaksH2c(instance("e")), false);
});

const tlsSettings: [string, Record<string, string>, RegExp][] = [
  ["GATEWAY_TLS_KEY", { GATEWAY_TLS_CERT: "/c.pem" }, /a certificate and its key go together/],
  ["GATEWAY_TLS_CERT", { GATEWAY_TLS_KEY: "/k.pem" }, /a certificate and its key go together/],
  ["GATEWAY_HTTPS_PORT", { GATEWAY_HTTPS_PORT: "8443" }, /needs a certificate/],
  ["GATEWAY_HTTPS_REDIRECT", { GATEWAY_HTTPS_REDIRECT: "true" }, /need GATEWAY_HTTPS_PORT/],
  ["GATEWAY_H2C", { GATEWAY_H2C: "yes" }, /expected true or false/],
  ["GATEWAY_HTTPS_PORT", { GATEWAY_HTTPS_PORT: "70000", GATEWAY_TLS_DIR: "/d" }, /0 to 65535/],
];
for (const [setting, env, pattern] of tlsSettings) {
  test(`TLS settings ${JSON.stringify(env)} are refused, naming ${setting}`, () => {
    assert.throws(() => loadConfig(env), (err: unknown) => err instanceof ConfigError && err.setting === setting && pattern.test(err.message));
  });
}

test("TLS settings that go together are accepted", () => {
  const config = loadConfig({ GATEWAY_HTTPS_PORT: "8443", GATEWAY_TLS_CERT: "/c.pem", GATEWAY_TLS_KEY: "/k.pem", GATEWAY_HTTPS_REDIRECT: "true", GATEWAY_H2C: "true" });
  assert.equal(config.httpsPort, 8443);
  assert.equal(config.h2c, true);
  assert.equal(loadConfig({}).httpsPort, undefined);
  assert.equal(loadConfig({ GATEWAY_HTTPS_PORT: "8443", GATEWAY_TLS_DIR: "/certs" }).tlsDir, "/certs");
});
