/**
 * Real Consul agents for the tests and the demo: servers on 127.0.0.1 with free
 * ports (HTTP, serf LAN/WAN, server RPC; DNS and gRPC off) and temporary data
 * folders. Server mode with a data folder (not -dev) so that a restart keeps
 * the catalog, as a real deployment does. One server alone, or three that
 * join each other into one cluster.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import superagent from "superagent";
import { freePorts } from "./ports.js";
import { start, waitUntilReady, type Started } from "./processes.js";

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
  /** Consul's relative weights while passing and while warning (the agent fills {1, 1} when absent). */
  Weights?: { Passing: number; Warning: number };
  Check?: Record<string, unknown>;
}

interface AgentPorts {
  http: number;
  serfLan: number;
  serfWan: number;
  server: number;
}

async function allocatePorts(httpPort?: number): Promise<AgentPorts> {
  const [free, serfLan, serfWan, server] = (await freePorts(4)) as [number, number, number, number];
  return { http: httpPort ?? free, serfLan, serfWan, server };
}

export class ConsulAgent {
  private process: Started | undefined;

  private constructor(
    readonly node: string,
    private readonly ports: AgentPorts,
    readonly dataDir: string,
    /** -bootstrap-expect and -retry-join: what makes a lone server or a cluster member. */
    private readonly clusterArgs: readonly string[],
    /** A server, or a client agent (no catalog of its own: it forwards to the servers, as on every application host). */
    private readonly server = true,
  ) {}

  get pid(): number | undefined {
    return this.process?.child.pid;
  }

  get httpPort(): number {
    return this.ports.http;
  }

  /** host:port, the form CONSUL_HTTP_ADDR takes. */
  get address(): string {
    return `127.0.0.1:${this.ports.http}`;
  }

  get url(): string {
    return `http://${this.address}`;
  }

  /** Starts a single-server agent; `httpPort` fixed (the demo's 8500) or free. */
  static async start(options: { httpPort?: number } = {}): Promise<ConsulAgent> {
    const agent = new ConsulAgent("kcg-test", await allocatePorts(options.httpPort), mkdtempSync(join(tmpdir(), "kcg-consul-")), ["-bootstrap-expect=1"]);
    await agent.boot();
    return agent;
  }

  /**
   * Starts `size` servers that join each other (-retry-join on their serf LAN
   * ports) and waits until every one of them sees the same leader.
   */
  static async startCluster(size = 3, options: { firstHttpPort?: number } = {}): Promise<ConsulAgent[]> {
    const ports: AgentPorts[] = [];
    for (let i = 0; i < size; i++) ports.push(await allocatePorts(i === 0 ? options.firstHttpPort : undefined));
    const agents = ports.map(
      (p, i) =>
        new ConsulAgent(`kcg-server-${i + 1}`, p, mkdtempSync(join(tmpdir(), `kcg-consul-${i + 1}-`)), [
          `-bootstrap-expect=${size}`,
          ...ports.filter((other) => other !== p).map((other) => `-retry-join=127.0.0.1:${other.serfLan}`),
        ]),
    );
    for (const agent of agents) agent.launch();
    await Promise.all(agents.map((agent) => agent.waitReady(size)));
    return agents;
  }

  /**
   * Starts a client agent joined to `server`: a second node with services of
   * its own, where a service ID may repeat one on the server's node (Consul's
   * IDs are unique per agent, not per cluster). Ready once the catalog has both nodes.
   */
  static async startClient(server: ConsulAgent, node = "kcg-client"): Promise<ConsulAgent> {
    const agent = new ConsulAgent(node, await allocatePorts(), mkdtempSync(join(tmpdir(), "kcg-consul-client-")), [`-retry-join=127.0.0.1:${server.ports.serfLan}`], false);
    agent.launch();
    await agent.waitReady(2);
    return agent;
  }

  /** Starts the process (again, after stop()) and waits until it is usable. */
  async boot(): Promise<void> {
    this.launch();
    await this.waitReady(1);
  }

  private launch(): void {
    const config = join(this.dataDir, "ports.hcl");
    const p = this.ports;
    writeFileSync(
      config,
      `ports {\n  http = ${p.http}\n  dns = -1\n  grpc = -1\n  grpc_tls = -1\n  serf_lan = ${p.serfLan}\n  serf_wan = ${p.serfWan}\n  server = ${p.server}\n}\nperformance { raft_multiplier = 1 }\n`,
    );
    this.process = start(consulBinary(), [
      "agent", ...(this.server ? ["-server"] : []), `-node=${this.node}`, "-bind=127.0.0.1", "-client=127.0.0.1",
      `-data-dir=${join(this.dataDir, "data")}`, `-config-file=${config}`, "-log-level=warn", "-disable-host-node-id",
      ...this.clusterArgs,
    ]);
  }

  /** A leader, and the expected nodes in the catalog: before that, registrations are not yet visible. */
  private async waitReady(nodes: number): Promise<void> {
    await waitUntilReady(this.process!, async () => {
      const leader = await superagent.get(`${this.url}/v1/status/leader`).timeout(1000);
      if (!leader.body) return false;
      const catalog = await superagent.get(`${this.url}/v1/catalog/nodes`).timeout(1000);
      return (catalog.body as unknown[]).length >= nodes;
    }, 60_000, `Consul ${this.node} ready on ${this.address}`);
  }

  /** Stops the agent (SIGTERM); its data folder is kept for restart(). */
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
