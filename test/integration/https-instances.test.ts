/**
 * Instances that serve HTTPS (Consul meta gateway-protocol=https): the
 * gateway connects with TLS and checks their certificates against
 * GATEWAY_UPSTREAM_CA; WebSocket upgrades to them go over TLS too.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:https";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import superagent from "superagent";
import { WebSocketServer } from "ws";
import { ConsulAgent } from "../support/consul.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";
import { makeCertificates, type CertificateFiles } from "../support/tls.js";
import { attachEcho, closed, nextMessage, openWebSocket } from "../support/websocket.js";

const ttl = { TTL: "1h", Status: "passing" };

async function startHttpsBackend(certs: CertificateFiles, id: string): Promise<{ port: number; server: Server; close(): Promise<void> }> {
  const server = createServer({ cert: certs.read(certs.serverCert), key: certs.read(certs.serverKey) }, (req, res) => {
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify({ id, path: req.url, encrypted: "encrypted" in req.socket, proto: req.headers["x-forwarded-proto"] }));
  });
  attachEcho(new WebSocketServer({ server }), id);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    port: (server.address() as AddressInfo).port,
    server,
    close: () => new Promise<void>((resolve) => { server.close(() => resolve()); server.closeAllConnections(); }),
  };
}

describe("HTTPS instances", () => {
  let certs: CertificateFiles;
  let consul: ConsulAgent;
  let backend: Awaited<ReturnType<typeof startHttpsBackend>>;
  let trusting: TestGateway;
  let untrusting: TestGateway;

  before(async () => {
    certs = makeCertificates();
    consul = await ConsulAgent.start();
    backend = await startHttpsBackend(certs, "tls-1");
    await consul.register({ ID: "tls-1", Name: "tls-web", Address: "127.0.0.1", Port: backend.port, Meta: { "gateway-protocol": "https" }, Check: ttl });
    // The same port registered without the meta: the gateway speaks plain HTTP to a TLS port.
    await consul.register({ ID: "tls-plain", Name: "tls-unmarked", Address: "127.0.0.1", Port: backend.port, Check: ttl });
    trusting = await startTestGateway(consul.address, { GATEWAY_SERVICES: "tls-web,tls-unmarked", GATEWAY_UPSTREAM_CA: certs.caFile });
    untrusting = await startTestGateway(consul.address, { GATEWAY_SERVICES: "tls-web" });
  });

  after(async () => {
    await trusting?.close();
    await untrusting?.close();
    await backend?.close();
    await consul?.destroy();
    certs?.remove();
  });

  test("gateway-protocol=https: the request reaches the instance over TLS, its certificate checked against GATEWAY_UPSTREAM_CA", async () => {
    const res = await superagent.get(`${trusting.url}/tls-web/hello?x=1`);
    assert.deepEqual(res.body, { id: "tls-1", path: "/hello?x=1", encrypted: true, proto: "http" });
  });

  test("an instance certificate the gateway does not trust is a JSON 502, not a silent downgrade", async () => {
    const res = await superagent.get(`${untrusting.url}/tls-web/hello`).ok(() => true);
    assert.equal(res.status, 502);
    assert.equal((res.body as { error: { code: string } }).error.code, "UPSTREAM_ERROR");
  });

  test("without the meta the instance is spoken to in plain HTTP, which a TLS port refuses: a JSON 502", async () => {
    const res = await superagent.get(`${trusting.url}/tls-unmarked/hello`).ok(() => true);
    assert.equal(res.status, 502);
  });

  test("a WebSocket upgrade to an HTTPS instance goes over TLS", async () => {
    const socket = await openWebSocket(`ws://127.0.0.1:${trusting.port}/tls-web/socket`);
    socket.send("whoami");
    assert.equal((await nextMessage(socket)).data.toString(), "tls-1");
    socket.close();
    await closed(socket);
  });
});
