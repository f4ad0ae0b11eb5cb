/**
 * `koa-consul-gateway routes [service] [--admin URL] [--json]`: the route
 * table of a running gateway, read from its admin API (GET /routes), printed
 * as a table for people. The admin address defaults to the one the same
 * environment would give the gateway (GATEWAY_ADMIN_HOST, GATEWAY_ADMIN_PORT).
 */
import { parseArgs } from "node:util";
import { ConfigError, loadConfig } from "../config.js";
import type { RoutesView, ServiceView } from "./view-types.js";

const USAGE = "usage: koa-consul-gateway routes [service] [--admin http://127.0.0.1:9901] [--json]";
/** Longer cells (tags of a busy instance) are cut so that the table stays readable. */
const MAX_CELL = 40;

function cell(text: string): string {
  return text.length > MAX_CELL ? `${text.slice(0, MAX_CELL - 1)}…` : text;
}

function age(iso: string, now: number): string {
  const seconds = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (seconds < 120) return `${seconds}s ago`;
  if (seconds < 7200) return `${Math.round(seconds / 60)}m ago`;
  return `${Math.round(seconds / 3600)}h ago`;
}

function percent(rate: number | null): string {
  return rate === null ? "-" : `${(rate * 100).toFixed(1)}%`;
}

const COLUMNS = ["SERVICE", "INSTANCE", "ADDRESS", "TAGS", "IN-FLIGHT", "REQUESTS", "ERRORS", "ERROR RATE", "INDEX", "CHANGED"] as const;
/** Counts are right-aligned, text left-aligned. */
const NUMERIC = new Set<string>(["IN-FLIGHT", "REQUESTS", "ERRORS", "ERROR RATE", "INDEX"]);

function rows(service: ServiceView, now: number): string[][] {
  const changed = age(service.updatedAt, now);
  if (service.instances.length === 0) return [[service.name, "(no healthy instance)", "", "", "", "", "", "", service.index, changed]];
  return service.instances.map((i) => [
    service.name,
    i.key,
    `${i.address}:${i.port}`,
    i.tags.join(",") || "-",
    String(i.inFlight),
    String(i.requests),
    String(i.failures + i.serverErrors),
    percent(i.errorRate),
    service.index,
    changed,
  ]);
}

/** The services as an aligned text table, one line per instance, and a summary line. */
export function formatRoutesTable(services: readonly ServiceView[], catalog: RoutesView["catalog"], now = Date.now()): string {
  const body = services.flatMap((s) => rows(s, now)).map((row) => row.map(cell));
  const widths = COLUMNS.map((title, c) => Math.max(title.length, ...body.map((row) => row[c]!.length)));
  const line = (row: readonly string[]): string =>
    row
      .map((text, c) => (NUMERIC.has(COLUMNS[c]!) ? text.padStart(widths[c]!) : text.padEnd(widths[c]!)))
      .join("  ")
      .trimEnd();
  const instances = services.reduce((n, s) => n + s.instances.length, 0);
  const summary =
    `${services.length} service${services.length === 1 ? "" : "s"}, ${instances} healthy instance${instances === 1 ? "" : "s"}` +
    (catalog === null ? "; the registry's catalog not loaded yet" : `; catalog index ${catalog.index} (${catalog.services} services in the registry)`);
  if (services.length === 0) return `no service in the route table yet\n${summary}\n`;
  return [line(COLUMNS), ...body.map(line), "", summary].join("\n") + "\n";
}

function defaultAdminUrl(env: NodeJS.ProcessEnv): string {
  const config = loadConfig(env);
  // A gateway listening on every address is reached on loopback.
  const host = config.adminHost === "0.0.0.0" || config.adminHost === "::" ? "127.0.0.1" : config.adminHost;
  return `http://${host.includes(":") ? `[${host}]` : host}:${config.adminPort}`;
}

/** Runs the command; resolves with the process exit code. */
export async function runRoutesCommand(argv: readonly string[], env: NodeJS.ProcessEnv, out: (text: string) => void = (t) => process.stdout.write(t)): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], allowPositionals: true, options: { admin: { type: "string" }, json: { type: "boolean", default: false } } });
  } catch (err) {
    console.error(`koa-consul-gateway routes: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  const [service, ...extra] = parsed.positionals;
  if (extra.length > 0) {
    console.error(`koa-consul-gateway routes: one service at most\n${USAGE}`);
    return 2;
  }
  let admin: string;
  try {
    admin = (parsed.values.admin ?? defaultAdminUrl(env)).replace(/\/+$/, "");
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(`koa-consul-gateway routes: invalid configuration: ${err.message}`);
    return 2;
  }
  const url = `${admin}/routes${service === undefined ? "" : `/${encodeURIComponent(service)}`}`;

  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
    console.error(`koa-consul-gateway routes: cannot reach the admin API at ${admin} (${cause}); is the gateway running there (GATEWAY_ADMIN_PORT, --admin)?`);
    return 1;
  }
  const body = (await res.json()) as unknown;
  if (!res.ok) {
    const message = (body as { error?: { message?: string } }).error?.message ?? `HTTP ${res.status}`;
    console.error(`koa-consul-gateway routes: ${url}: ${message}`);
    return 1;
  }
  if (parsed.values.json) {
    out(JSON.stringify(body, null, 2) + "\n");
    return 0;
  }
  const view: RoutesView = service === undefined ? (body as RoutesView) : { catalog: null, services: [body as ServiceView] };
  out(formatRoutesTable(view.services, service === undefined ? view.catalog : null));
  return 0;
}
