/**
 * How the gateway speaks to an instance, from its registration's meta
 * `gateway-protocol` (as Traefik's `scheme` label): `http` (the default),
 * `https`, or `h2c` (HTTP/2 without TLS: gRPC servers). A tag that says
 * `scheme=h2c` counts too (Traefik writes it as
 * `traefik.http.services.<name>.loadbalancer.server.scheme=h2c`; any tag that
 * ends in `scheme=h2c`). An unknown value is treated as the default rather than refused:
 * the registration belongs to the service's owners, and one typo must not
 * take its instances out of the table.
 */
import type { Instance } from "../discovery/instance.js";

export const PROTOCOL_META_KEY = "gateway-protocol";

export type InstanceProtocol = "http" | "https" | "h2c";

export function instanceProtocol(instance: Instance): InstanceProtocol {
  const declared = instance.meta[PROTOCOL_META_KEY]?.trim().toLowerCase();
  if (declared === "https" || declared === "h2c") return declared;
  return instance.tags.some((tag) => tag === "scheme=h2c" || tag.endsWith(".scheme=h2c")) ? "h2c" : "http";
}

/** Does the instance take HTTP/2 over cleartext? */
export function speaksH2c(instance: Instance): boolean {
  return instanceProtocol(instance) === "h2c";
}

/** The Host header for a request to the instance: its address and port, as undici sends it. */
export function instanceHost(instance: Instance): string {
  return `${instance.address.includes(":") ? `[${instance.address}]` : instance.address}:${instance.port}`;
}
