/**
 * How the gateway speaks to an instance, from its registration's meta
 * `gateway-protocol` (as Traefik's `scheme` label): `http` (the default) or
 * `https`. An unknown value is treated as the default rather than refused:
 * the registration belongs to the service's owners, and one typo must not
 * take its instances out of the table.
 */
import type { Instance } from "../discovery/instance.js";

export const PROTOCOL_META_KEY = "gateway-protocol";

export type InstanceProtocol = "http" | "https";

export function instanceProtocol(instance: Instance): InstanceProtocol {
  return instance.meta[PROTOCOL_META_KEY]?.trim().toLowerCase() === "https" ? "https" : "http";
}

/** The Host header for a request to the instance: its address and port, as undici sends it. */
export function instanceHost(instance: Instance): string {
  return `${instance.address.includes(":") ? `[${instance.address}]` : instance.address}:${instance.port}`;
}
