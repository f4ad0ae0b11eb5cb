/**
 * Certificates for the TLS tests, made with Consul's own tooling
 * (`consul tls ca create`, `consul tls cert create`) in a temporary folder,
 * as an operator following Consul's guide would make them. The server
 * certificate names server.<dc>.consul, localhost and 127.0.0.1, so it serves
 * both the Consul agent and an HTTPS instance on loopback.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { consulBinary } from "./consul.js";

export interface CertificateFiles {
  dir: string;
  datacenter: string;
  /** The CA that signed everything below. */
  caFile: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** A second, unrelated CA: a client that trusts only it must fail to verify the others. */
  otherCaFile: string;
  read(file: string): Buffer;
  remove(): void;
}

export function makeCertificates(datacenter = "dc1"): CertificateFiles {
  const dir = mkdtempSync(join(tmpdir(), "kcg-tls-"));
  const consul = consulBinary();
  const run = (args: string[], cwd = dir): void => {
    execFileSync(consul, args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
  };
  run(["tls", "ca", "create", "-days=30"]);
  run(["tls", "cert", "create", "-server", `-dc=${datacenter}`, "-days=30", "-additional-dnsname=localhost"]);
  run(["tls", "cert", "create", "-client", `-dc=${datacenter}`, "-days=30"]);
  const otherDir = join(dir, "other");
  execFileSync("mkdir", [otherDir]);
  run(["tls", "ca", "create", "-days=30"], otherDir);
  return {
    dir,
    datacenter,
    caFile: join(dir, "consul-agent-ca.pem"),
    serverCert: join(dir, `${datacenter}-server-consul-0.pem`),
    serverKey: join(dir, `${datacenter}-server-consul-0-key.pem`),
    clientCert: join(dir, `${datacenter}-client-consul-0.pem`),
    clientKey: join(dir, `${datacenter}-client-consul-0-key.pem`),
    otherCaFile: join(otherDir, "consul-agent-ca.pem"),
    read: (file) => readFileSync(file),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
