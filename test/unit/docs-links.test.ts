import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { brokenLinks, headingAnchors, headingSlug, linkTargets } from "../support/markdown-links.js";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
const FILES = [`${REPO}README.md`, ...readdirSync(`${REPO}docs`).filter((f) => f.endsWith(".md")).map((f) => `${REPO}docs/${f}`)];

test("every relative link and anchor in README.md and docs/*.md resolves", () => {
  assert.ok(FILES.length > 5, "README.md and the docs/ pages are found");
  const broken = FILES.flatMap((file) => brokenLinks(file));
  assert.deepEqual(broken.map((b) => `${b.file.slice(REPO.length)}:${b.line} ${b.target}: ${b.reason}`), []);
});

test("anchors follow GitHub's rule: lower case, punctuation dropped, spaces to '-', repeats numbered", () => {
  assert.equal(headingSlug("Admin API, dashboard and metrics"), "admin-api-dashboard-and-metrics");
  assert.equal(headingSlug("Warm-up (slow start)"), "warm-up-slow-start");
  assert.equal(headingSlug("The demo backend, `service-web`"), "the-demo-backend-service-web");
  assert.equal(headingSlug("GATEWAY_WATCH=shared"), "gateway_watchshared");
  assert.deepEqual([...headingAnchors("# A\n## A\n```\n# not a heading\n```\n### B c")], ["a", "a-1", "b-c"]);
});

test("links in code are examples, not links; absolute URLs are not checked", () => {
  assert.deepEqual(linkTargets("see [x](a.md) and `[y](b.md)`\n```\n[z](c.md)\n```\n![img](d.png \"title\")").map((l) => l.target), ["a.md", "d.png"]);
});

test("the checker reports a missing file, a missing heading and an anchor into a non-Markdown file", () => {
  const files: Record<string, string> = {
    "/r/README.md": [
      "[ok](docs/a.md) [ok anchor](docs/a.md#the-heading) [self](#top) [web](https://example.com/x#y)",
      "[missing file](docs/nope.md)",
      "[missing heading](docs/a.md#no-such-heading)",
      "[bad self](#nowhere)",
      "[png anchor](docs/p.png#x)",
    ].join("\n") + "\n# Top\n",
    "/r/docs/a.md": "# The heading\n",
    "/r/docs/p.png": "",
  };
  const broken = brokenLinks("/r/README.md", (p) => files[p], (p) => p in files);
  assert.deepEqual(broken.map((b) => [b.line, b.target, b.reason]), [
    [2, "docs/nope.md", "no such file"],
    [3, "docs/a.md#no-such-heading", "no heading #no-such-heading"],
    [4, "#nowhere", "no heading #nowhere"],
    [5, "docs/p.png#x", "an anchor into a file that is not Markdown"],
  ]);
});
