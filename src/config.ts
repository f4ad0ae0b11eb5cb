/**
 * Configuration: environment first (Consul's own names where they exist),
 * a flag for each setting, one typed object, validated once at start.
 * A bad value stops the start with a message that names the setting and the
 * accepted form.
 */
import { accessSync, constants } from "node:fs";
import { BALANCER_NAMES, HASH_KEY_FORM, isBalancerName, parseHashKey, type BalancerName, type HashKey } from "./balancer-options.js";
import type { HealthState } from "./health-state.js";
import { isPlainPath } from "./plain-path.js";
import { isValidServiceName } from "./service-name.js";
import { REGISTRY_KINDS, type RegistryKind } from "./registry-kind.js";
import { parseConstraint, type TagConstraint } from "./tag-constraints.js";
import { TrustedProxies } from "./trusted-proxies.js";

/** GATEWAY_ACCESS_LOG, parsed. */
export type AccessLogTarget = { readonly kind: "off" } | { readonly kind: "stdout" } | { readonly kind: "file"; readonly path: string };

export const CONSISTENCY_MODES = ["default", "stale", "consistent"] as const;
export type ConsistencyMode = (typeof CONSISTENCY_MODES)[number];

export interface ConsulAddress {
  readonly protocol: "http:" | "https:";
  readonly host: string;
  readonly port: number;
}

export interface GatewayConfig {
  readonly host: string;
  readonly port: number;
  readonly httpsPort: number | undefined;
  readonly tlsCert: string | undefined;
  readonly tlsKey: string | undefined;
  readonly tlsDir: string | undefined;
  readonly tlsReloadMs: number;
  readonly httpsRedirect: boolean;
  readonly h2c: boolean;
  readonly registry: RegistryKind;
  readonly consulAddresses: readonly ConsulAddress[];
  readonly consulToken: string | undefined;
  readonly consulCaFile: string | undefined;
  readonly consulClientCert: string | undefined;
  readonly consulClientKey: string | undefined;
  readonly consulTlsServerName: string | undefined;
  readonly consulSslVerify: boolean;
  readonly consulDatacenter: string | undefined;
  readonly upstreamCaFile: string | undefined;
  readonly websocketHandshakeTimeoutMs: number;
  readonly websocketIdleTimeoutMs: number;
  readonly websocketDeregisteredGraceMs: number;
  /** host:port[,host:port...], normalised; node-zookeeper-client takes it as one string. */
  readonly zookeeperConnect: string;
  readonly services: readonly string[];
  readonly balancer: BalancerName;
  readonly serviceBalancers: ReadonlyMap<string, BalancerName>;
  readonly hashKey: HashKey;
  readonly warmUpMs: number;
  readonly healthStates: readonly HealthState[];
  readonly warningWeightPercent: number;
  readonly serviceTags: ReadonlyMap<string, readonly string[]>;
  readonly tagHeader: string | undefined;
  /** GATEWAY_TAG_HEADER_ALLOW: the tags a client may ask for; undefined: any. */
  readonly tagHeaderAllow: ReadonlySet<string> | undefined;
  readonly exposedByDefault: boolean;
  readonly constraints: { readonly expression: string; readonly test: TagConstraint } | undefined;
  readonly trustedProxies: TrustedProxies;
  readonly emitForwarded: boolean;
  readonly maxResponseHeaderBytes: number;
  readonly adminToken: string | undefined;
  readonly headerRoutePrefix: string | undefined;
  readonly upstreamTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly discoveryTimeoutMs: number;
  readonly consulWaitMs: number;
  readonly watcherRestartMaxMs: number;
  readonly retryAttempts: number;
  readonly retryDeadlineMs: number;
  readonly outlierConsecutiveFailures: number;
  readonly outlierEjectionMs: number;
  readonly outlierMaxEjectionMs: number;
  readonly outlierConsecutive5xx: number;
  readonly outlierMaxEjectionPercent: number;
  readonly panicThresholdPercent: number;
  readonly subscriptionIdleMs: number;
  readonly consulMaxConnsPerClient: number;
  readonly maxHeaderBytes: number;
  readonly maxHeaderCount: number;
  readonly maxUrlLength: number;
  readonly maxBodyBytes: number;
  readonly clientHeadersTimeoutMs: number;
  readonly clientRequestTimeoutMs: number;
  readonly clientIdleTimeoutMs: number;
  readonly shutdownGraceMs: number;
  readonly preserveHost: boolean;
  readonly snapshotFile: string | undefined;
  readonly coalesceMs: number;
  readonly consulConsistency: ConsistencyMode;
  readonly consulCached: boolean;
  readonly adminHost: string;
  readonly adminPort: number;
  readonly accessLog: AccessLogTarget;
  readonly workers: number;
  readonly watch: WatchMode;
}

