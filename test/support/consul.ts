/**
 * A real Consul agent for the tests: a single server on 127.0.0.1 with free
 * ports (HTTP, serf LAN/WAN, server RPC; DNS and gRPC off) and a temporary data
 * folder. Server mode with a data folder (not -dev) so that a restart keeps the
 * catalog, as a real deployment does.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import superagent from "superagent";
import { freePorts } from "./ports.js";
import { start, type Started } from "./processes.js";
import { eventually } from "./wait.js";

const REPO = resolve(import.meta.dirname, "../..");

let binary: string | undefined;
/** The consul binary from scripts/ensure-consul.sh (builds it once when missing). */
export function consulBinary(): string {
  binary ??= execFileSync("bash", [join(REPO, "scripts/ensure-consul.sh")], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] })
    .trim()
    .split("\n")
    .at(-1)!;
  return binary;
}

export interface TestRegistration {
  ID: string;
  Name: string;
  Address: string;
  Port: number;
  Tags?: string[];
  Meta?: Record<string, string>;
  Check?: Record<string, unknown>;
}

export class ConsulAgent {
  private process: Started | undefined;

  get pid(): number | undefined {
    return this.process?.child.pid;
  }

  private constructor(
    readonly httpPort: number,
    private readonly ports: { serfLan: number; serfWan: number; server: number },
    readonly dataDir: string,
  ) {}

  /** host:port, the form CONSUL_HTTP_ADDR takes. */
  get address(): string {
    return `127.0.0.1:${this.httpPort}`;
  }

  get url(): string {
    return `http://${this.address}`;
  }

  /** Starts a single-server agent; `httpPort` fixed (the demo's 8500) or free. */
  static async start(options: { httpPort?: number } = {}): Promise<ConsulAgent> {
    const [free, serfLan, serfWan, server] = (await freePorts(4)) as [number, number, number, number];
    const http = options.httpPort ?? free;
    const dataDir = mkdtempSync(join(tmpdir(), "kcg-consul-"));
    const agent = new ConsulAgent(http, { serfLan, serfWan, server }, dataDir);
    await agent.boot();
    return agent;
  }

  async boot(): Promise<void> {
    const config = join(this.dataDir, "ports.hcl");
    writeFileSync(
      config,
      `ports {\n  http = ${this.httpPort}\n  dns = -1\n  grpc = -1\n  grpc_tls = -1\n  serf_lan = ${this.ports.serfLan}\n  serf_wan = ${this.ports.serfWan}\n  server = ${this.ports.server}\n}\nperformance { raft_multiplier = 1 }\n`,
    );
    this.process = start(consulBinary(), [
      "agent", "-server", "-bootstrap-expect=1", "-node=kcg-test", "-bind=127.0.0.1", "-client=127.0.0.1",
      `-data-dir=${join(this.dataDir, "data")}`, `-config-file=${config}`, "-log-level=warn", "-disable-host-node-id",
    ]);
    // A leader, and our node in the catalog: before that, registrations are not yet visible.
    await eventually(async () => {
      const leader = await superagent.get(`${this.url}/v1/status/leader`).timeout(1000);
      if (!leader.body) return false;
      const nodes = await superagent.get(`${this.url}/v1/catalog/nodes`).timeout(1000);
      return (nodes.body as unknown[]).length > 0;
    }, 30_000, `Consul leader on ${this.address} (output: ${this.process.output()})`);
  }

  /** Stops the agent (SIGTERM: a graceful leave); its data folder is kept for restart(). */
  async stop(): Promise<void> {
    await this.process?.stop(10_000);
    this.process = undefined;
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.boot();
  }

  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.dataDir, { recursive: true, force: true });
  }

  async register(registration: TestRegistration): Promise<void> {
    await superagent.put(`${this.url}/v1/agent/service/register`).send(registration);
  }

  async deregister(id: string): Promise<void> {
    await superagent.put(`${this.url}/v1/agent/service/deregister/${encodeURIComponent(id)}`);
  }

  /** Sets a TTL check's state, as an application's heartbeat would. */
  async setTtl(checkId: string, state: "pass" | "warn" | "fail"): Promise<void> {
    await superagent.put(`${this.url}/v1/agent/check/${state}/${encodeURIComponent(checkId)}`);
  }
}
