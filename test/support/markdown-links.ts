/**
 * Checks the relative links of Markdown files: every `[text](target)` that is
 * not an absolute URL must name an existing file or folder, and a `#anchor`
 * must name a heading of the Markdown file it points into. Anchors follow
 * GitHub's rule, since GitHub is where the README and docs/ are read.
 * Code (fenced blocks and inline spans) is skipped: a link there is an example.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";

export interface BrokenLink {
  readonly file: string;
  readonly line: number;
  readonly target: string;
  readonly reason: string;
}

/** The text of a Markdown file with fenced code blocks and inline code blanked, lines kept. */
function withoutCode(markdown: string): string[] {
  let fence: string | undefined;
  return markdown.split("\n").map((line) => {
    const opening = /^\s*(`{3,}|~{3,})/.exec(line);
    if (fence !== undefined) {
      if (opening && opening[1]!.startsWith(fence)) fence = undefined;
      return "";
    }
    if (opening) {
      fence = opening[1]!;
      return "";
    }
    return line.replace(/(`+)(?:(?!\1).)+?\1/g, "");
  });
}

/** GitHub's anchor for a heading's text: lower case, punctuation dropped, spaces to '-'. */
export function headingSlug(text: string): string {
  return text
    .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, "")
    .replace(/\s/g, "-");
}

/** The anchors a Markdown file's headings make, repeats numbered as GitHub numbers them. */
export function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  let fence: string | undefined;
  for (const line of markdown.split("\n")) {
    const opening = /^\s*(`{3,}|~{3,})/.exec(line);
    if (fence !== undefined) {
      if (opening && opening[1]!.startsWith(fence)) fence = undefined;
      continue;
    }
    if (opening) {
      fence = opening[1]!;
      continue;
    }
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!heading) continue;
    const slug = headingSlug(heading[1]!);
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return anchors;
}

/** Every link target outside code, with its line number. */
export function linkTargets(markdown: string): { line: number; target: string }[] {
  const out: { line: number; target: string }[] = [];
  withoutCode(markdown).forEach((text, i) => {
    for (const m of text.matchAll(/!?\[(?:[^\][]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
      out.push({ line: i + 1, target: m[1]! });
    }
  });
  return out;
}

/** The relative links of `file` (a path) that do not resolve, read through `read` so tests can feed examples. */
export function brokenLinks(
  file: string,
  read: (path: string) => string | undefined = (path) => (existsSync(path) ? readFileSync(path, "utf8") : undefined),
  exists: (path: string) => boolean = existsSync,
): BrokenLink[] {
  const markdown = read(file);
  if (markdown === undefined) return [{ file, line: 0, target: file, reason: "file not found" }];
  const broken: BrokenLink[] = [];
  for (const { line, target } of linkTargets(markdown)) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:: not ours to check
    const hash = target.indexOf("#");
    const pathPart = hash === -1 ? target : target.slice(0, hash);
    const anchor = hash === -1 ? undefined : decodeURIComponent(target.slice(hash + 1));
    const path = pathPart === "" ? file : resolve(dirname(file), decodeURIComponent(pathPart));
    if (pathPart !== "" && !exists(path)) {
      broken.push({ file, line, target, reason: "no such file" });
      continue;
    }
    if (anchor === undefined || anchor === "") continue;
    if (!path.endsWith(".md")) {
      broken.push({ file, line, target, reason: "an anchor into a file that is not Markdown" });
      continue;
    }
    const content = read(path);
    if (content === undefined || !headingAnchors(content).has(anchor)) {
      broken.push({ file, line, target, reason: `no heading #${anchor}` });
    }
  }
  return broken;
}
