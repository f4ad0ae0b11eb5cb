import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, loadConfig } from "../../src/config.js";

describe("TLS settings", () => {
  const dir = mkdtempSync(join(tmpdir(), "kcg-tls-settings-"));
  const pem = join(dir, "ca.pem");
  writeFileSync(pem, "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
  process.on("exit", () => rmSync(dir, { recursive: true, force: true }));

  test("file settings name the setting when the file cannot be read", () => {
    for (const setting of ["CONSUL_CACERT", "CONSUL_CLIENT_CERT", "CONSUL_CLIENT_KEY", "GATEWAY_UPSTREAM_CA"]) {
      assert.throws(
        () => loadConfig({ [setting]: join(dir, "missing.pem"), ...(setting.startsWith("CONSUL_CLIENT") ? { CONSUL_CLIENT_CERT: pem, CONSUL_CLIENT_KEY: pem, [setting]: join(dir, "missing.pem") } : {}) }),
        (err: unknown) => err instanceof ConfigError && err.setting === setting,
        setting,
      );
    }
  });

  test("a client certificate needs its key and the other way round", () => {
    assert.throws(() => loadConfig({ CONSUL_CLIENT_CERT: pem }), (err: unknown) => err instanceof ConfigError && err.setting === "CONSUL_CLIENT_KEY");
    assert.throws(() => loadConfig({ CONSUL_CLIENT_KEY: pem }), (err: unknown) => err instanceof ConfigError && err.setting === "CONSUL_CLIENT_CERT");
  });

  test("hostile values are refused with the setting's name", () => {
    const cases: [string, string][] = [
      ["CONSUL_HTTP_SSL_VERIFY", "yes"],
      ["CONSUL_TLS_SERVER_NAME", "bad name/with slash"],
      ["CONSUL_DATACENTER", "dc 1"],
      ["CONSUL_DATACENTER", "x".repeat(300)],
      ["GATEWAY_WEBSOCKET_IDLE_TIMEOUT_MS", "-1"],
      ["GATEWAY_WEBSOCKET_HANDSHAKE_TIMEOUT_MS", "soon"],
    ];
    for (const [setting, value] of cases) {
      assert.throws(() => loadConfig({ [setting]: value }), (err: unknown) => err instanceof ConfigError && err.setting === setting, `${setting}=${value}`);
    }
  });

  test("accepted forms", () => {
    const config = loadConfig({
      CONSUL_HTTP_ADDR: "https://consul.internal:8501",
      CONSUL_CACERT: pem,
      CONSUL_TLS_SERVER_NAME: "server.dc1.consul",
      CONSUL_HTTP_SSL_VERIFY: "false",
      CONSUL_DATACENTER: "eu-west_1",
    });
    assert.equal(config.consulAddresses[0]!.protocol, "https:");
    assert.equal(config.consulCaFile, pem);
    assert.equal(config.consulTlsServerName, "server.dc1.consul");
    assert.equal(config.consulSslVerify, false);
    assert.equal(config.consulDatacenter, "eu-west_1");
  });
});
