/**
 * The one canonical form of a request's path, computed before any routing
 * decision, so that the service name, the prefix route and the path sent
 * upstream are read from the same string the instance will resolve.
 *
 * Dot segments are removed as RFC 3986 §5.2.4 says, on the raw path, with a
 * percent-encoded dot (%2e, any case) read as a dot: an instance that decodes
 * before resolving must not see a `..` the gateway did not. Refused with
 * INVALID_PATH, because instances disagree on what they mean:
 * - a `..` that would climb above the root (RFC 3986 drops it silently; here
 *   it is an attack or a bug, never a route);
 * - a fragment (`#`): clients never send one;
 * - a NUL or another control character, raw or %-encoded, and a malformed
 *   %-escape (Go's net/http, behind Traefik, refuses those too);
 * - a raw backslash, a path separator to some servers and not to others;
 * - a dot segment with a `;` parameter (`..;`), which Tomcat resolves as
 *   `..` and RFC 3986 reads as a name.
 * Everything else is kept byte for byte: `%2F`, `%5C`, double encodings
 * (`%252e`) and empty segments (`//`) are not separators or dots here, and
 * are passed on as sent.
 */
import { GatewayError } from "../errors.js";

/** Characters that may make a path non-canonical; a path without any is returned as it is. */
const NEEDS_WORK = /[.%\\#;\x00-\x1f\x7f]/;
const BAD_ESCAPE = /%(?![0-9A-Fa-f]{2})/;
/** %00-%1F and %7F. */
const ENCODED_CONTROL = /%(?:[01][0-9A-Fa-f]|7[Ff])/;
const RAW_FORBIDDEN = /[\\#\x00-\x1f\x7f]/;
const ENCODED_DOT = /%2e/gi;
/** A segment that starts with a dot, plain or encoded: only such a segment can be a dot segment. */
const MAYBE_DOT_SEGMENT = /\/(?:\.|%2e)/i;

function invalid(reason: string): never {
  throw new GatewayError("INVALID_PATH", `the path ${reason}`);
}

/** "." or ".." (as 1 or 2), also percent-encoded; 0 for any other segment. */
function dots(segment: string): 0 | 1 | 2 {
  if (segment.length === 0 || segment.length > 6) return 0;
  const plain = segment.includes("%") ? segment.replace(ENCODED_DOT, ".") : segment;
  return plain === "." ? 1 : plain === ".." ? 2 : 0;
}

/**
 * The canonical form of `path`: a raw request path starting with "/",
 * without its query string. Throws GatewayError INVALID_PATH as described above.
 */
export function canonicalPath(path: string): string {
  if (!NEEDS_WORK.test(path)) return path;
  if (RAW_FORBIDDEN.test(path)) {
    invalid(path.includes("#") ? "has a fragment ('#')" : path.includes("\\") ? "has a backslash" : "has a control character");
  }
  if (path.includes("%")) {
    if (BAD_ESCAPE.test(path)) invalid("has a '%' that is not a %XX escape");
    if (ENCODED_CONTROL.test(path)) invalid("has an encoded control character");
  }
  // Names with dots (file.json) and escapes are common; dot segments are not.
  if (!MAYBE_DOT_SEGMENT.test(path)) return path;
  const segments = path.split("/");
  const out: string[] = [];
  let changed = false;
  // segments[0] is the empty string before the leading "/".
  for (let i = 1; i < segments.length; i++) {
    const segment = segments[i]!;
    const semicolon = segment.indexOf(";");
    if (semicolon !== -1 && dots(segment.slice(0, semicolon)) !== 0) invalid("has a dot segment with a ';' parameter");
    const kind = dots(segment);
    const last = i === segments.length - 1;
    if (kind === 0) {
      out.push(segment);
      continue;
    }
    changed = true;
    if (kind === 2) {
      if (out.length === 0) invalid("climbs above the root");
      out.pop();
    }
    // A dot segment at the end leaves a directory: "/a/b/.." is "/a/".
    if (last) out.push("");
  }
  return changed ? `/${out.join("/")}` : path;
}

/**
 * Splits a raw origin-form request target into its canonical path and its
 * query (with its "?", or ""). A '#' anywhere, query included, is a fragment
 * and refused.
 */
export function canonicalTarget(rawUrl: string): { path: string; query: string } {
  const queryAt = rawUrl.indexOf("?");
  const rawPath = queryAt === -1 ? rawUrl : rawUrl.slice(0, queryAt);
  const query = queryAt === -1 ? "" : rawUrl.slice(queryAt);
  if (query.includes("#")) invalid("has a fragment ('#')");
  return { path: canonicalPath(rawPath), query };
}
