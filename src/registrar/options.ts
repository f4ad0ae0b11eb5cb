/**
 * The registrar's command line, in Registrator's form so that an existing
 * `command:` keeps working:
 *
 *   koa-consul-gateway registrar [-internal] [-cleanup] [-explicit] [-resync=10]
 *     [-retry-interval=2000] [-retry-attempts=-1] [-tags=a,b] [-hostname=h] [-ip=a]
 *     [-deregister=always] [consul://host:port]
 *
 * Flags take one or two dashes and `=value` or a separate value. A bad value
 * stops the start with a message that names the flag. The Consul address
 * defaults to the first of CONSUL_HTTP_ADDR, else 127.0.0.1:8500; the token
 * is CONSUL_HTTP_TOKEN; the engine is DOCKER_HOST, else /var/run/docker.sock.
 */
import { hostname as osHostname } from "node:os";
import { isIP } from "node:net";
import { parseConsulAddress, type ConsulAddress } from "../config.js";

export class RegistrarOptionError extends Error {
  override name = "RegistrarOptionError";
}

export interface RegistrarCommandLine {
  consul: ConsulAddress;
  token: string | undefined;
  internal: boolean;
  cleanup: boolean;
  explicit: boolean;
  resyncMs: number;
  retryMs: number;
  tags: string[];
  hostname: string;
  /** -ip, when given. */
  ip: string | undefined;
}

const BOOLEAN_FLAGS = new Set(["internal", "cleanup", "explicit"]);
const VALUE_FLAGS = new Set(["resync", "retry-interval", "retry-attempts", "tags", "hostname", "ip", "deregister"]);
const HOSTNAME = /^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/;

function integer(flag: string, raw: string, min: number, max: number): number {
  if (!/^-?\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new RegistrarOptionError(`-${flag}: expected an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  }
  return Number(raw);
}

export function parseRegistrarArgs(argv: readonly string[], env: NodeJS.ProcessEnv): RegistrarCommandLine {
  const values = new Map<string, string>();
  const booleans = new Set<string>();
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const m = /^--?([a-z-]+)(?:=(.*))?$/s.exec(arg);
    if (!m) {
      positional.push(arg);
      continue;
    }
    const [, name, inline] = m as unknown as [string, string, string | undefined];
    if (BOOLEAN_FLAGS.has(name)) {
      if (inline !== undefined && !["true", "false"].includes(inline)) throw new RegistrarOptionError(`-${name}: expected true or false, got ${JSON.stringify(inline)}`);
      if (inline !== "false") booleans.add(name);
    } else if (VALUE_FLAGS.has(name)) {
      const value = inline ?? argv[++i];
      if (value === undefined) throw new RegistrarOptionError(`-${name}: a value is required`);
      values.set(name, value);
    } else {
      throw new RegistrarOptionError(`unknown flag ${arg}; known: ${[...BOOLEAN_FLAGS, ...VALUE_FLAGS].map((f) => `-${f}`).join(" ")}`);
    }
  }
  if (positional.length > 1) throw new RegistrarOptionError(`one registry URI expected (consul://host:port), got ${positional.length}: ${positional.join(" ")}`);

  let consul: ConsulAddress;
  const uri = positional[0];
  if (uri !== undefined) {
    const m = /^consul:\/\/([^/?#]+)\/?$/.exec(uri);
    if (!m) throw new RegistrarOptionError(`registry URI: expected consul://host:port, got ${JSON.stringify(uri)}`);
    consul = parseAddress(m[1]!, "registry URI");
  } else {
    const first = (env["CONSUL_HTTP_ADDR"] ?? "127.0.0.1:8500").split(",")[0]!.trim();
    consul = parseAddress(first, "CONSUL_HTTP_ADDR");
  }

  const deregister = values.get("deregister") ?? "always";
  if (deregister !== "always") throw new RegistrarOptionError(`-deregister: only "always" is supported (a stopped container is always deregistered), got ${JSON.stringify(deregister)}`);
  // Registrator's -retry-attempts bounded its retries; the registrar never gives up, so only the form is checked.
  if (values.has("retry-attempts")) integer("retry-attempts", values.get("retry-attempts")!, -1, 1_000_000);

  const hostname = values.get("hostname") ?? osHostname();
  if (!HOSTNAME.test(hostname)) throw new RegistrarOptionError(`-hostname: expected a host name (letters, digits, "-", "."), got ${JSON.stringify(hostname)}`);
  const ip = values.get("ip");
  if (ip !== undefined && isIP(ip) === 0) throw new RegistrarOptionError(`-ip: expected an IPv4 or IPv6 address, got ${JSON.stringify(ip)}`);
  const tags = (values.get("tags") ?? "").split(",").map((t) => t.trim()).filter((t) => t !== "");

  return {
    consul,
    token: env["CONSUL_HTTP_TOKEN"] || undefined,
    internal: booleans.has("internal"),
    cleanup: booleans.has("cleanup"),
    explicit: booleans.has("explicit"),
    resyncMs: integer("resync", values.get("resync") ?? "10", 1, 86_400) * 1000,
    retryMs: integer("retry-interval", values.get("retry-interval") ?? "2000", 100, 600_000),
    tags,
    hostname,
    ip,
  };
}

function parseAddress(raw: string, where: string): ConsulAddress {
  try {
    return parseConsulAddress(raw, where);
  } catch (err) {
    throw new RegistrarOptionError((err as Error).message);
  }
}
