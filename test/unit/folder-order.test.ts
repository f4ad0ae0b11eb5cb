/**
 * The folders of src/ depend downward only. A folder may import itself, any
 * folder below it and the leaves; never a folder above it. Leaves (the .ts
 * files directly in src/, except main.ts) import only other leaves.
 *
 *   main.ts
 *     ↓
 *   cluster/        primary and workers
 *     ↓
 *   gateway/        process wiring: listeners, app assembly, lifecycle, admin server start
 *     ↓
 *   admin/          admin API, dashboard, routes CLI
 *     ↓
 *   observability/  metrics, access log, request ids, table change log
 *     ↓
 *   proxy/          forwarding bytes: forwarder, headers, lazy body, retries, upstream errors
 *     ↓
 *   routing/        which instance a request goes to: request target, header and
 *                   prefix routes, tags, route table + store + updater + snapshot,
 *                   balancers, warm-up, outliers
 *     ↓
 *   discovery/      watcher child, registries, supervisor, IPC schema, instance types
 *     ↓
 *   leaves          config.ts, errors.ts, error-middleware.ts, service-name.ts,
 *                   plain-path.ts, balancer-options.ts, health-state.ts, registry-kind.ts
 *
 *   registrar/ and service-web/ are separate programs: they may import
 *   discovery/ and the leaves, and nothing imports them.
 *
 * Sub-folders (routing/balancers, discovery/registries, admin/dashboard) are
 * part of their folder.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const SRC = fileURLToPath(new URL("../../src/", import.meta.url));

/** Top to bottom. */
const ORDER = ["main.ts", "cluster", "gateway", "admin", "observability", "proxy", "routing", "discovery"] as const;
const SEPARATE_PROGRAMS: Readonly<Record<string, readonly string[]>> = {
  registrar: ["discovery"],
  "service-web": ["discovery"],
};

/** The folder a path under src/ belongs to: its first segment, "main.ts", or "leaf" for another file in src/. */
function layerOf(srcRelative: string): string {
  const [first, ...rest] = srcRelative.split("/");
  if (rest.length > 0) return first!;
  return first === "main.ts" ? "main.ts" : "leaf";
}

/** Why `from` may not import `to` (both relative to src/), or undefined when it may. */
function orderViolation(from: string, to: string): string | undefined {
  const a = layerOf(from);
  const b = layerOf(to);
  if (a === b) return undefined;
  if (b === "leaf") return undefined;
  if (a === "leaf") return `a leaf imports the folder ${b}`;
  const allowed = SEPARATE_PROGRAMS[a];
  if (allowed !== undefined) return allowed.includes(b) ? undefined : `${a} is a separate program: it may import ${allowed.join(", ")} and the leaves, not ${b}`;
  if (SEPARATE_PROGRAMS[b] !== undefined) return `${b} is a separate program: nothing imports it`;
  const rankA = ORDER.indexOf(a as (typeof ORDER)[number]);
  const rankB = ORDER.indexOf(b as (typeof ORDER)[number]);
  if (rankA === -1) return `${a} has no place in the folder order (add it to ORDER in test/unit/folder-order.test.ts)`;
  if (rankB === -1) return `${b} has no place in the folder order (add it to ORDER in test/unit/folder-order.test.ts)`;
  return rankB < rankA ? `${a} imports ${b}, which is above it` : undefined;
}

/** Relative module specifiers in `import ... from`, `export ... from`, `import type`, `import "x"` and `import("x")`. */
function relativeImports(source: string): string[] {
  const found: string[] = [];
  for (const match of source.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)["'](\.{1,2}\/[^"']+)["']/g)) found.push(match[1]!);
  return found;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith(".ts") ? [full] : [];
  });
}

test("the rule refuses upward imports, leaves importing folders and unknown folders", () => {
  assert.match(orderViolation("proxy/forwarder.ts", "gateway/app.ts")!, /proxy imports gateway, which is above it/);
  assert.match(orderViolation("discovery/registries/registry.ts", "routing/route-table.ts")!, /discovery imports routing/);
  assert.match(orderViolation("observability/metrics.ts", "admin/view-types.ts")!, /observability imports admin/);
  assert.match(orderViolation("config.ts", "routing/balancers/index.ts")!, /a leaf imports the folder routing/);
  assert.match(orderViolation("service-web/app.ts", "routing/route-table.ts")!, /separate program/);
  assert.match(orderViolation("gateway/gateway.ts", "service-web/app.ts")!, /nothing imports it/);
  assert.match(orderViolation("gateway/gateway.ts", "main.ts")!, /main.ts/);
  assert.match(orderViolation("newfolder/x.ts", "routing/route-table.ts")!, /no place in the folder order/);
  assert.equal(orderViolation("gateway/gateway.ts", "routing/route-table.ts"), undefined);
  assert.equal(orderViolation("admin/dashboard/dashboard.ts", "admin/view-types.ts"), undefined);
  assert.equal(orderViolation("routing/balancers/hash.ts", "discovery/instance.ts"), undefined);
  assert.equal(orderViolation("config.ts", "service-name.ts"), undefined);
  assert.equal(orderViolation("service-web/main.ts", "discovery/messages.ts"), undefined);
});

test("the import parser finds every relative form and skips packages", () => {
  const source = [
    'import { a } from "../routing/a.js";',
    'import type { B } from "./b.js";',
    'export { c } from "../c.js";',
    'export type { D } from "../d.js";',
    'import "./side-effect.js";',
    'const e = await import("../e.js");',
    "import {\n  f,\n  g,\n} from '../fg.js';",
    'import Koa from "koa";',
    'import { once } from "node:events";',
  ].join("\n");
  assert.deepEqual(relativeImports(source), ["../routing/a.js", "./b.js", "../c.js", "../d.js", "./side-effect.js", "../e.js", "../fg.js"]);
});

test("no module in src/ imports a folder above its own", () => {
  const files = sourceFiles(SRC);
  assert.ok(files.length > 50, `expected the gateway's sources under ${SRC}, found ${files.length} files`);
  const problems: string[] = [];
  for (const file of files) {
    const from = path.relative(SRC, file).split(path.sep).join("/");
    for (const specifier of relativeImports(readFileSync(file, "utf8"))) {
      const to = path.relative(SRC, path.resolve(path.dirname(file), specifier)).split(path.sep).join("/");
      if (to.startsWith("../")) {
        problems.push(`src/${from} imports ${specifier}, outside src/`);
        continue;
      }
      const why = orderViolation(from, to);
      if (why !== undefined) problems.push(`src/${from} imports ${specifier}: ${why}`);
    }
  }
  assert.deepEqual(problems, [], `folders must depend downward only:\n${problems.join("\n")}`);
});
