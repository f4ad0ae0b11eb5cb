import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { request } from "node:http";
import { ConsulAgent } from "../support/consul.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";

/** Sends a request with a raw request target, as superagent cannot (`*`, an absolute URL). */
function raw(port: number, method: string, target: string): Promise<{ status: number; body: { error: { code: string } } }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, method, path: target, headers: { host: "gateway.test" } }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (text += chunk));
      res.on("end", () => resolve({ status: res.statusCode!, body: JSON.parse(text) as { error: { code: string } } }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("request targets that are not a path are refused before any routing", () => {
  let consul: ConsulAgent;
  let gateway: TestGateway;

  before(async () => {
    consul = await ConsulAgent.start();
    gateway = await startTestGateway(consul.address);
  });

  after(async () => {
    await gateway?.close();
    await consul?.destroy();
  });

  test("OPTIONS * → 400 INVALID_PATH", async () => {
    const res = await raw(gateway.port, "OPTIONS", "*");
    assert.equal(res.status, 400);
    assert.equal(res.body.error.code, "INVALID_PATH");
  });

  test("an absolute URL as the target can never choose the host: 400 INVALID_PATH", async () => {
    const res = await raw(gateway.port, "GET", "http://127.0.0.1:8500/v1/agent/self");
    assert.equal(res.status, 400);
    assert.equal(res.body.error.code, "INVALID_PATH");
  });

  test("/ → 404 ROUTE_NOT_FOUND", async () => {
    const res = await raw(gateway.port, "GET", "/");
    assert.equal(res.status, 404);
    assert.equal(res.body.error.code, "ROUTE_NOT_FOUND");
  });
});
