/**
 * The HTTPS listener: ALPN, TLS 1.2 at least, SNI from a folder of
 * certificates, certificates reloaded when their files are swapped (and kept
 * when the new ones are bad), and the optional redirect of plain HTTP.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { connect as tlsConnect, type ConnectionOptions, type PeerCertificate } from "node:tls";
import { copyFileSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConsulAgent } from "../support/consul.js";
import { startBackend, type Backend } from "../support/backends.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";
import { curl } from "../support/h2.js";
import { TestCertificates } from "../support/test-certificates.js";
import { eventually, sleep } from "../support/wait.js";

interface Handshake {
  alpn: string | false;
  protocol: string | null;
  certificate: PeerCertificate;
}

function handshake(port: number, options: ConnectionOptions = {}): Promise<Handshake> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: "127.0.0.1", port, rejectUnauthorized: false, ...options }, () => {
      resolve({ alpn: socket.alpnProtocol ?? false, protocol: socket.getProtocol(), certificate: socket.getPeerCertificate() });
      socket.end();
    });
    socket.once("error", reject);
  });
}

describe("HTTPS listener", () => {
  let consul: ConsulAgent;
  let backend: Backend;
  let certs: TestCertificates;
  let live: string;
  let sniDir: string;
  let gateway: TestGateway;
  let redirecting: TestGateway;

  before(async () => {
    certs = TestCertificates.create();
    live = mkdtempSync(join(tmpdir(), "kcg-live-"));
    sniDir = mkdtempSync(join(tmpdir(), "kcg-sni-"));
    const first = certs.issue(["gateway.test"], "first");
    copyFileSync(first.certFile, join(live, "tls.crt"));
    copyFileSync(first.keyFile, join(live, "tls.key"));
    certs.issue(["a.test"], "a", sniDir);
    certs.issue(["*.wild.test"], "wild", sniDir);
    consul = await ConsulAgent.start();
    backend = await startBackend("tls-1");
    await consul.register({ ID: "tls-1", Name: "service-web", Address: "127.0.0.1", Port: backend.port, Check: { TTL: "1h", Status: "passing" } });
    gateway = await startTestGateway(consul.address, {
      GATEWAY_SERVICES: "service-web",
      GATEWAY_HTTPS_PORT: "0",
      GATEWAY_TLS_CERT: join(live, "tls.crt"),
      GATEWAY_TLS_KEY: join(live, "tls.key"),
      GATEWAY_TLS_DIR: sniDir,
      GATEWAY_TLS_RELOAD_MS: "100",
    });
    redirecting = await startTestGateway(consul.address, {
      GATEWAY_SERVICES: "service-web",
      GATEWAY_HTTPS_PORT: "0",
      GATEWAY_TLS_CERT: first.certFile,
      GATEWAY_TLS_KEY: first.keyFile,
      GATEWAY_HTTPS_REDIRECT: "true",
    });
  });

  after(async () => {
    await redirecting?.close();
    await gateway?.close();
    await backend?.close();
    await consul?.destroy();
    certs?.destroy();
    if (live) rmSync(live, { recursive: true, force: true });
    if (sniDir) rmSync(sniDir, { recursive: true, force: true });
  });

  test("ALPN offers h2 and http/1.1 on one port", async () => {
    assert.equal((await handshake(gateway.httpsPort!, { ALPNProtocols: ["h2", "http/1.1"] })).alpn, "h2");
    assert.equal((await handshake(gateway.httpsPort!, { ALPNProtocols: ["http/1.1"] })).alpn, "http/1.1");
  });

  test("TLS 1.2 and 1.3 are accepted, TLS 1.1 is refused", async () => {
    assert.equal((await handshake(gateway.httpsPort!, { maxVersion: "TLSv1.2" })).protocol, "TLSv1.2");
    assert.equal((await handshake(gateway.httpsPort!)).protocol, "TLSv1.3");
    await assert.rejects(handshake(gateway.httpsPort!, { minVersion: "TLSv1", maxVersion: "TLSv1.1", ciphers: "DEFAULT@SECLEVEL=0" }));
  });

  test("SNI picks the folder's certificate for its name (exact and wildcard); other names get GATEWAY_TLS_CERT's", async () => {
    assert.equal((await handshake(gateway.httpsPort!, { servername: "a.test" })).certificate.subject.CN, "a.test");
    assert.equal((await handshake(gateway.httpsPort!, { servername: "api.wild.test" })).certificate.subject.CN, "*.wild.test");
    assert.equal((await handshake(gateway.httpsPort!, { servername: "other.test" })).certificate.subject.CN, "gateway.test");
    // No SNI at all (an IP address): the same fallback.
    assert.equal((await handshake(gateway.httpsPort!)).certificate.subject.CN, "gateway.test");
  });

  test("a client that trusts the CA is served over HTTPS and verifies the name", async () => {
    const res = await curl(["--cacert", certs.caFile, "--resolve", `a.test:${gateway.httpsPort}:127.0.0.1`, `https://a.test:${gateway.httpsPort}/service-web/getRemoteIp`]);
    assert.equal(res.code, 0, res.stderr);
    assert.equal((JSON.parse(res.stdout) as { id: string }).id, "tls-1");
  });

  test("swapped certificate files are served without a restart; a bad swap keeps the certificate in service", async () => {
    const before = (await handshake(gateway.httpsPort!)).certificate.serialNumber;
    const next = certs.issue(["gateway.test", "renewed.test"], "renewed");
    // As certificate tools do: write beside, then rename over.
    copyFileSync(next.keyFile, join(live, "tls.key.new"));
    copyFileSync(next.certFile, join(live, "tls.crt.new"));
    renameSync(join(live, "tls.key.new"), join(live, "tls.key"));
    renameSync(join(live, "tls.crt.new"), join(live, "tls.crt"));
    const renewed = await eventually(
      async () => {
        const serial = (await handshake(gateway.httpsPort!)).certificate.serialNumber;
        return serial !== before ? serial : undefined;
      },
      15_000,
      "the renewed certificate",
    );
    assert.match((await handshake(gateway.httpsPort!)).certificate.subjectaltname ?? "", /renewed\.test/);
    // A broken certificate file: the renewed one stays.
    writeFileSync(join(live, "tls.crt"), "-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n");
    // A key that is not the certificate's: the renewed one stays too.
    await sleep(500);
    copyFileSync(next.certFile, join(live, "tls.crt"));
    copyFileSync(certs.issue(["stray.test"], "stray").keyFile, join(live, "tls.key"));
    await sleep(500);
    assert.equal((await handshake(gateway.httpsPort!)).certificate.serialNumber, renewed);
    const res = await curl(["-k", `https://127.0.0.1:${gateway.httpsPort}/service-web/getRemoteIp`]);
    assert.equal(res.code, 0, res.stderr);
  });

  test("GATEWAY_HTTPS_REDIRECT: plain HTTP gets a 308 to the same URL on the HTTPS port", async () => {
    const res = await fetch(`http://127.0.0.1:${redirecting.port}/service-web/inspect/x?q=1`, { method: "POST", body: "kept", redirect: "manual" });
    assert.equal(res.status, 308);
    assert.equal(res.headers.get("location"), `https://127.0.0.1:${redirecting.httpsPort}/service-web/inspect/x?q=1`);
    const followed = await curl(["-k", "-L", `http://127.0.0.1:${redirecting.port}/service-web/getRemoteIp`]);
    assert.equal((JSON.parse(followed.stdout) as { id: string }).id, "tls-1");
  });
});
