/**
 * Certificates for the tests and the bench, made with the openssl command
 * line in a temporary folder: one CA, and leaf certificates it signs for the
 * names asked (each also valid for 127.0.0.1). Elliptic-curve keys (P-256):
 * quick to make and what a modern deployment serves.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface LeafCertificate {
  /** PEM file paths. */
  certFile: string;
  keyFile: string;
  cert: string;
  key: string;
}

export class TestCertificates {
  private serial = 1;

  private constructor(
    readonly dir: string,
    readonly caFile: string,
    private readonly caKeyFile: string,
  ) {}

  static create(): TestCertificates {
    const dir = mkdtempSync(join(tmpdir(), "kcg-tls-"));
    const caFile = join(dir, "ca.crt");
    const caKeyFile = join(dir, "ca.key");
    openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", caKeyFile, "-out", caFile, "-days", "2", "-subj", "/CN=koa-consul-gateway test CA"]);
    return new TestCertificates(dir, caFile, caKeyFile);
  }

  get ca(): string {
    return readFileSync(this.caFile, "utf8");
  }

  /**
   * A certificate for `names` (DNS names; the first is also the CN), signed by
   * the CA, written as `<file>.crt` and `<file>.key` in `dir` (the CA's folder
   * unless said).
   */
  issue(names: readonly string[], file = names[0]!, dir = this.dir): LeafCertificate {
    const certFile = join(dir, `${file}.crt`);
    const keyFile = join(dir, `${file}.key`);
    const csr = join(this.dir, `${file}-${this.serial}.csr`);
    const ext = join(this.dir, `${file}-${this.serial}.ext`);
    writeFileSync(ext, `subjectAltName=${[...names.map((n) => `DNS:${n}`), "IP:127.0.0.1"].join(",")}\n`);
    openssl(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", keyFile, "-out", csr, "-subj", `/CN=${names[0]!}`]);
    openssl(["x509", "-req", "-in", csr, "-CA", this.caFile, "-CAkey", this.caKeyFile, "-set_serial", String(1000 + this.serial++), "-days", "2", "-extfile", ext, "-out", certFile]);
    return { certFile, keyFile, cert: readFileSync(certFile, "utf8"), key: readFileSync(keyFile, "utf8") };
  }

  destroy(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function openssl(args: readonly string[]): void {
  execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"] });
}
