import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { settingsMarkdownTable } from "../../src/config.js";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
const read = (path: string): string => readFileSync(`${REPO}${path}`, "utf8");
const README = read("README.md");
const DOCS = ["README.md", ...readdirSync(`${REPO}docs`).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`)];

test("docs/configuration.md's settings table is the one the code generates (npm run docs:config)", () => {
  assert.ok(read("docs/configuration.md").includes(settingsMarkdownTable()), "docs/configuration.md's table is stale: paste the output of `npm run docs:config`");
});

test("the README stays a short page: at most 220 lines", () => {
  const lines = README.split("\n").length - (README.endsWith("\n") ? 1 : 0);
  assert.ok(lines <= 220, `README.md has ${lines} lines: move the reference text into docs/`);
});

test("the README shows the two commands and the getting-started curl", () => {
  for (const text of ["npm run demo", "npm test", "curl localhost:3000/service-web/getRemoteIp", "docker-compose up -d --build --scale serviceweb=3"]) {
    assert.ok(README.includes(text), `README.md no longer shows \`${text}\``);
  }
});

test("every `npm run <script>` the README and docs/ show exists in package.json", () => {
  const scripts = Object.keys((JSON.parse(read("package.json")) as { scripts: Record<string, string> }).scripts);
  for (const file of DOCS) {
    for (const [, name] of read(file).matchAll(/npm run (?:-s )?([a-z][\w:-]*)/g)) {
      assert.ok(scripts.includes(name!), `${file} shows \`npm run ${name}\`, which package.json does not define`);
    }
  }
});

test("the README and docs/ do not speak of work items a reader cannot see", () => {
  for (const file of DOCS) assert.doesNotMatch(read(file), /\bthe issue\b|\bissue's\b|\bissue #?\d+|\bstop \d+\b/i, file);
});