export const WATCH_MODES = ["per-service", "shared"] as const;
export type WatchMode = (typeof WATCH_MODES)[number];

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
  /** The accepted form, as docs/configuration.md and error messages show it. */
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

function boolean(raw: string, env: string): boolean {
  if (raw !== "true" && raw !== "false") throw new ConfigError(env, `expected true or false, got ${JSON.stringify(raw)}`);
  return raw === "true";
}

function list(raw: string): string[] {
  return raw
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item.length > 0);
}

function hostName(raw: string, env: string): string {
  if (!/^[A-Za-z0-9.:-]+$/.test(raw)) throw new ConfigError(env, `expected an IP address or host name, got ${JSON.stringify(raw)}`);
  return raw;
}

/** `off`, `stdout`, or anything else as the path of a file to append to. */
function accessLogTarget(raw: string, env: string): AccessLogTarget {
  const value = raw.trim();
  if (value === "off") return { kind: "off" };
  if (value === "stdout") return { kind: "stdout" };
  if (value === "") throw new ConfigError(env, "expected off, stdout or a file path, got an empty value");
  return { kind: "file", path: value };
}

function filePath(raw: string, env: string): string {
  if (raw.trim() === "") throw new ConfigError(env, "expected a path, got an empty value");
  return raw.trim();
}

function serviceName(name: string, env: string): string {
  if (!isValidServiceName(name)) throw new ConfigError(env, `${JSON.stringify(name)} is not a service name (letters, digits, '-', '_', '.')`);
  return name;
}

