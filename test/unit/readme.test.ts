import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { settingsMarkdownTable } from "../../src/config.js";

test("the README's configuration table is the one the code generates (npm run docs:config)", () => {
  const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
  assert.ok(readme.includes(settingsMarkdownTable()), "README.md's table is stale: paste the output of `npm run docs:config`");
});
