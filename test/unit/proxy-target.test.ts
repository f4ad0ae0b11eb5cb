import { test } from "node:test";
import assert from "node:assert/strict";
import { parseProxyTarget } from "../../src/routing/request-target.js";
import { GatewayError } from "../../src/errors.js";

const cases: [string, string, string][] = [
  ["/service-web/getRemoteIp", "service-web", "/getRemoteIp"],
  ["/service-web", "service-web", "/"],
  ["/service-web/", "service-web", "/"],
  ["/service-web?x=1", "service-web", "/?x=1"],
  ["/svc/a%2Fb/c?y=%2F", "svc", "/a%2Fb/c?y=%2F"],
  ["/svc//double", "svc", "//double"],
  ["/svc/../x", "svc", "/../x"],
];

for (const [raw, service, path] of cases) {
  test(`${raw} → service ${service}, upstream ${path}`, () => {
    assert.deepEqual(parseProxyTarget(raw), { service, upstreamPath: path });
  });
}

const refused: [string, string][] = [
  ["http://evil.example/x", "INVALID_PATH"],
  ["*", "INVALID_PATH"],
  ["evil.example:80", "INVALID_PATH"],
  ["/", "ROUTE_NOT_FOUND"],
  ["//evil.example/x", "ROUTE_NOT_FOUND"],
  ["/a%2Fb/x", "INVALID_SERVICE_NAME"],
  ["/../etc", "INVALID_SERVICE_NAME"],
  ["/user@evil/x", "INVALID_SERVICE_NAME"],
  ["/ѕervice-web/x", "INVALID_SERVICE_NAME"],
];

for (const [raw, code] of refused) {
  test(`${JSON.stringify(raw)} is refused with ${code}`, () => {
    assert.throws(() => parseProxyTarget(raw), (err: unknown) => err instanceof GatewayError && err.code === code);
  });
}
