/**
 * Registrator's rules, as a pure function: one running container (its
 * environment, labels, exposed and published ports) → the Consul service
 * registrations it asks for, plus the problems found in its SERVICE_* keys.
 *
 * Compatible with gliderlabs/registrator v7, so that existing labels keep working:
 * - SERVICE_<key> from the environment, then from labels (a label wins); a
 *   key for one port, SERVICE_<port>_<key>, wins over the general one;
 * - name: SERVICE_NAME, else the image's base name, plus "-<port>" when the
 *   container exposes several ports; an empty value counts as absent;
 * - SERVICE_IGNORE (any non-empty value) leaves the container or port out;
 * - SERVICE_TAGS (comma-separated) plus the registrar's -tags; "udp" for UDP ports;
 * - SERVICE_CHECK_HTTP / _HTTPS (a path), _TCP, _INTERVAL (default 10s),
 *   _TIMEOUT, _DEREGISTER_AFTER;
 * - ID `<hostname>:<container name>:<port>[:udp]`, unique per host; SERVICE_ID overrides;
 * - -internal: the container's IP and exposed port; otherwise only published
 *   ports, at the host address and the published port.
 * Beyond Registrator: values that Consul or the gateway would refuse (a name
 * outside the service-name rule, a malformed duration or path, a huge tag
 * list) are reported and left out instead of sent. Other SERVICE_* attributes
 * are not sent: Registrator v7 sends none to Consul either.
 */
import { isValidServiceName } from "../service-name.js";

export type Protocol = "tcp" | "udp";

export interface ContainerPort {
  /** The port inside the container (EXPOSE or a published port). */
  port: number;
  protocol: Protocol;
  /** The published binding on the host, when there is one. */
  hostIp?: string;
  hostPort?: number;
}

/** A running container, as the Docker API describes it, reduced to what the rules read. */
export interface ContainerView {
  id: string;
  /** Without Docker's leading "/". */
  name: string;
  image: string;
  env: readonly string[];
  labels: Readonly<Record<string, string>>;
  ports: readonly ContainerPort[];
  /** The container's address on its (first) network, for -internal. */
  ip: string | undefined;
}

export interface RuleOptions {
  /** The host part of every ID: unique per host, as Registrator's -hostname. */
  hostname: string;
  internal: boolean;
  /** External mode: the address of published ports whose binding names no specific IP (Registrator's -ip). */
  hostIp: string | undefined;
  /** Registrator's -tags: added to every registration. */
  tags: readonly string[];
  /** Registrator's -explicit: only containers (or ports) with a SERVICE_NAME. */
  explicit: boolean;
}

export interface ConsulCheck {
  HTTP?: string;
  TCP?: string;
  Interval: string;
  Timeout?: string;
  DeregisterCriticalServiceAfter?: string;
}

/** The body of Consul's PUT /v1/agent/service/register. */
export interface Registration {
  ID: string;
  Name: string;
  Address: string;
  Port: number;
  Tags: string[];
  Meta: Record<string, string>;
  Check?: ConsulCheck;
}

export interface RulesResult {
  registrations: Registration[];
  /** Keys or values that were refused, each naming the container and the key. */
  problems: string[];
}

/** Meta keys that mark a registration as this registrar's, on this host, for this container. */
export const META_REGISTRAR = "registrar";
export const META_REGISTRAR_VALUE = "koa-consul-gateway";
export const META_HOST = "registrar-host";
export const META_CONTAINER = "container-id";

export const MAX_TAGS = 64;
export const MAX_TAG_LENGTH = 256;
const MAX_ID_LENGTH = 256;
const MAX_CHECK_PATH_LENGTH = 1024;
const DEFAULT_CHECK_INTERVAL = "10s";

