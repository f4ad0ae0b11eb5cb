/**
 * Configuration: environment first (Consul's own names where they exist),
 * a flag for each setting, one typed object, validated once at start.
 * A bad value stops the start with a message that names the setting and the
 * accepted form.
 */
import { BALANCER_NAMES, type BalancerName } from "./routing/balancers/index.js";
import { isValidServiceName } from "./discovery/messages.js";
import { REGISTRY_KINDS, type RegistryKind } from "./discovery/registries/registry-kind.js";

export interface ConsulAddress {
  readonly protocol: "http:" | "https:";
  readonly host: string;
  readonly port: number;
}

export interface GatewayConfig {
  readonly host: string;
  readonly port: number;
  readonly registry: RegistryKind;
  readonly consulAddresses: readonly ConsulAddress[];
  readonly consulToken: string | undefined;
  /** host:port[,host:port...], normalised; node-zookeeper-client takes it as one string. */
  readonly zookeeperConnect: string;
  readonly services: readonly string[];
  readonly balancer: BalancerName;
  readonly upstreamTimeoutMs: number;
  readonly discoveryTimeoutMs: number;
  readonly consulWaitMs: number;
  readonly watcherRestartMaxMs: number;
}

export class ConfigError extends Error {
  override name = "ConfigError";
  constructor(
    readonly setting: string,
    message: string,
  ) {
    super(`${setting}: ${message}`);
  }
}

interface Setting<K extends keyof GatewayConfig> {
  key: K;
  env: string;
  /** The accepted form, as the README table and error messages show it. */
  form: string;
  default: string | undefined;
  doc: string;
  parse: (raw: string, env: string) => GatewayConfig[K];
}

function integer(min: number, max: number) {
  return (raw: string, env: string): number => {
    const value = /^\d+$/.test(raw.trim()) ? Number(raw.trim()) : NaN;
    if (!Number.isSafeInteger(value) || value < min || value > max) {
      throw new ConfigError(env, `expected an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`);
    }
    return value;
  };
}

function list(raw: string): string[] {
  return raw
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item.length > 0);
}

export function parseConsulAddress(raw: string, env = "CONSUL_HTTP_ADDR"): ConsulAddress {
  const withScheme = /^[a-z]+:\/\//i.test(raw) ? raw : `http://${raw}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new ConfigError(env, `expected host:port or http(s)://host:port, got ${JSON.stringify(raw)}`);
  }
  if ((url.protocol !== "http:" && url.protocol !== "https:") || url.pathname !== "/" || url.search || url.username) {
    throw new ConfigError(env, `expected host:port or http(s)://host:port, got ${JSON.stringify(raw)}`);
  }
  const port = url.port === "" ? (url.protocol === "https:" ? 443 : 8500) : Number(url.port);
  return { protocol: url.protocol, host: url.hostname.replace(/^\[|\]$/g, ""), port };
}

/** One ZooKeeper server, host:port (the port is required: ZooKeeper has no scheme to imply it). */
function zookeeperServer(raw: string, env: string): string {
  const match = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(raw);
  const port = Number(match?.[2]);
  if (match === null || port < 1 || port > 65535) throw new ConfigError(env, `expected host:port[,host:port...], got ${JSON.stringify(raw)}`);
  return `${match[1]}:${port}`;
}

