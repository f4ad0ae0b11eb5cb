/**
 * The IPC schema between the gateway (parent) and the watcher child.
 * The parent validates every message from the child before it touches the
 * route table: a child is a separate process and its messages are input.
 */
import type { Instance } from "./instance.js";
import { isValidServiceName } from "../service-name.js";

/** Parent → child. */
export type WatcherCommand = { type: "subscribe"; service: string } | { type: "unsubscribe"; service: string };

/** Child → parent. */
export type WatcherMessage =
  | { type: "service"; service: string; index: string; instances: Instance[] }
  /** `tags`: each service's tags in the catalog (the union over its instances), where prefix routes come from. */
  | { type: "catalog"; index: string; services: string[]; tags: Record<string, string[]> }
  | { type: "watch-error"; service: string | null; message: string };

/** The address becomes the host of an upstream URL: only a plain host name or IP may pass. */
export function isValidInstanceAddress(address: string): boolean {
  return /^[A-Za-z0-9.:_-]{1,253}$/.test(address);
}

export class InvalidMessageError extends Error {
  override name = "InvalidMessageError";
}

function fail(what: string): never {
  throw new InvalidMessageError(what);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function serviceName(value: unknown, where: string): string {
  if (typeof value !== "string" || !isValidServiceName(value)) fail(`${where}: not a valid service name`);
  return value;
}

function consulIndex(value: unknown, where: string): string {
  if (typeof value !== "string" || !/^\d{1,20}$/.test(value)) fail(`${where}: index must be a decimal string`);
  return value;
}

function stringArray(value: unknown, where: string): string[] {
  if (!Array.isArray(value) || !value.every((t) => typeof t === "string")) fail(`${where}: must be an array of strings`);
  return value as string[];
}

/** Consul's weights are integers; Passing is at least 1, Warning at least 0 (0: no traffic while warning). */
function weight(value: unknown, min: number, where: string): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min) fail(`${where}: must be an integer >= ${min}`);
  return value;
}

function instance(value: unknown, where: string): Instance {
  if (!isRecord(value)) fail(`${where}: not an object`);
  const { id, address, port, tags, meta, health, weights } = value;
  if (typeof id !== "string" || id.length === 0) fail(`${where}.id: must be a non-empty string`);
  if (typeof address !== "string" || !isValidInstanceAddress(address)) fail(`${where}.address: not a host name or IP`);
  if (typeof port !== "number" || !Number.isInteger(port) || port < 1 || port > 65535) fail(`${where}.port: must be 1-65535`);
  stringArray(tags, `${where}.tags`);
  if (!isRecord(meta) || !Object.values(meta).every((v) => typeof v === "string")) fail(`${where}.meta: must map strings to strings`);
  // health and weights may be absent (a registry without such notions, a route snapshot written before
  // they existed): that means what Consul means by a registration without them. Present, they must be valid.
  if (health !== undefined && health !== "passing" && health !== "warning") fail(`${where}.health: must be "passing" or "warning"`);
  if (weights !== undefined && !isRecord(weights)) fail(`${where}.weights: not an object`);
  const passingWeight = weights === undefined ? 1 : weight(weights.passing, 1, `${where}.weights.passing`);
  const warningWeight = weights === undefined ? 1 : weight(weights.warning, 0, `${where}.weights.warning`);
  // The balancers divide by weights: an instance that may take no traffic must not be in the list at all.
  if (health === "warning" && warningWeight === 0) fail(`${where}: a warning instance with weights.warning 0 takes no traffic and must be left out`);
  return Object.freeze({
    id,
    address,
    port,
    tags: Object.freeze([...(tags as string[])]),
    meta: Object.freeze({ ...(meta as Record<string, string>) }),
    health: health ?? "passing",
    weights: Object.freeze({ passing: passingWeight, warning: warningWeight }),
  });
}

export function parseWatcherMessage(raw: unknown): WatcherMessage {
  if (!isRecord(raw)) fail("message: not an object");
  switch (raw.type) {
    case "service": {
      const service = serviceName(raw.service, "service");
      if (!Array.isArray(raw.instances)) fail("instances: must be an array");
      return {
        type: "service",
        service,
        index: consulIndex(raw.index, "service"),
        instances: raw.instances.map((item, i) => instance(item, `instances[${i}]`)),
      };
    }
    case "catalog": {
      if (!Array.isArray(raw.services)) fail("services: must be an array");
      const services = raw.services.map((name, i) => serviceName(name, `services[${i}]`));
      // Absent tags (a registry without them, an older route snapshot): no prefix routes, nothing else lost.
      if (raw.tags !== undefined && !isRecord(raw.tags)) fail("tags: must be an object");
      const known = new Set(services);
      // fromEntries defines own properties: a service named "__proto__" stays a key, not a prototype.
      const tags = Object.fromEntries(
        Object.entries(raw.tags ?? {}).map(([name, list]) => {
          if (!known.has(name)) fail(`tags: ${JSON.stringify(name.slice(0, 130))} is not in services`);
          return [name, [...stringArray(list, `tags[${JSON.stringify(name)}]`)]];
        }),
      );
      return { type: "catalog", index: consulIndex(raw.index, "catalog"), services, tags };
    }
    case "watch-error": {
      if (raw.service !== null) serviceName(raw.service, "service");
      if (typeof raw.message !== "string") fail("message: must be a string");
      return { type: "watch-error", service: raw.service as string | null, message: raw.message.slice(0, 2000) };
    }
    default:
      fail(`type: unknown message type ${JSON.stringify(String(raw.type)).slice(0, 60)}`);
  }
}

export function parseWatcherCommand(raw: unknown): WatcherCommand {
  if (!isRecord(raw)) fail("command: not an object");
  if (raw.type !== "subscribe" && raw.type !== "unsubscribe") fail("type: unknown command type");
  return { type: raw.type, service: serviceName(raw.service, "service") };
}
