/**
 * Configuration: environment first (Consul's own names where they exist),
 * a flag for each setting, one typed object, validated once at start.
 * A bad value stops the start with a message that names the setting and the
 * accepted form.
 */
import { BALANCER_NAMES, isBalancerName, type BalancerName } from "./routing/balancers/index.js";
import { HASH_KEY_FORM, parseHashKey, type HashKey } from "./routing/balancers/hash-key.js";
import type { HealthState } from "./routing/instance.js";
import { isPlainPath } from "./proxy/target.js";
import { isValidServiceName } from "./discovery/messages.js";

export interface ConsulAddress {
  readonly protocol: "http:" | "https:";
  readonly host: string;
  readonly port: number;
}

export interface GatewayConfig {
  readonly host: string;
  readonly port: number;
  readonly consulAddresses: readonly ConsulAddress[];
  readonly consulToken: string | undefined;
  readonly services: readonly string[];
  readonly balancer: BalancerName;
  readonly serviceBalancers: ReadonlyMap<string, BalancerName>;
  readonly hashKey: HashKey;
  readonly warmUpMs: number;
  readonly healthStates: readonly HealthState[];
  readonly warningWeightPercent: number;
  readonly serviceTags: ReadonlyMap<string, readonly string[]>;
  readonly tagHeader: string | undefined;
  readonly headerRoutePrefix: string | undefined;
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

function serviceName(name: string, env: string): string {
  if (!isValidServiceName(name)) throw new ConfigError(env, `${JSON.stringify(name)} is not a service name (letters, digits, '-', '_', '.')`);
  return name;
}

/** RFC 9110 token characters, what a header name is made of. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$/;

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
  services: {
    key: "services", env: "GATEWAY_SERVICES", form: "name[,name...]", default: "",
    doc: "Services to watch from the start; others are subscribed on their first request.",
    parse: (raw, env) => list(raw).map((name) => serviceName(name, env)),
  },
  balancer: {
    key: "balancer", env: "GATEWAY_BALANCER", form: BALANCER_NAMES.join(", "), default: "random",
    doc: "How an instance is chosen for each request, unless the service chooses (see Traffic policy).",
    parse: (raw, env) => balancerName(raw, env),
  },
  serviceBalancers: {
    key: "serviceBalancers", env: "GATEWAY_SERVICE_BALANCERS", form: "service:balancer[,service:balancer...]", default: "",
    doc: "Per-service balancers; above a service's `gateway-balancer` meta and `GATEWAY_BALANCER`.",
    parse: (raw, env) =>
      new Map(
        list(raw).map((item) => {
          const colon = item.indexOf(":");
          if (colon === -1) throw new ConfigError(env, `expected service:balancer, got ${JSON.stringify(item)}`);
          return [serviceName(item.slice(0, colon).trim(), env), balancerName(item.slice(colon + 1).trim(), env)] as const;
        }),
      ),
  },
  hashKey: {
    key: "hashKey", env: "GATEWAY_HASH_KEY", form: HASH_KEY_FORM, default: "client-address",
    doc: "What the `hash` balancer hashes; a request without the header or cookie is hashed by its client address.",
    parse: (raw, env) => {
      const key = parseHashKey(raw);
      if (key === undefined) throw new ConfigError(env, `expected ${HASH_KEY_FORM}, got ${JSON.stringify(raw)}`);
      return key;
    },
  },
  warmUpMs: {
    key: "warmUpMs", env: "GATEWAY_WARMUP_MS", form: "0-3600000", default: "30000",
    doc: "Warm-up window: a new instance's share ramps from 10% to full over it (0: off).", parse: integer(0, 3_600_000),
  },
  healthStates: {
    key: "healthStates", env: "GATEWAY_HEALTH_STATES", form: "passing or passing,warning", default: "passing",
    doc: "Which instances take traffic: those whose checks all pass, or also those with a warning (at a reduced weight).",
    parse: (raw, env) => {
      const states = [...new Set(list(raw))].sort();
      if (states.join(",") !== "passing" && states.join(",") !== "passing,warning") {
        throw new ConfigError(env, `expected passing or passing,warning, got ${JSON.stringify(raw)}`);
      }
      return states as HealthState[];
    },
  },
  warningWeightPercent: {
    key: "warningWeightPercent", env: "GATEWAY_WARNING_WEIGHT_PERCENT", form: "1-100", default: "10",
    doc: "A warning instance's weight, in percent of its passing weight, unless its `Weights.Warning` is lower.", parse: integer(1, 100),
  },
  serviceTags: {
    key: "serviceTags", env: "GATEWAY_SERVICE_TAGS", form: "service:tag[,tag...][;service:tag...]", default: "",
    doc: "Tags a service's instances must all carry to take traffic.",
    parse: (raw, env) => {
      const tags = new Map<string, string[]>();
      for (const entry of raw.split(";").map((e) => e.trim()).filter((e) => e !== "")) {
        const colon = entry.indexOf(":");
        const names = colon === -1 ? [] : list(entry.slice(colon + 1));
        if (names.length === 0) throw new ConfigError(env, `expected service:tag[,tag...], got ${JSON.stringify(entry)}`);
        const service = serviceName(entry.slice(0, colon).trim(), env);
        tags.set(service, [...new Set([...(tags.get(service) ?? []), ...names])].sort());
      }
      return tags;
    },
  },
  tagHeader: {
    key: "tagHeader", env: "GATEWAY_TAG_HEADER", form: "a header name, or empty", default: "X-Gateway-Tag",
    doc: "Request header naming tags (comma-separated) the instance must carry; empty: requests cannot choose.",
    parse: (raw, env) => {
      if (raw.trim() === "") return undefined;
      if (!HEADER_NAME.test(raw.trim())) throw new ConfigError(env, `expected a header name, got ${JSON.stringify(raw)}`);
      return raw.trim().toLowerCase();
    },
  },
  headerRoutePrefix: {
    key: "headerRoutePrefix", env: "GATEWAY_HEADER_ROUTE_PREFIX", form: "a path, or empty", default: "/services",
    doc: "Path where `service_name` and `api_name` headers name the service and path; empty: off.",
    parse: (raw, env) => {
      const prefix = raw.trim().replace(/(?<=.)\/+$/, "");
      if (prefix === "") return undefined;
      if (!isPlainPath(prefix) || prefix === "/" || prefix.includes("?")) throw new ConfigError(env, `expected a path such as /services, got ${JSON.stringify(raw)}`);
      return prefix;
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
    doc: "Ceiling of the exponential backoff between watcher restarts and Consul retries.", parse: integer(100, 600_000),
  },
};

function balancerName(raw: string, env: string): BalancerName {
  if (!isBalancerName(raw)) throw new ConfigError(env, `expected one of ${BALANCER_NAMES.join(", ")}, got ${JSON.stringify(raw)}`);
  return raw;
}

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
  const config: Record<string, unknown> = {};
  for (const setting of SETTING_LIST) {
    const raw = merged[setting.env] ?? setting.default;
    config[setting.key] = raw === undefined ? undefined : setting.parse(raw, setting.env);
  }
  return Object.freeze(config) as unknown as GatewayConfig;
}

/** The README's configuration table, generated from the same list so the two cannot drift apart. */
export function settingsMarkdownTable(): string {
  const rows = SETTING_LIST.map(
    (s) => `| \`${s.env}\` | \`${flagName(s.env)}\` | ${s.form} | ${s.default === undefined ? "(none)" : s.default === "" ? "(empty)" : `\`${s.default}\``} | ${s.doc} |`,
  );
  return ["| Variable | Flag | Accepted | Default | Meaning |", "|---|---|---|---|---|", ...rows].join("\n");
}
