/**
 * The Docker Engine API side, through dockerode (the socket, or DOCKER_HOST):
 * the running containers, one container as the registration rules see it,
 * and the stream of container events.
 */
import Docker from "dockerode";
import createDebug from "debug";
import type { ContainerPort, ContainerView, Protocol } from "./registration-rules.js";

const debug = createDebug("gateway:registrar:docker");

/** A container event reduced to what the registrar acts on. */
export interface ContainerEvent {
  id: string;
  action: string;
  /** A kill event's signal ("15", "SIGTERM", ...). */
  signal?: string;
}

export interface EventSubscription {
  close(): void;
}

/** "3000/tcp" → {3000, tcp}; anything else (a range, an unknown protocol) → undefined. */
export function parsePortKey(key: string): { port: number; protocol: Protocol } | undefined {
  const m = /^(\d{1,5})\/(tcp|udp)$/.exec(key);
  if (!m) return undefined;
  const port = Number(m[1]);
  return port >= 1 && port <= 65535 ? { port, protocol: m[2] as Protocol } : undefined;
}

/** Reduces `docker inspect` of a running container to the rules' view. Exported for the tests. */
export function containerView(info: Docker.ContainerInspectInfo): ContainerView {
  const keys = new Set<string>([...Object.keys(info.Config.ExposedPorts ?? {}), ...Object.keys(info.NetworkSettings.Ports ?? {})]);
  const ports: ContainerPort[] = [];
  for (const key of [...keys].sort()) {
    const parsed = parsePortKey(key);
    if (!parsed) continue;
    const binding = info.NetworkSettings.Ports?.[key]?.find((b) => b.HostPort !== "");
    const hostPort = Number(binding?.HostPort);
    ports.push(binding && Number.isInteger(hostPort) ? { ...parsed, hostIp: binding.HostIp, hostPort } : parsed);
  }
  const networks = Object.values(info.NetworkSettings.Networks ?? {});
  // dockerode's types leave out the top-level IPAddress (the default bridge's) that the API sends.
  const bridgeIp = (info.NetworkSettings as { IPAddress?: string }).IPAddress;
  const ip = bridgeIp || networks.map((n) => n.IPAddress).find((a) => a) || undefined;
  return {
    id: info.Id,
    name: info.Name.replace(/^\//, ""),
    image: info.Config.Image,
    env: info.Config.Env ?? [],
    labels: info.Config.Labels ?? {},
    ports,
    ip,
  };
}

function statusCode(err: unknown): number | undefined {
  const code = (err as { statusCode?: unknown }).statusCode;
  return typeof code === "number" ? code : undefined;
}

export class DockerSource {
  private readonly docker: Docker;

  /** Without options, dockerode reads DOCKER_HOST, else /var/run/docker.sock. */
  constructor(options?: Docker.DockerOptions) {
    this.docker = new Docker(options);
  }

  async ping(): Promise<void> {
    await this.docker.ping();
  }

  async runningIds(): Promise<string[]> {
    const list = await this.docker.listContainers({ filters: { status: ["running"] } });
    return list.map((c) => c.Id);
  }

  /** The container as the rules see it, or undefined when it is gone or not running. */
  async view(id: string): Promise<ContainerView | undefined> {
    let info: Docker.ContainerInspectInfo;
    try {
      info = await this.docker.getContainer(id).inspect();
    } catch (err) {
      if (statusCode(err) === 404) return undefined;
      throw err;
    }
    return info.State.Running ? containerView(info) : undefined;
  }

  /**
   * Container events until the stream ends or fails; `onEnd` is called once
   * either way (the engine restarted, the socket went away), so that the
   * caller can reconnect and resync.
   */
  async events(onEvent: (event: ContainerEvent) => void, onEnd: (err: Error | undefined) => void): Promise<EventSubscription> {
    const stream = (await this.docker.getEvents({ filters: { type: ["container"] } })) as NodeJS.ReadableStream & { destroy?: () => void };
    let ended = false;
    const end = (err: Error | undefined): void => {
      if (ended) return;
      ended = true;
      onEnd(err);
    };
    let buffered = "";
    stream.on("data", (chunk: Buffer | string) => {
      buffered += chunk.toString();
      let nl: number;
      // One JSON object per line (Docker) or back to back (podman's compat API): split on newlines, then on "}{".
      while ((nl = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, nl).trim();
        buffered = buffered.slice(nl + 1);
        if (line) for (const part of line.split(/(?<=\})(?=\{)/)) handle(part);
      }
      if (buffered.length > 1_000_000) buffered = ""; // a malformed stream must not grow without end
    });
    const handle = (text: string): void => {
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        debug("ignored an event line that is not JSON: %s", text.slice(0, 200));
        return;
      }
      const e = parsed as { Type?: unknown; Action?: unknown; status?: unknown; id?: unknown; Actor?: { ID?: unknown; Attributes?: Record<string, unknown> } };
      const id = typeof e.Actor?.ID === "string" ? e.Actor.ID : typeof e.id === "string" ? e.id : undefined;
      const action = typeof e.Action === "string" ? e.Action : typeof e.status === "string" ? e.status : undefined;
      const signal = e.Actor?.Attributes?.["signal"];
      if (id && action && (e.Type === undefined || e.Type === "container")) onEvent({ id, action, ...(typeof signal === "string" ? { signal } : {}) });
    };
    stream.on("end", () => end(undefined));
    stream.on("close", () => end(undefined));
    stream.on("error", (err: Error) => end(err));
    return {
      close: () => {
        ended = true;
        stream.removeAllListeners("data");
        stream.destroy?.();
      },
    };
  }
}
