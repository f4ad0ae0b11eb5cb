import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CertificateError, CertificateStore, certificateFor, loadCertificates } from "../../src/gateway/tls-certificates.js";
import { TestCertificates } from "../support/test-certificates.js";

describe("TLS certificates: loading, SNI names, reload", () => {
  let certs: TestCertificates;
  let dir: string;

  before(() => {
    certs = TestCertificates.create();
    dir = mkdtempSync(join(tmpdir(), "kcg-certs-"));
  });

  after(() => {
    certs.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  test("names come from subjectAltName; exact names beat wildcards; one wildcard label only", () => {
    const folder = mkdtempSync(join(dir, "sni-"));
    certs.issue(["a.test", "www.a.test"], "a", folder);
    certs.issue(["*.b.test"], "b", folder);
    const set = loadCertificates({ dir: folder });
    assert.equal(certificateFor(set, "WWW.A.TEST").source, join(folder, "a.crt"));
    assert.equal(certificateFor(set, "x.b.test").source, join(folder, "b.crt"));
    // *.b.test is not for b.test itself nor for two labels down.
    assert.equal(certificateFor(set, "b.test"), set.fallback);
    assert.equal(certificateFor(set, "y.x.b.test"), set.fallback);
    assert.equal(set.fallback.source, join(folder, "a.crt"), "the folder's first by file name");
  });

  const broken: { name: string; write: (certFile: string, keyFile: string) => void; reason: RegExp }[] = [
    { name: "a missing key file", write: (_c, k) => rmSync(k), reason: /cannot read/ },
    { name: "a certificate that is not PEM", write: (c) => writeFileSync(c, "garbage"), reason: /not a PEM certificate/ },
    { name: "a key that is not the certificate's", write: (_c, k) => copyFileSync(certs.issue(["other.test"], "other").keyFile, k), reason: /key values mismatch/ },
    { name: "an empty key", write: (_c, k) => writeFileSync(k, ""), reason: /.+/ },
  ];
  for (const { name, write, reason } of broken) {
    test(`${name}: refused at start with the reason, and on reload the old certificate stays`, () => {
      const folder = mkdtempSync(join(dir, "pair-"));
      const good = certs.issue(["good.test"], "good", folder);
      const warnings: string[] = [];
      const store = new CertificateStore({ certFile: good.certFile, keyFile: good.keyFile }, { info: () => {}, warn: (m) => warnings.push(m) });
      const served = store.current.fallback.cert;
      write(good.certFile, good.keyFile);
      let reloaded = 0;
      assert.equal(store.check(() => reloaded++), false);
      assert.equal(reloaded, 0);
      assert.equal(store.current.fallback.cert, served);
      assert.equal(warnings.length, 1);
      assert.match(warnings[0]!, reason);
      // Reported once, not at every check.
      store.check(() => reloaded++);
      assert.equal(warnings.length, 1);
      assert.throws(() => loadCertificates({ certFile: good.certFile, keyFile: good.keyFile }), CertificateError);
      store.close();
    });
  }

  test("a good swap is loaded and handed to the server (setSecureContext's options)", () => {
    const folder = mkdtempSync(join(dir, "swap-"));
    const first = certs.issue(["swap.test"], "live", folder);
    const store = new CertificateStore({ certFile: first.certFile, keyFile: first.keyFile }, { info: () => {}, warn: () => {} });
    const second = certs.issue(["swap.test"], "second");
    copyFileSync(second.certFile, first.certFile);
    copyFileSync(second.keyFile, first.keyFile);
    let handed: unknown;
    assert.equal(store.check((options) => (handed = options)), true);
    assert.equal(store.current.fallback.cert, second.cert);
    assert.deepEqual(handed, { cert: second.cert, key: second.key, minVersion: "TLSv1.2" });
    store.close();
  });
});