/** A PEM file the gateway can read; checked at start so that a typo stops it there, not at the first TLS connection. */
function pemFile(raw: string, env: string): string {
  const path = raw.trim();
  try {
    accessSync(path, constants.R_OK);
  } catch (err) {
    throw new ConfigError(env, `expected a readable PEM file, got ${JSON.stringify(raw)} (${(err as NodeJS.ErrnoException).code ?? "unreadable"})`);
  }
  return path;
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
    doc: "Address the proxy listens on.", parse: hostName,
  },
  port: {
    key: "port", env: "GATEWAY_PORT", form: "0-65535", default: "3000",
    doc: "Port the proxy listens on (0 picks a free one).", parse: integer(0, 65535),
  },
  httpsPort: {
    key: "httpsPort", env: "GATEWAY_HTTPS_PORT", form: "0-65535", default: undefined,
    doc: "Port of the HTTPS listener (HTTP/2 and HTTP/1.1 by ALPN, TLS 1.2 or later); unset: none. Needs `GATEWAY_TLS_CERT` and `GATEWAY_TLS_KEY`, or `GATEWAY_TLS_DIR`.",
    parse: integer(0, 65535),
  },
  tlsCert: {
    key: "tlsCert", env: "GATEWAY_TLS_CERT", form: "a PEM file path", default: undefined,
    doc: "The HTTPS listener's certificate (with its chain), served to clients that name no host or a host no `GATEWAY_TLS_DIR` certificate is for.",
    parse: filePath,
  },
  tlsKey: {
    key: "tlsKey", env: "GATEWAY_TLS_KEY", form: "a PEM file path", default: undefined,
    doc: "The private key of `GATEWAY_TLS_CERT`.", parse: filePath,
  },
  tlsDir: {
    key: "tlsDir", env: "GATEWAY_TLS_DIR", form: "a folder path", default: undefined,
    doc: "A folder of `<name>.crt` + `<name>.key` pairs, served by SNI for the DNS names in each certificate.", parse: filePath,
  },
  tlsReloadMs: {
    key: "tlsReloadMs", env: "GATEWAY_TLS_RELOAD_MS", form: "0-3600000", default: "2000",
    doc: "How often the certificate files are checked for a change, which is loaded without a restart (0: never); a bad new file keeps the old certificate and is logged.",
    parse: integer(0, 3_600_000),
  },
  httpsRedirect: {
    key: "httpsRedirect", env: "GATEWAY_HTTPS_REDIRECT", form: "true, false", default: "false",
    doc: "Answer every plain-HTTP request with a 308 redirect to the same URL on `GATEWAY_HTTPS_PORT`.", parse: boolean,
  },
  h2c: {
    key: "h2c", env: "GATEWAY_H2C", form: "true, false", default: "false",
    doc: "Also take HTTP/2 with prior knowledge (h2c) on `GATEWAY_PORT`, beside HTTP/1.1: what gRPC clients without TLS speak.", parse: boolean,
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
  consulCaFile: {
    key: "consulCaFile", env: "CONSUL_CACERT", form: "a PEM file", default: undefined,
    doc: "CA certificate(s) that signed the Consul agents' certificates, for `https://` addresses (unset: the system's CAs).", parse: pemFile,
  },
  consulClientCert: {
    key: "consulClientCert", env: "CONSUL_CLIENT_CERT", form: "a PEM file", default: undefined,
    doc: "Client certificate presented to Consul (agents with `verify_incoming`); needs `CONSUL_CLIENT_KEY`.", parse: pemFile,
  },
  consulClientKey: {
    key: "consulClientKey", env: "CONSUL_CLIENT_KEY", form: "a PEM file", default: undefined,
    doc: "Private key of `CONSUL_CLIENT_CERT`.", parse: pemFile,
  },
  consulTlsServerName: {
    key: "consulTlsServerName", env: "CONSUL_TLS_SERVER_NAME", form: "a host name", default: undefined,
    doc: "Name the Consul agent's certificate is checked against (and sent as SNI), when the address is not that name (e.g. `server.dc1.consul`).",
    parse: (raw, env) => {
      if (!/^[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*$/.test(raw.trim()) || raw.trim().length > 253) {
        throw new ConfigError(env, `expected a host name, got ${JSON.stringify(raw)}`);
      }
      return raw.trim();
    },
  },
  consulSslVerify: {
    key: "consulSslVerify", env: "CONSUL_HTTP_SSL_VERIFY", form: "true, false", default: "true",
    doc: "Check the Consul agent's certificate; `false` accepts any (trials only: anyone on the path can then pose as Consul).", parse: boolean,
  },
  consulDatacenter: {
    key: "consulDatacenter", env: "CONSUL_DATACENTER", form: "a datacenter name", default: undefined,
    doc: "Datacenter whose services are watched (Consul's `dc` parameter; unset: the agent's own). Consul's CLI has only a flag for it, `-datacenter`.",
    parse: (raw, env) => {
      if (!/^[A-Za-z0-9_-]{1,64}$/.test(raw.trim())) throw new ConfigError(env, `expected a datacenter name (letters, digits, '-', '_'), got ${JSON.stringify(raw)}`);
      return raw.trim();
    },
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
    key: "tagHeader", env: "GATEWAY_TAG_HEADER", form: "a header name, or empty", default: "",
    doc: "Request header naming tags (comma-separated) the instance must carry, e.g. `X-Gateway-Tag`; empty (the default): clients cannot choose instances by tag (docs/security.md).",
    parse: (raw, env) => {
      if (raw.trim() === "") return undefined;
      if (!HEADER_NAME.test(raw.trim())) throw new ConfigError(env, `expected a header name, got ${JSON.stringify(raw)}`);
      return raw.trim().toLowerCase();
    },
  },
  tagHeaderAllow: {
    key: "tagHeaderAllow", env: "GATEWAY_TAG_HEADER_ALLOW", form: "tag[,tag...], or empty", default: "",
    doc: "The tags a client may ask for in GATEWAY_TAG_HEADER; another gets 400 TAG_NOT_ALLOWED. Empty: any tag.",
    parse: (raw) => {
      const tags = list(raw);
      return tags.length === 0 ? undefined : new Set(tags);
    },
  },
  exposedByDefault: {
    key: "exposedByDefault", env: "GATEWAY_EXPOSED_BY_DEFAULT", form: "true, false", default: "true",
    doc: "Expose every service of the catalog unless tagged `gateway.enable=false`; `false`: only those tagged `gateway.enable=true` (the choice for an edge: docs/security.md). A service not exposed is answered like an unknown one and never watched.",
    parse: boolean,
  },
  constraints: {
    key: "constraints", env: "GATEWAY_CONSTRAINTS", form: "a tag expression", default: undefined,
    doc: "Expose only services whose tags match, in Traefik's syntax: ``Tag(`edge`) && !Tag(`internal`)`` (`!`, `&&`, `||`, parentheses).",
    parse: (raw, env) => {
      try {
        return { expression: raw, test: parseConstraint(raw) };
      } catch (err) {
        throw new ConfigError(env, `expected a tag expression such as Tag(\`edge\`) && !Tag(\`internal\`): ${(err as Error).message}`);
      }
    },
  },
  trustedProxies: {
    key: "trustedProxies", env: "GATEWAY_TRUSTED_PROXIES", form: "CIDR[,CIDR...], or empty", default: "",
    doc: "Peers whose forwarded headers are believed (IPv4, IPv6; IPv4-mapped peers match IPv4 blocks). From any other peer, Forwarded, X-Real-IP and every X-Forwarded-* are replaced by what the gateway saw.",
    parse: (raw, env) => {
      try {
        return TrustedProxies.parse(raw);
      } catch (err) {
        throw new ConfigError(env, `expected CIDR blocks or addresses such as 10.0.0.0/8, fd00::/8: ${(err as Error).message}`);
      }
    },
  },
  emitForwarded: {
    key: "emitForwarded", env: "GATEWAY_FORWARDED", form: "true, false", default: "false",
    doc: "Also send an RFC 7239 `Forwarded` header (appended to a trusted peer's).", parse: boolean,
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
  connectTimeoutMs: {
    key: "connectTimeoutMs", env: "GATEWAY_CONNECT_TIMEOUT_MS", form: "1-600000", default: "3000",
    doc: "Longest wait for a TCP (and TLS) connection to an instance; a timed-out connect is retried on another instance. Keep it well under GATEWAY_RETRY_DEADLINE_MS.", parse: integer(1, 600_000),
  },
  upstreamCaFile: {
    key: "upstreamCaFile", env: "GATEWAY_UPSTREAM_CA", form: "a PEM file", default: undefined,
    doc: "CA certificate(s) for instances that serve HTTPS (meta `gateway-protocol=https`); unset: the system's CAs.", parse: pemFile,
  },
  websocketHandshakeTimeoutMs: {
    key: "websocketHandshakeTimeoutMs", env: "GATEWAY_WEBSOCKET_HANDSHAKE_TIMEOUT_MS", form: "1-600000", default: "10000",
    doc: "Longest wait for an instance to answer a WebSocket (upgrade) handshake, connecting included, before 504.", parse: integer(1, 600_000),
  },
  websocketIdleTimeoutMs: {
    key: "websocketIdleTimeoutMs", env: "GATEWAY_WEBSOCKET_IDLE_TIMEOUT_MS", form: "0-86400000", default: "600000",
    doc: "An upgraded connection with no bytes either way for this long is closed (0: never).", parse: integer(0, 86_400_000),
  },
  websocketDeregisteredGraceMs: {
    key: "websocketDeregisteredGraceMs", env: "GATEWAY_WEBSOCKET_DEREGISTERED_GRACE_MS", form: "0-3600000", default: "30000",
    doc: "Upgraded connections to an instance that left the route table are closed this long after it left.", parse: integer(0, 3_600_000),
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
  retryAttempts: {
    key: "retryAttempts", env: "GATEWAY_RETRY_ATTEMPTS", form: "1-10", default: "3",
    doc: "Attempts per request, on different instances, when a failure is safe to retry (1: no retries).", parse: integer(1, 10),
  },
  retryDeadlineMs: {
    key: "retryDeadlineMs", env: "GATEWAY_RETRY_DEADLINE_MS", form: "0-3600000", default: "10000",
    doc: "No retry starts later than this after the request arrived.", parse: integer(0, 3_600_000),
  },
  outlierConsecutiveFailures: {
    key: "outlierConsecutiveFailures", env: "GATEWAY_OUTLIER_FAILURES", form: "0-1000", default: "3",
    doc: "Gateway failures in a row (refused or broken connections, timeouts) that take an instance out of rotation (Envoy's consecutive_gateway_failure; 0: this trigger off).", parse: integer(0, 1000),
  },
  outlierConsecutive5xx: {
    key: "outlierConsecutive5xx", env: "GATEWAY_OUTLIER_CONSECUTIVE_5XX", form: "0-1000", default: "5",
    doc: "5xx answers of the instance's own in a row that take it out of rotation (Envoy's consecutive_5xx; 0: this trigger off).", parse: integer(0, 1000),
  },
  outlierMaxEjectionPercent: {
    key: "outlierMaxEjectionPercent", env: "GATEWAY_OUTLIER_MAX_EJECTION_PERCENT", form: "0-100", default: "50",
    doc: "At most this share of a service's instances is out of rotation at once; one instance always may be (Envoy's max_ejection_percent).", parse: integer(0, 100),
  },
  panicThresholdPercent: {
    key: "panicThresholdPercent", env: "GATEWAY_PANIC_THRESHOLD_PERCENT", form: "0-100", default: "50",
    doc: "Below this share of a service's instances in rotation, traffic goes to all of them, ejected ones included, rather than overload the rest (Envoy's panic threshold; 0: only when none is left).", parse: integer(0, 100),
  },
  outlierEjectionMs: {
    key: "outlierEjectionMs", env: "GATEWAY_OUTLIER_EJECTION_MS", form: "1-3600000", default: "10000",
    doc: "How long the first ejection lasts; each further one in a row lasts that much longer.", parse: integer(1, 3_600_000),
  },
  outlierMaxEjectionMs: {
    key: "outlierMaxEjectionMs", env: "GATEWAY_OUTLIER_MAX_EJECTION_MS", form: "1-3600000", default: "300000",
    doc: "The longest an ejection lasts.", parse: integer(1, 3_600_000),
  },
  maxHeaderBytes: {
    key: "maxHeaderBytes", env: "GATEWAY_MAX_HEADER_BYTES", form: "1024-1048576", default: "16384",
    doc: "Largest request line plus headers (431 beyond).", parse: integer(1024, 1_048_576),
  },
  maxResponseHeaderBytes: {
    key: "maxResponseHeaderBytes", env: "GATEWAY_MAX_RESPONSE_HEADER_BYTES", form: "1024-1048576", default: "16384",
    doc: "Largest status line plus headers an instance may answer with (502 UPSTREAM_HEADERS_TOO_LARGE beyond); the default is Node's own limit for request headers.",
    parse: integer(1024, 1_048_576),
  },
  maxHeaderCount: {
    key: "maxHeaderCount", env: "GATEWAY_MAX_HEADER_COUNT", form: "1-10000", default: "100",
    doc: "Most request headers (431 beyond).", parse: integer(1, 10_000),
  },
  maxUrlLength: {
    key: "maxUrlLength", env: "GATEWAY_MAX_URL_LENGTH", form: "16-1048576", default: "8192",
    doc: "Longest request URL (414 beyond).", parse: integer(16, 1_048_576),
  },
  maxBodyBytes: {
    key: "maxBodyBytes", env: "GATEWAY_MAX_BODY_BYTES", form: "0-1099511627776", default: "104857600",
    doc: "Largest request body, declared or streamed (413 beyond; 0: no limit).", parse: integer(0, 1_099_511_627_776),
  },
  clientHeadersTimeoutMs: {
    key: "clientHeadersTimeoutMs", env: "GATEWAY_CLIENT_HEADERS_TIMEOUT_MS", form: "100-600000", default: "10000",
    doc: "Time a client has to send its request headers (slowloris guard; 408 after).", parse: integer(100, 600_000),
  },
  clientRequestTimeoutMs: {
    key: "clientRequestTimeoutMs", env: "GATEWAY_CLIENT_REQUEST_TIMEOUT_MS", form: "0-86400000", default: "300000",
    doc: "Time a client has to send its whole request, body included (0: no limit).", parse: integer(0, 86_400_000),
  },
  clientIdleTimeoutMs: {
    key: "clientIdleTimeoutMs", env: "GATEWAY_CLIENT_IDLE_TIMEOUT_MS", form: "100-3600000", default: "5000",
    doc: "A client connection with no request in flight for this long is closed: an HTTP/1.1 keep-alive connection, or an HTTP/2 session (with a GOAWAY). Behind a load balancer, set it above the balancer's own idle timeout.", parse: integer(100, 3_600_000),
  },
  shutdownGraceMs: {
    key: "shutdownGraceMs", env: "GATEWAY_SHUTDOWN_GRACE_MS", form: "0-600000", default: "10000",
    doc: "On SIGTERM, how long requests in flight may take to finish before connections are cut.", parse: integer(0, 600_000),
  },
  preserveHost: {
    key: "preserveHost", env: "GATEWAY_PRESERVE_HOST", form: "true, false", default: "false",
    doc: "Send the client's Host header upstream instead of the instance's address.", parse: boolean,
  },
  consulConsistency: {
    key: "consulConsistency", env: "GATEWAY_CONSUL_CONSISTENCY", form: CONSISTENCY_MODES.join(", "), default: "default",
    doc: "Consul's read mode for the watches: `stale` lets any server answer (spares the leader), `consistent` asks the leader to confirm.",
    parse: (raw, env) => {
      if (!(CONSISTENCY_MODES as readonly string[]).includes(raw)) throw new ConfigError(env, `expected one of ${CONSISTENCY_MODES.join(", ")}, got ${JSON.stringify(raw)}`);
      return raw as ConsistencyMode;
    },
  },
  consulCached: {
    key: "consulCached", env: "GATEWAY_CONSUL_CACHED", form: "true, false", default: "false",
    doc: "Read through the agent's cache (Consul's `cached` parameter), sparing the servers.", parse: boolean,
  },
  snapshotFile: {
    key: "snapshotFile", env: "GATEWAY_SNAPSHOT_FILE", form: "a file path", default: undefined,
    doc: "Where the last known route table is kept, to route after a restart while Consul is down (unset: not kept).",
    parse: (raw) => raw,
  },
  coalesceMs: {
    key: "coalesceMs", env: "GATEWAY_COALESCE_MS", form: "0-10000", default: "20",
    doc: "Route changes are applied at once, up to 8 table swaps within this window; past that (a burst), what arrives waits for one swap at the window's end (0: each at once).", parse: integer(0, 10_000),
  },
  adminHost: {
    key: "adminHost", env: "GATEWAY_ADMIN_HOST", form: "an IP address or host name", default: "127.0.0.1",
    doc: "Address of the admin API, dashboard and metrics; loopback only unless changed (docs/security.md says what an exposed admin port gives away).", parse: hostName,
  },
  adminToken: {
    key: "adminToken", env: "GATEWAY_ADMIN_TOKEN", form: "16-256 visible ASCII characters", default: undefined,
    doc: "When set, the admin API (all but `/health` and `/ready`) asks for `Authorization: Bearer <token>` (401 otherwise).",
    parse: (raw, env) => {
      if (!/^[\x21-\x7e]{16,256}$/.test(raw)) throw new ConfigError(env, "expected 16-256 visible ASCII characters (no spaces)");
      return raw;
    },
  },
  adminPort: {
    key: "adminPort", env: "GATEWAY_ADMIN_PORT", form: "0-65535", default: "9901",
    doc: "Port of the admin API (`/health`, `/ready`, `/routes`, `/metrics`) and the dashboard (`/`); 0 picks a free one.", parse: integer(0, 65535),
  },
  accessLog: {
    key: "accessLog", env: "GATEWAY_ACCESS_LOG", form: "off, stdout or a file path", default: "off",
    doc: "Where the access log goes: one JSON line per request, appended to the file when a path is given.", parse: accessLogTarget,
  },
  workers: {
    key: "workers", env: "GATEWAY_WORKERS", form: "1-256", default: "1",
    doc: "Gateway processes sharing the port (node:cluster). Above 1, a primary runs the one watcher child, relays its routes to every worker and re-forks a worker that dies.",
    parse: integer(1, 256),
  },
  subscriptionIdleMs: {
    key: "subscriptionIdleMs", env: "GATEWAY_SUBSCRIPTION_IDLE_MS", form: "0-86400000", default: "300000",
    doc: "A service no request asked for within this time is unsubscribed: its watch stops, its routes, stats and metric series go; its next request subscribes it again. Never for `GATEWAY_SERVICES`; 0: only services that leave the catalog are unsubscribed.",
    parse: integer(0, 86_400_000),
  },
  consulMaxConnsPerClient: {
    key: "consulMaxConnsPerClient", env: "GATEWAY_CONSUL_HTTP_MAX_CONNS_PER_CLIENT", form: "20-100000", default: "200",
    doc: "The Consul agent's `http_max_conns_per_client`. In per-service watch mode, when the watches come within 20 of it, the watcher says so (log, `/ready` details) and moves every service to the shared watch instead of letting Consul refuse connections.",
    parse: integer(20, 100_000),
  },
  watch: {
    key: "watch", env: "GATEWAY_WATCH", form: WATCH_MODES.join(", "), default: "per-service",
    doc: "How the watcher follows Consul services: one blocking query each (fastest per change; Consul allows 200 connections per client by default, so up to about 190 services), or `shared`: one query on every check, reading again only the services that changed (any number of services; see docs/BENCHMARKS.md). Consul only: refused with `GATEWAY_REGISTRY=zookeeper`, which watches each service's node.",
    parse: (raw, env) => {
      if (!(WATCH_MODES as readonly string[]).includes(raw)) throw new ConfigError(env, `expected one of ${WATCH_MODES.join(", ")}, got ${JSON.stringify(raw)}`);
      return raw as WatchMode;
    },
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
  const config = parseSettings(merged, SETTING_LIST) as unknown as GatewayConfig;
  if ((config.consulClientCert === undefined) !== (config.consulClientKey === undefined)) {
    const missing = config.consulClientCert === undefined ? SETTINGS.consulClientCert.env : SETTINGS.consulClientKey.env;
    throw new ConfigError(missing, "a client certificate and its key go together: set CONSUL_CLIENT_CERT and CONSUL_CLIENT_KEY, or neither");
  }
  if (config.watch === "shared" && config.registry !== "consul") {
    throw new ConfigError(SETTINGS.watch.env, `shared is a Consul watch mode; with GATEWAY_REGISTRY=${config.registry} each service is watched on its own (leave it unset or per-service)`);
  }
  checkTlsSettings(config);
  return config;
}

/** The HTTPS settings that only make sense together. */
function checkTlsSettings(config: GatewayConfig): void {
  if ((config.tlsCert === undefined) !== (config.tlsKey === undefined)) {
    const missing = config.tlsCert === undefined ? SETTINGS.tlsCert.env : SETTINGS.tlsKey.env;
    throw new ConfigError(missing, `needed with ${missing === SETTINGS.tlsCert.env ? SETTINGS.tlsKey.env : SETTINGS.tlsCert.env}: a certificate and its key go together`);
  }
  if (config.httpsPort !== undefined && config.tlsCert === undefined && config.tlsDir === undefined) {
    throw new ConfigError(SETTINGS.httpsPort.env, `the HTTPS listener needs a certificate: set ${SETTINGS.tlsCert.env} and ${SETTINGS.tlsKey.env}, or ${SETTINGS.tlsDir.env}`);
  }
  if (config.httpsRedirect && config.httpsPort === undefined) {
    throw new ConfigError(SETTINGS.httpsRedirect.env, `redirects to HTTPS need ${SETTINGS.httpsPort.env}`);
  }
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
export const REGISTRY_SETTING_KEYS = [
  "registry", "consulAddresses", "consulToken",
  "consulCaFile", "consulClientCert", "consulClientKey", "consulTlsServerName", "consulSslVerify", "consulDatacenter",
  "consulWaitMs", "consulConsistency", "consulCached", "healthStates", "zookeeperConnect", "watcherRestartMaxMs", "consulMaxConnsPerClient"] as const;
export type RegistrySettings = Pick<GatewayConfig, (typeof REGISTRY_SETTING_KEYS)[number]>;

/** Only the registry's settings, from the environment: the demo service registers itself with the gateway's variables. */
export function loadRegistrySettings(env: NodeJS.ProcessEnv): RegistrySettings {
  const keys: readonly string[] = REGISTRY_SETTING_KEYS;
  return parseSettings(env, SETTING_LIST.filter((s) => keys.includes(s.key))) as unknown as RegistrySettings;
}

/** docs/configuration.md's settings table, generated from the same list so the two cannot drift apart. */
export function settingsMarkdownTable(): string {
  const rows = SETTING_LIST.map(
    (s) => `| \`${s.env}\` | \`${flagName(s.env)}\` | ${s.form} | ${s.default === undefined ? "(none)" : s.default === "" ? "(empty)" : `\`${s.default}\``} | ${s.doc} |`,
  );
  return ["| Variable | Flag | Accepted | Default | Meaning |", "|---|---|---|---|---|", ...rows].join("\n");
}
