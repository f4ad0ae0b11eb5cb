/**
 * gRPC through the gateway: a real @grpc/grpc-js client and real grpc-js
 * servers (each its own process, so that one can be killed with SIGKILL),
 * registered in a real Consul as h2c instances and routed by a Fabio-style
 * prefix tag on the gRPC service's path (`urlprefix-/test.Echo`).
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { join, resolve } from "node:path";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as grpc from "@grpc/grpc-js";
import { ConsulAgent } from "../support/consul.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";
import { echoClient, unary, ECHO_SERVICE_PATH, type EchoClient, type EchoMessage } from "../support/grpc-echo.js";
import { freePorts } from "../support/ports.js";
import { startTs, type Started } from "../support/processes.js";
import { TestCertificates } from "../support/test-certificates.js";
import { eventually, within } from "../support/wait.js";

const SERVER_MAIN = resolve(import.meta.dirname, "../support/grpc-echo-main.ts");

async function startEchoProcess(id: string, port: number): Promise<Started> {
  const started = startTs(SERVER_MAIN, [id, String(port)]);
  await started.waitForOutput(/listening \d+/, 30_000);
  return started;
}

function grpcError(err: unknown): grpc.ServiceError {
  assert.ok(err instanceof Error && "code" in err, `expected a gRPC error, got ${String(err)}`);
  return err as grpc.ServiceError;
}

describe("gRPC through the gateway to h2c instances", () => {
  let consul: ConsulAgent;
  let certs: TestCertificates;
  let servers: Map<string, Started>;
  let gateway: TestGateway;
  let client: EchoClient;
  let logDir: string;

  before(async () => {
    logDir = mkdtempSync(join(tmpdir(), "kcg-grpc-log-"));
    certs = TestCertificates.create();
    const leaf = certs.issue(["localhost"]);
    consul = await ConsulAgent.start();
    const [portA, portB] = (await freePorts(2)) as [number, number];
    servers = new Map([
      ["grpc-a", await startEchoProcess("grpc-a", portA)],
      ["grpc-b", await startEchoProcess("grpc-b", portB)],
    ]);
    // One says h2c in its meta, the other in a tag the way Traefik users write it.
    await consul.register({ ID: "grpc-a", Name: "echo-grpc", Address: "127.0.0.1", Port: portA, Tags: [`urlprefix-${ECHO_SERVICE_PATH}`], Meta: { "gateway-protocol": "h2c" }, Check: { TTL: "1h", Status: "passing" } });
    await consul.register({
      ID: "grpc-b",
      Name: "echo-grpc",
      Address: "127.0.0.1",
      Port: portB,
      Tags: [`urlprefix-${ECHO_SERVICE_PATH}`, "traefik.http.services.echo.loadbalancer.server.scheme=h2c"],
      Check: { TTL: "1h", Status: "passing" },
    });
    gateway = await startTestGateway(consul.address, {
      GATEWAY_SERVICES: "echo-grpc",
      GATEWAY_H2C: "true",
      GATEWAY_HTTPS_PORT: "0",
      GATEWAY_TLS_CERT: leaf.certFile,
      GATEWAY_TLS_KEY: leaf.keyFile,
      GATEWAY_BALANCER: "round-robin",
      GATEWAY_ACCESS_LOG: join(logDir, "access.log"),
    });
    // The prefix route exists once the watcher delivered the instances with their tags.
    client = echoClient(`127.0.0.1:${gateway.port}`);
    await eventually(async () => (await unary(client, { text: "ready" })).answer.text === "ready", 30_000, "the gRPC route");
  });

  after(async () => {
    client?.close();
    await gateway?.close();
    for (const server of servers?.values() ?? []) await server.stop();
    await consul?.destroy();
    certs?.destroy();
    if (logDir) rmSync(logDir, { recursive: true, force: true });
  });

  test("unary calls reach both instances, with their trailers (grpc-status and custom metadata) and request metadata", async () => {
    const from = new Set<string>();
    for (let i = 0; i < 4; i++) {
      const metadata = new grpc.Metadata();
      metadata.set("x-test-header", `call-${i}`);
      const { answer, trailers } = await unary(client, { text: `hello ${i}` }, {}, metadata);
      assert.equal(answer.text, `hello ${i}`);
      assert.equal(trailers.get("x-echo-from")[0], answer.from);
      assert.equal(trailers.get("x-echo-header")[0], `call-${i}`);
      from.add(answer.from!);
    }
    assert.deepEqual([...from].sort(), ["grpc-a", "grpc-b"]);
  });

  test("an error status with its message passes through (a trailers-only answer)", async () => {
    const err = grpcError(await unary(client, { text: "fail" }).catch((e: unknown) => e));
    assert.equal(err.code, grpc.status.NOT_FOUND);
    assert.equal(err.details, "no such thing");
  });

  test("server streaming: every message, in order", async () => {
    const call = client.ServerStream({ text: "tick", count: 20 });
    const texts: string[] = [];
    for await (const message of call as AsyncIterable<EchoMessage>) texts.push(message.text);
    assert.deepEqual(texts, Array.from({ length: 20 }, (_, i) => `tick ${i}`));
  });

  test("client streaming: the instance sees every message the client wrote", async () => {
    const answer = await new Promise<EchoMessage>((resolve, reject) => {
      const call = client.ClientStream(new grpc.Metadata(), {}, (err, value) => (err ? reject(err) : resolve(value!)));
      for (const text of ["a", "b", "c", "d"]) call.write({ text });
      call.end();
    });
    assert.equal(answer.text, "a,b,c,d");
  });

  test("bidirectional streaming: each message answered", async () => {
    const call = client.Bidi();
    const answers: string[] = [];
    call.on("data", (message: EchoMessage) => answers.push(message.text));
    const ended = new Promise((resolve, reject) => {
      call.on("end", resolve);
      call.on("error", reject);
    });
    for (const text of ["x", "y", "z"]) call.write({ text });
    call.end();
    await within(ended, 15_000, "the end of the bidi call");
    assert.deepEqual(answers, ["x", "y", "z"]);
  });

  test("a deadline shorter than the instance's answer: DEADLINE_EXCEEDED, and the gateway goes on", async () => {
    const err = grpcError(await unary(client, { text: "slow", delayMs: 5_000 }, { deadline: Date.now() + 300 }).catch((e: unknown) => e));
    assert.equal(err.code, grpc.status.DEADLINE_EXCEEDED);
    assert.equal((await unary(client, { text: "after" })).answer.text, "after");
  });

  test("grpc-status is counted in the metrics' status class: NOT_FOUND as 4xx though HTTP said 200", async () => {
    const count = async (statusClass: string): Promise<number> => {
      const text = await (await fetch(`${gateway.adminUrl}/metrics`)).text();
      return text
        .split("\n")
        .filter((l) => l.startsWith("gateway_requests_total{") && l.includes('service="echo-grpc"') && l.includes(`status_class="${statusClass}"`))
        .reduce((sum, l) => sum + Number(l.split(" ").at(-1)), 0);
    };
    const before4xx = await count("4xx");
    const before2xx = await count("2xx");
    await unary(client, { text: "fail" }).catch(() => undefined);
    await unary(client, { text: "fine" });
    assert.equal(await count("4xx"), before4xx + 1);
    assert.equal(await count("2xx"), before2xx + 1);
    // The access log has the call with its HTTP status and its grpc-status.
    const entry = await eventually(() => {
      let text = "";
      try {
        text = readFileSync(join(logDir, "access.log"), "utf8");
      } catch {
        return undefined;
      }
      const lines = text.trim().split("\n").filter(Boolean).map((line) => JSON.parse(line) as { path: string; status: number; grpcStatus?: string; service?: string });
      return lines.find((line) => line.path === "/test.Echo/Unary" && line.grpcStatus === "5");
    }, 15_000, "the access log line of the failed call");
    assert.equal(entry.status, 200);
    assert.equal(entry.service, "echo-grpc");
  });

  test("gRPC over the HTTPS port (h2 by ALPN) with the CA as the client's trust", async () => {
    const tlsClient = echoClient(`localhost:${gateway.httpsPort}`, grpc.credentials.createSsl(Buffer.from(certs.ca)));
    try {
      const { answer } = await unary(tlsClient, { text: "over tls" });
      assert.equal(answer.text, "over tls");
    } finally {
      tlsClient.close();
    }
  });

  test("an instance killed mid-stream: the client gets an error, not a hang, and later calls go to the survivor", async () => {
    const call = client.ServerStream({ text: "long", count: 1_000, intervalMs: 20 });
    const first = await within(
      new Promise<EchoMessage>((resolve, reject) => {
        call.once("data", resolve);
        call.once("error", reject);
      }),
      15_000,
      "the first streamed message",
    );
    const victim = first.from!;
    const ended = new Promise<grpc.ServiceError | undefined>((resolve) => {
      call.on("error", (err: grpc.ServiceError) => resolve(err));
      call.on("end", () => resolve(undefined));
      call.on("data", () => {});
    });
    servers.get(victim)!.child.kill("SIGKILL");
    const err = await within(ended, 15_000, "the stream to end after the kill");
    assert.ok(err !== undefined, "the stream must fail, not end as if complete");
    assert.notEqual(err.code, grpc.status.OK);
    const survivor = victim === "grpc-a" ? "grpc-b" : "grpc-a";
    // The dead instance is still registered: connect failures are retried on the survivor.
    for (let i = 0; i < 4; i++) assert.equal((await unary(client, { text: `after ${i}` })).answer.from, survivor);
  });
});