/** Go's time.ParseDuration form (Consul's), without a sign: "10s", "1m30s", "500ms". */
const DURATION = /^(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+$/;
/** Printable ASCII without spaces: a path that becomes the end of a check URL. */
const CHECK_PATH = /^\/[\x21-\x7e]*$/;
const SERVICE_ID = /^[A-Za-z0-9._:-]+$/;
const TAG = /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/;

type Metadata = Map<string, string>;

/** SERVICE_* pairs of the environment then the labels, keys lower-cased without the prefix (Registrator's order: labels win). */
function serviceKeys(container: ContainerView): [string, string][] {
  const pairs: [string, string][] = [];
  for (const entry of container.env) {
    const eq = entry.indexOf("=");
    if (eq > 0) pairs.push([entry.slice(0, eq), entry.slice(eq + 1)]);
  }
  for (const [k, v] of Object.entries(container.labels)) pairs.push([k, v]);
  return pairs
    .filter(([k]) => k.startsWith("SERVICE_") && k.length > "SERVICE_".length)
    .map(([k, v]) => [k.slice("SERVICE_".length).toLowerCase(), v]);
}

/** The metadata that applies to one port: general keys, overridden by SERVICE_<port>_<key>. */
function metadataFor(keys: readonly [string, string][], port: number): Metadata {
  const general: Metadata = new Map();
  const forPort: Metadata = new Map();
  for (const [key, value] of keys) {
    const m = /^(\d+)_(.+)$/.exec(key);
    if (m) {
      if (Number(m[1]) === port && String(port) === m[1]) forPort.set(m[2]!, value);
    } else {
      general.set(key, value);
    }
  }
  return new Map([...general, ...forPort]);
}

/** Registrator's mapDefault: an absent or empty value is the default. */
function valueOr(meta: Metadata, key: string, fallback: string): string {
  const v = meta.get(key);
  return v === undefined || v === "" ? fallback : v;
}

/** The image's base name without tag or digest: "registry:5000/team/web:1.2@sha256:…" → "web". */
export function imageBaseName(image: string): string {
  const withoutDigest = image.split("@")[0]!;
  const base = withoutDigest.slice(withoutDigest.lastIndexOf("/") + 1);
  return base.split(":")[0]!;
}

function tagsFrom(raw: string, forced: readonly string[], protocol: Protocol, where: string, problems: string[]): string[] {
  const tags: string[] = [];
  const seen = new Set<string>();
  let refused = 0;
  for (const candidate of [...raw.split(","), ...forced, ...(protocol === "udp" ? ["udp"] : [])]) {
    const tag = candidate.trim();
    if (tag === "" || seen.has(tag)) continue;
    if (tag.length > MAX_TAG_LENGTH || !TAG.test(tag)) {
      refused += 1;
      continue;
    }
    if (tags.length >= MAX_TAGS) {
      problems.push(`${where}: more than ${MAX_TAGS} tags; the rest are left out`);
      break;
    }
    seen.add(tag);
    tags.push(tag);
  }
  if (refused > 0) problems.push(`${where}: ${refused} tag(s) refused (longer than ${MAX_TAG_LENGTH} characters or not printable ASCII)`);
  return tags;
}

function duration(meta: Metadata, key: string, where: string, problems: string[]): string | undefined {
  const v = meta.get(key);
  if (v === undefined || v === "") return undefined;
  if (DURATION.test(v)) return v;
  problems.push(`${where}: SERVICE_${key.toUpperCase()}=${JSON.stringify(v.slice(0, 64))} is not a duration such as 10s or 1m30s`);
  return undefined;
}

function checkFor(meta: Metadata, address: string, port: number, where: string, problems: string[]): ConsulCheck | undefined {
  const host = address.includes(":") ? `[${address}]` : address;
  let target: Pick<ConsulCheck, "HTTP" | "TCP"> | undefined;
  for (const scheme of ["http", "https"] as const) {
    const path = meta.get(`check_${scheme}`);
    if (path === undefined || path === "" || target) continue;
    if (path.length > MAX_CHECK_PATH_LENGTH || !CHECK_PATH.test(path)) {
      problems.push(`${where}: SERVICE_CHECK_${scheme.toUpperCase()} must be a path that starts with "/" (printable, no spaces); no check registered`);
      return undefined;
    }
    target = { HTTP: `${scheme}://${host}:${port}${path}` };
  }
  const tcp = meta.get("check_tcp");
  if (!target && tcp !== undefined && tcp !== "" && tcp !== "false") target = { TCP: `${host}:${port}` };
  for (const unsupported of ["check_script", "check_cmd", "check_ttl", "check_docker"]) {
    if (meta.has(unsupported)) problems.push(`${where}: SERVICE_${unsupported.toUpperCase()} is not supported; use SERVICE_CHECK_HTTP or SERVICE_CHECK_TCP`);
  }
  if (!target) return undefined;
  const check: ConsulCheck = { ...target, Interval: duration(meta, "check_interval", where, problems) ?? DEFAULT_CHECK_INTERVAL };
  const timeout = duration(meta, "check_timeout", where, problems);
  if (timeout) check.Timeout = timeout;
  const deregisterAfter = duration(meta, "check_deregister_after", where, problems);
  if (deregisterAfter) check.DeregisterCriticalServiceAfter = deregisterAfter;
  return check;
}

function isValidPort(n: number | undefined): n is number {
  return n !== undefined && Number.isInteger(n) && n >= 1 && n <= 65535;
}

/** Whether a published binding listens on every address (so the host's own address must be registered). */
function isWildcard(ip: string | undefined): boolean {
  return ip === undefined || ip === "" || ip === "0.0.0.0" || ip === "::";
}

export function registrationsFor(container: ContainerView, options: RuleOptions): RulesResult {
  const problems: string[] = [];
  const registrations: Registration[] = [];
  const keys = serviceKeys(container);
  const ports = container.ports.filter((p) => isValidPort(p.port));

  const exposed = new Set(ports.map((p) => String(p.port)));
  for (const [key] of keys) {
    const m = /^(\d+)_/.exec(key);
    if (m && !exposed.has(m[1]!)) {
      problems.push(`${container.name}: SERVICE_${key.toUpperCase()} names port ${m[1]}, which the container does not expose`);
    }
  }

  const several = new Set(ports.map((p) => `${p.port}/${p.protocol}`)).size > 1;
  const done = new Set<string>();
  for (const p of ports) {
    const portKey = `${p.port}/${p.protocol}`;
    if (done.has(portKey)) continue;
    done.add(portKey);
    const where = `${container.name} port ${portKey}`;
    const meta = metadataFor(keys, p.port);
    if (valueOr(meta, "ignore", "") !== "") continue;
    const explicitName = valueOr(meta, "name", "");
    if (options.explicit && explicitName === "") continue;

    let address: string | undefined;
    let port: number;
    if (options.internal) {
      address = container.ip;
      port = p.port;
      if (!address) {
        problems.push(`${where}: the container has no IP address on a network; -internal cannot register it`);
        continue;
      }
    } else {
      if (!isValidPort(p.hostPort)) continue; // not published: Registrator leaves it out outside -internal
      address = isWildcard(p.hostIp) ? options.hostIp : p.hostIp;
      port = p.hostPort;
      if (!address) {
        problems.push(`${where}: published on every host address and no -ip given; not registered`);
        continue;
      }
    }

    const defaultName = imageBaseName(container.image) + (several ? `-${p.port}` : "");
    const name = explicitName || defaultName;
    if (!isValidServiceName(name)) {
      problems.push(`${where}: service name ${JSON.stringify(name.slice(0, 140))} breaks the service-name rule (letters, digits, "-", "_", "."; 1–128 characters); not registered`);
      continue;
    }

    let id = `${options.hostname}:${container.name}:${p.port}${p.protocol === "udp" ? ":udp" : ""}`;
    const customId = valueOr(meta, "id", "");
    if (customId !== "") {
      if (customId.length <= MAX_ID_LENGTH && SERVICE_ID.test(customId)) id = customId;
      else problems.push(`${where}: SERVICE_ID must be 1–${MAX_ID_LENGTH} letters, digits or "._:-"; the default ID is used`);
    }

    const registration: Registration = {
      ID: id,
      Name: name,
      Address: address,
      Port: port,
      Tags: tagsFrom(valueOr(meta, "tags", ""), options.tags, p.protocol, where, problems),
      Meta: { [META_REGISTRAR]: META_REGISTRAR_VALUE, [META_HOST]: options.hostname, [META_CONTAINER]: container.id },
    };
    const check = checkFor(meta, address, port, where, problems);
    if (check) registration.Check = check;
    registrations.push(registration);
  }

  // Two ports (or SERVICE_IDs) must never produce one ID twice: Consul would keep only the last.
  const ids = new Set<string>();
  const unique = registrations.filter((r) => {
    if (ids.has(r.ID)) {
      problems.push(`${container.name}: service ID ${r.ID} is used by two ports; the second is not registered`);
      return false;
    }
    ids.add(r.ID);
    return true;
  });
  return { registrations: unique, problems };
}
