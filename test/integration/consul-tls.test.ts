/**
 * The gateway reaching Consul over TLS with Consul's own settings
 * (CONSUL_HTTP_ADDR=https://..., CONSUL_CACERT, CONSUL_CLIENT_CERT,
 * CONSUL_CLIENT_KEY, CONSUL_TLS_SERVER_NAME, CONSUL_HTTP_SSL_VERIFY) and a
 * datacenter (CONSUL_DATACENTER), against a real agent that serves HTTPS only
 * and requires client certificates (verify_incoming).
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import superagent from "superagent";
import { startBackend, type Backend } from "../support/backends.js";
import { ConsulTlsAgent } from "../support/consul-tls.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";
import { makeCertificates, type CertificateFiles } from "../support/tls.js";

const ttl = { TTL: "1h", Status: "passing" };

describe("TLS to Consul", () => {
  let certs: CertificateFiles;
  let consul: ConsulTlsAgent;
  let backend: Backend;
  const gateways: TestGateway[] = [];

  /** A gateway with the given Consul settings; closed after the file. */
  async function gatewayWith(env: Record<string, string>): Promise<TestGateway> {
    const gateway = await startTestGateway(
      { CONSUL_HTTP_ADDR: consul.url, GATEWAY_DISCOVERY_TIMEOUT_MS: "4000", ...env },
      {},
    );
    gateways.push(gateway);
    return gateway;
  }

  const fullTls = (): Record<string, string> => ({
    CONSUL_CACERT: certs.caFile,
    CONSUL_CLIENT_CERT: certs.clientCert,
    CONSUL_CLIENT_KEY: certs.clientKey,
  });

  async function status(gateway: TestGateway): Promise<{ status: number; body: { id?: string; error?: { code: string } } }> {
    const res = await superagent.get(`${gateway.url}/secure-web/getRemoteIp`).ok(() => true);
    return { status: res.status, body: res.body as { id?: string; error?: { code: string } } };
  }

  before(async () => {
    certs = makeCertificates("dc1");
    consul = await ConsulTlsAgent.start(certs);
    backend = await startBackend("secure-1");
    await consul.register({ ID: "secure-1", Name: "secure-web", Address: "127.0.0.1", Port: backend.port, Check: ttl });
  });

  after(async () => {
    for (const gateway of gateways) await gateway.close();
    await backend?.close();
    await consul?.destroy();
    certs?.remove();
  });

  test("the agent itself refuses a client without a certificate (verify_incoming is on)", async () => {
    await assert.rejects(consul.call("GET", "/v1/status/leader", undefined, { client: false }));
  });

  test("with the CA, a client certificate and the datacenter, services are discovered and proxied", async () => {
    const gateway = await gatewayWith({ ...fullTls(), CONSUL_DATACENTER: "dc1" });
    const res = await status(gateway);
    assert.equal(res.status, 200);
    assert.equal(res.body.id, "secure-1");
  });

  test("CONSUL_TLS_SERVER_NAME is the name the agent's certificate is checked against", async () => {
    const right = await gatewayWith({ ...fullTls(), CONSUL_TLS_SERVER_NAME: "server.dc1.consul" });
    assert.equal((await status(right)).status, 200);
    const wrong = await gatewayWith({ ...fullTls(), CONSUL_TLS_SERVER_NAME: "not-the-agent.example" });
    const res = await status(wrong);
    assert.equal(res.status, 503);
    assert.equal(res.body.error?.code, "DISCOVERY_TIMEOUT");
  });

  test("without a client certificate the agent refuses the watcher: a clear 503, no routes", async () => {
    const gateway = await gatewayWith({ CONSUL_CACERT: certs.caFile });
    const res = await status(gateway);
    assert.equal(res.status, 503);
    assert.equal(res.body.error?.code, "DISCOVERY_TIMEOUT");
  });

  test("a CA that did not sign the agent's certificate is refused, unless CONSUL_HTTP_SSL_VERIFY=false", async () => {
    const strict = await gatewayWith({ ...fullTls(), CONSUL_CACERT: certs.otherCaFile });
    assert.equal((await status(strict)).status, 503);
    const lax = await gatewayWith({ ...fullTls(), CONSUL_CACERT: certs.otherCaFile, CONSUL_HTTP_SSL_VERIFY: "false" });
    assert.equal((await status(lax)).status, 200);
  });

  test("a datacenter Consul does not know gets no routes", async () => {
    const gateway = await gatewayWith({ ...fullTls(), CONSUL_DATACENTER: "elsewhere" });
    const res = await status(gateway);
    assert.equal(res.status, 503);
  });
});
