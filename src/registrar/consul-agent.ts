/**
 * The three calls of Consul's agent API that the registrar needs: register,
 * deregister, and the agent's own list of services (to see what is already
 * registered, after a restart of either side). Plain fetch, because the
 * listing must be read with its Meta, which the project's node-consul
 * adapter does not expose, and because every call needs a bounded timeout.
 */
import type { ConsulAddress } from "../config.js";
import type { Registration } from "./registration-rules.js";

/** One entry of GET /v1/agent/services, the fields compared with a wanted registration. */
export interface AgentService {
  ID: string;
  Service: string;
  Address: string;
  Port: number;
  Tags: string[] | null;
  Meta: Record<string, string> | null;
}

export class ConsulAgentError extends Error {
  override name = "ConsulAgentError";
}

export class ConsulAgent {
  private readonly base: string;

  constructor(
    address: ConsulAddress,
    private readonly token: string | undefined,
    private readonly timeoutMs = 5000,
  ) {
    const host = address.host.includes(":") ? `[${address.host}]` : address.host;
    this.base = `${address.protocol}//${host}:${address.port}`;
  }

  get url(): string {
    return this.base;
  }

  async services(): Promise<Record<string, AgentService>> {
    const body = await this.call("GET", "/v1/agent/services");
    if (typeof body !== "object" || body === null || Array.isArray(body)) throw new ConsulAgentError(`${this.base}/v1/agent/services: not a JSON object`);
    return body as Record<string, AgentService>;
  }

  async register(registration: Registration): Promise<void> {
    await this.call("PUT", "/v1/agent/service/register", registration);
  }

  async deregister(id: string): Promise<void> {
    await this.call("PUT", `/v1/agent/service/deregister/${encodeURIComponent(id)}`);
  }

  private async call(method: "GET" | "PUT", path: string, body?: unknown): Promise<unknown> {
    const headers: Record<string, string> = {};
    if (this.token) headers["x-consul-token"] = this.token;
    if (body !== undefined) headers["content-type"] = "application/json";
    let res: Response;
    try {
      res = await fetch(`${this.base}${path}`, {
        method,
        headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new ConsulAgentError(`${method} ${this.base}${path}: ${cause?.code ?? cause?.message ?? (err as Error).message}`);
    }
    const text = await res.text();
    if (!res.ok) throw new ConsulAgentError(`${method} ${this.base}${path}: ${res.status} ${text.slice(0, 200).trim()}`);
    if (text === "") return undefined;
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new ConsulAgentError(`${method} ${this.base}${path}: the answer is not JSON`);
    }
  }
}
