/**
 * Fabio and Traefik in front of the same backend, reading the same Consul
 * agent, configured as their documentation recommends for Consul (and as
 * shared/peers/README.md records): Fabio routes by the `urlprefix-/<service>`
 * tag the backend is registered with; Traefik's consulCatalog provider routes
 * every service by `PathPrefix(/<name>)`, polling Consul every 15 s by default
 * or, with `watch`, holding a blocking query.
 */
import type { ConsulAgent } from "../../test/support/consul.js";
import { freePorts } from "../../test/support/ports.js";
import { start } from "../../test/support/processes.js";
import { ready, type Running } from "./fixture.js";

export async function startFabio(name: string, binary: string, consul: ConsulAgent): Promise<Running> {
  const [port, uiPort] = (await freePorts(2)) as [number, number];
  const fabio = start(binary, [
    "-proxy.addr", `127.0.0.1:${port}`,
    "-ui.addr", `127.0.0.1:${uiPort}`,
    "-registry.consul.addr", consul.address,
    "-registry.consul.register.enabled=false",
    // Fabio refuses to run as root without it (the bench's machines run as root).
    "-insecure",
  ]);
  return ready(name, fabio, port);
}

export async function startTraefik(name: string, binary: string, consul: ConsulAgent, options: { watch: boolean }): Promise<Running> {
  const [port] = (await freePorts(1)) as [number];
  const traefik = start(binary, [
    `--entryPoints.web.address=127.0.0.1:${port}`,
    `--providers.consulcatalog.endpoint.address=${consul.address}`,
    "--providers.consulcatalog.exposedByDefault=true",
    "--providers.consulcatalog.defaultRule=PathPrefix(`/{{ .Name }}`)",
    ...(options.watch ? ["--providers.consulcatalog.watch=true"] : []),
    "--global.checkNewVersion=false",
    "--global.sendAnonymousUsage=false",
  ]);
  return ready(name, traefik, port);
}
