import { after, before, describe, test } from "node:test";
import { request } from "node:http";
import { ConsulAgent } from "../support/consul.js";
import { startBackend, type Backend } from "../support/backends.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";
import { eventually } from "../support/wait.js";

/**
 * Opens a request (a POST's body never ends) and cuts the connection once
 * `cutWhen` resolves or the response headers arrive: the client going away.
 */
async function cutRequest(method: "GET" | "POST", url: string, cutWhen: "response headers" | (() => Promise<unknown>)): Promise<void> {
  const req = request(url, { method, headers: { "content-type": "application/octet-stream" } });
  req.on("error", () => {});
  if (method === "POST") req.write("first chunk of a body that never ends\n");
  else req.end();
  if (cutWhen === "response headers") {
    await new Promise((resolve) => req.on("response", (res) => resolve(res.on("error", () => {}))));
  } else {
    await cutWhen();
  }
  req.destroy();
}

describe("a client that goes away stops the upstream request", () => {
  let consul: ConsulAgent;
  let backend: Backend;
  let gateway: TestGateway;
  /** Requests the backend received, and answers of it that were cut before they ended. */
  let upstreamSeen = 0;
  let upstreamAborted = 0;

  before(async () => {
    consul = await ConsulAgent.start();
    backend = await startBackend("abort-1");
    backend.server.on("request", (_req, res) => {
      upstreamSeen++;
      res.on("close", () => void (res.writableFinished ? 0 : upstreamAborted++));
    });
    await consul.register({ ID: "abort-1", Name: "service-web", Address: "127.0.0.1", Port: backend.port, Check: { TTL: "1h", Status: "passing" } });
    gateway = await startTestGateway(consul.address, { GATEWAY_SERVICES: "service-web" });
    await eventually(() => gateway.store.current.get("service-web")?.instances.length === 1, 10_000, "the instance in the table");
  });

  after(async () => {
    await gateway?.close();
    await backend?.close();
    await consul?.destroy();
  });

  test("before the instance answered: the upstream request is cut and nothing stays in flight", async () => {
    const [seen, before] = [upstreamSeen, upstreamAborted];
    await cutRequest("GET", `${gateway.url}/service-web/slow?ms=60000`, () => eventually(() => upstreamSeen > seen, 10_000, "the request at the backend"));
    await eventually(() => upstreamAborted > before, 10_000, "the backend's request cut");
    await eventually(() => gateway.stats.peek(`${consul.node}/abort-1`)?.inFlight === 0, 10_000, "nothing in flight");
  });

  test("while the answer streams (/echo): the upstream request is cut and nothing stays in flight", async () => {
    const before = upstreamAborted;
    await cutRequest("POST", `${gateway.url}/service-web/echo/stream`, "response headers");
    await eventually(() => upstreamAborted > before, 10_000, "the backend's request cut");
    await eventually(() => gateway.stats.peek(`${consul.node}/abort-1`)?.inFlight === 0, 10_000, "nothing in flight");
  });
});