const SETTINGS: { [K in keyof GatewayConfig]: Setting<K> } = {
  host: {
    key: "host", env: "GATEWAY_HOST", form: "an IP address or host name", default: "0.0.0.0",
    doc: "Address the proxy listens on.",
    parse: (raw, env) => {
      if (!/^[A-Za-z0-9.:-]+$/.test(raw)) throw new ConfigError(env, `expected an IP address or host name, got ${JSON.stringify(raw)}`);
      return raw;
    },
  },
  port: {
    key: "port", env: "GATEWAY_PORT", form: "0-65535", default: "3000",
    doc: "Port the proxy listens on (0 picks a free one).", parse: integer(0, 65535),
  },
  registry: {
    key: "registry", env: "GATEWAY_REGISTRY", form: REGISTRY_KINDS.join(", "), default: "consul",
    doc: "Where instances are discovered: Consul's catalog, or ZooKeeper nodes laid out as Registrator writes them.",
    parse: (raw, env) => {
      if (!(REGISTRY_KINDS as readonly string[]).includes(raw)) {
        throw new ConfigError(env, `expected one of ${REGISTRY_KINDS.join(", ")}, got ${JSON.stringify(raw)}`);
      }
      return raw as RegistryKind;
    },
  },
  consulAddresses: {
    key: "consulAddresses", env: "CONSUL_HTTP_ADDR", form: "host:port[,host:port...]", default: "127.0.0.1:8500",
    doc: "Consul agents or servers to watch; with several, the watcher fails over between them.",
    parse: (raw, env) => {
      const items = list(raw);
      if (items.length === 0) throw new ConfigError(env, "expected at least one host:port");
      return items.map((item) => parseConsulAddress(item, env));
    },
  },
  consulToken: {
    key: "consulToken", env: "CONSUL_HTTP_TOKEN", form: "an ACL token", default: undefined,
    doc: "ACL token sent to Consul.", parse: (raw) => raw,
  },
  zookeeperConnect: {
    key: "zookeeperConnect", env: "ZOOKEEPER_CONNECT", form: "host:port[,host:port...]", default: "127.0.0.1:2181",
    doc: "ZooKeeper servers (with `GATEWAY_REGISTRY=zookeeper`); the client moves to the next one when a connection fails.",
    parse: (raw, env) => {
      const servers = list(raw);
      if (servers.length === 0) throw new ConfigError(env, "expected at least one host:port");
      return servers.map((server) => zookeeperServer(server, env)).join(",");
    },
  },
  services: {
    key: "services", env: "GATEWAY_SERVICES", form: "name[,name...]", default: "",
    doc: "Services to watch from the start; others are subscribed on their first request.",
    parse: (raw, env) => {
      const names = list(raw);
      const bad = names.find((name) => !isValidServiceName(name));
      if (bad !== undefined) throw new ConfigError(env, `${JSON.stringify(bad)} is not a service name (letters, digits, '-', '_', '.')`);
      return names;
    },
  },
  balancer: {
    key: "balancer", env: "GATEWAY_BALANCER", form: BALANCER_NAMES.join(", "), default: "random",
    doc: "How an instance is chosen for each request.",
    parse: (raw, env) => {
      if (!(BALANCER_NAMES as readonly string[]).includes(raw)) {
        throw new ConfigError(env, `expected one of ${BALANCER_NAMES.join(", ")}, got ${JSON.stringify(raw)}`);
      }
      return raw as BalancerName;
    },
  },
  upstreamTimeoutMs: {
    key: "upstreamTimeoutMs", env: "GATEWAY_UPSTREAM_TIMEOUT_MS", form: "1-3600000", default: "30000",
    doc: "Longest wait for an instance's response headers, and between body chunks, before 504.", parse: integer(1, 3_600_000),
  },
  discoveryTimeoutMs: {
    key: "discoveryTimeoutMs", env: "GATEWAY_DISCOVERY_TIMEOUT_MS", form: "1-600000", default: "5000",
    doc: "Longest wait of a request for a newly subscribed service's first answer, before 503.", parse: integer(1, 600_000),
  },
  consulWaitMs: {
    key: "consulWaitMs", env: "GATEWAY_CONSUL_WAIT_MS", form: "1000-600000", default: "30000",
    doc: "Blocking query wait (Consul's `wait`, at most 10 minutes).", parse: integer(1000, 600_000),
  },
  watcherRestartMaxMs: {
    key: "watcherRestartMaxMs", env: "GATEWAY_WATCHER_RESTART_MAX_MS", form: "100-600000", default: "10000",
    doc: "Ceiling of the exponential backoff between watcher restarts and registry retries.", parse: integer(100, 600_000),
  },
};

export const SETTING_LIST: readonly Setting<keyof GatewayConfig>[] = Object.values(SETTINGS) as Setting<keyof GatewayConfig>[];

/** `--upstream-timeout-ms=500` or `--upstream-timeout-ms 500` stands for GATEWAY_UPSTREAM_TIMEOUT_MS=500. */
function flagName(env: string): string {
  return "--" + env.replace(/^GATEWAY_/, "").toLowerCase().replace(/_/g, "-");
}

function flagsToEnv(argv: readonly string[]): Record<string, string> {
  const byFlag = new Map(SETTING_LIST.map((s) => [flagName(s.env), s.env]));
  const out: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf("=");
    const flag = eq === -1 ? arg : arg.slice(0, eq);
    const env = byFlag.get(flag);
    if (env === undefined) {
      throw new ConfigError(flag, `unknown option; accepted: ${[...byFlag.keys()].join(", ")}`);
    }
    const value = eq === -1 ? argv[++i] : arg.slice(eq + 1);
    if (value === undefined) throw new ConfigError(flag, "needs a value");
    out[env] = value;
  }
  return out;
}

/** Builds the config from the environment, overridden by command-line flags. Throws ConfigError. */
export function loadConfig(env: NodeJS.ProcessEnv, argv: readonly string[] = []): GatewayConfig {
  const merged: NodeJS.ProcessEnv = { ...env, ...flagsToEnv(argv) };
  return parseSettings(merged, SETTING_LIST) as unknown as GatewayConfig;
}

function parseSettings(env: NodeJS.ProcessEnv, settings: readonly Setting<keyof GatewayConfig>[]): Readonly<Record<string, unknown>> {
  const config: Record<string, unknown> = {};
  for (const setting of settings) {
    const raw = env[setting.env] ?? setting.default;
    config[setting.key] = raw === undefined ? undefined : setting.parse(raw, setting.env);
  }
  return Object.freeze(config);
}

/** The settings that say which registry to use and how to reach it. */
export const REGISTRY_SETTING_KEYS = ["registry", "consulAddresses", "consulToken", "consulWaitMs", "zookeeperConnect", "watcherRestartMaxMs"] as const;
export type RegistrySettings = Pick<GatewayConfig, (typeof REGISTRY_SETTING_KEYS)[number]>;

/** Only the registry's settings, from the environment: the demo service registers itself with the gateway's variables. */
export function loadRegistrySettings(env: NodeJS.ProcessEnv): RegistrySettings {
  const keys: readonly string[] = REGISTRY_SETTING_KEYS;
  return parseSettings(env, SETTING_LIST.filter((s) => keys.includes(s.key))) as unknown as RegistrySettings;
}

/** The README's configuration table, generated from the same list so the two cannot drift apart. */
export function settingsMarkdownTable(): string {
  const rows = SETTING_LIST.map(
    (s) => `| \`${s.env}\` | \`${flagName(s.env)}\` | ${s.form} | ${s.default === undefined ? "(none)" : s.default === "" ? "(empty)" : `\`${s.default}\``} | ${s.doc} |`,
  );
  return ["| Variable | Flag | Accepted | Default | Meaning |", "|---|---|---|---|---|", ...rows].join("\n");
}
