/**
 * The dashboard page's three files. Its script is TypeScript
 * (dashboard/dashboard.ts): `npm run build` compiles it with esbuild next to
 * the compiled server (dist/admin/dashboard/dashboard.js) and copies the HTML
 * and CSS there. Run from source (under tsx: tests, the demo), this module is
 * itself a .ts file, and compiles the script with esbuild on first use
 * instead, the same rule the supervisor uses for the watcher child.
 */
import { readFile } from "node:fs/promises";
import { extname, join } from "node:path";
import { fileURLToPath } from "node:url";

export interface Asset {
  readonly contentType: string;
  readonly body: string;
}

export type DashboardAssets = Readonly<Record<"/" | "/dashboard.css" | "/dashboard.js", Asset>>;

const HERE = fileURLToPath(import.meta.url);
const PAGE_DIR = join(HERE, "..", "dashboard");

async function compileScript(): Promise<string> {
  if (extname(HERE) !== ".ts") return readFile(join(PAGE_DIR, "dashboard.js"), "utf8");
  // esbuild is a dev dependency: present wherever the sources run, absent (and not needed) in production.
  const esbuild = await import("esbuild");
  const result = await esbuild.build({
    entryPoints: [join(PAGE_DIR, "dashboard.ts")],
    bundle: true,
    format: "esm",
    target: "es2022",
    write: false,
    logLevel: "silent",
  });
  return result.outputFiles[0]!.text;
}

async function load(): Promise<DashboardAssets> {
  const [html, css, js] = await Promise.all([readFile(join(PAGE_DIR, "index.html"), "utf8"), readFile(join(PAGE_DIR, "dashboard.css"), "utf8"), compileScript()]);
  return {
    "/": { contentType: "text/html; charset=utf-8", body: html },
    "/dashboard.css": { contentType: "text/css; charset=utf-8", body: css },
    "/dashboard.js": { contentType: "text/javascript; charset=utf-8", body: js },
  };
}

let loaded: Promise<DashboardAssets> | undefined;

/** Loaded once per process, on the first request for the page. */
export function dashboardAssets(): Promise<DashboardAssets> {
  loaded ??= load().catch((err: unknown) => {
    loaded = undefined;
    throw err;
  });
  return loaded;
}
