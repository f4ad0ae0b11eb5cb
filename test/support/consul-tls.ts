/**
 * A Consul server agent that speaks only HTTPS on its HTTP API (the plain
 * HTTP port off) and requires a client certificate signed by its CA
 * (`verify_incoming`), as a hardened deployment runs it.
 */
import { request } from "node:https";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { consulBinary, type TestRegistration } from "./consul.js";
import { freePorts } from "./ports.js";
import { start, waitUntilReady, type Started } from "./processes.js";
import type { CertificateFiles } from "./tls.js";

export class ConsulTlsAgent {
  private constructor(
    private readonly process: Started,
    readonly httpsPort: number,
    private readonly dataDir: string,
    private readonly certs: CertificateFiles,
  ) {}

  /** https://127.0.0.1:<port>, the form CONSUL_HTTP_ADDR takes for TLS. */
  get url(): string {
    return `https://127.0.0.1:${this.httpsPort}`;
  }

  static async start(certs: CertificateFiles): Promise<ConsulTlsAgent> {
    const [https, serfLan, serfWan, server] = (await freePorts(4)) as [number, number, number, number];
    const dataDir = mkdtempSync(join(tmpdir(), "kcg-consul-tls-"));
    const config = join(dataDir, "tls.hcl");
    writeFileSync(
      config,
      [
        `datacenter = "${certs.datacenter}"`,
        `ports {\n  http = -1\n  https = ${https}\n  dns = -1\n  grpc = -1\n  grpc_tls = -1\n  serf_lan = ${serfLan}\n  serf_wan = ${serfWan}\n  server = ${server}\n}`,
        `tls {\n  defaults {\n    ca_file = "${certs.caFile}"\n    cert_file = "${certs.serverCert}"\n    key_file = "${certs.serverKey}"\n    verify_incoming = true\n    verify_outgoing = true\n  }\n  internal_rpc {\n    verify_server_hostname = true\n  }\n}`,
        "performance { raft_multiplier = 1 }",
      ].join("\n") + "\n",
    );
    const process = start(consulBinary(), [
      "agent", "-server", "-node=kcg-tls", "-bind=127.0.0.1", "-client=127.0.0.1", "-bootstrap-expect=1",
      `-data-dir=${join(dataDir, "data")}`, `-config-file=${config}`, "-log-level=warn", "-disable-host-node-id",
    ]);
    const agent = new ConsulTlsAgent(process, https, dataDir, certs);
    await waitUntilReady(process, async () => {
      const leader = await agent.call("GET", "/v1/status/leader");
      return leader.status === 200 && leader.body.length > 2 && (await agent.call("GET", "/v1/catalog/nodes")).body.includes("kcg-tls");
    }, 60_000, `Consul with TLS ready on ${agent.url}`);
    return agent;
  }

  /**
   * One request with the client certificate (what verify_incoming demands),
   * or with `client: false`, without it.
   */
  call(method: string, path: string, body?: unknown, { client = true } = {}): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = request(
        `${this.url}${path}`,
        {
          method,
          ca: this.certs.read(this.certs.caFile),
          ...(client ? { cert: this.certs.read(this.certs.clientCert), key: this.certs.read(this.certs.clientKey) } : {}),
          timeout: 2_000,
        },
        (res) => {
          let text = "";
          res.setEncoding("utf8");
          res.on("data", (chunk: string) => (text += chunk));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
          res.on("error", reject);
        },
      );
      req.on("timeout", () => req.destroy(new Error(`${method} ${path}: no answer within 2 s`)));
      req.on("error", reject);
      req.end(body === undefined ? undefined : JSON.stringify(body));
    });
  }

  async register(registration: TestRegistration): Promise<void> {
    const res = await this.call("PUT", "/v1/agent/service/register", registration);
    if (res.status !== 200) throw new Error(`register ${registration.ID}: ${res.status} ${res.body}`);
  }

  async destroy(): Promise<void> {
    await this.process.stop(10_000);
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}
