/**
 * What a path the gateway did not read from the request line must look like
 * (a header route, a prefix tag, a setting): the rule lives here so that the
 * settings and the routing layer check with the same one.
 */

/** RFC 3986 path characters (pchar and "/"), then an optional query; '%' only as a %XX escape. */
const PATH_AND_QUERY = /^(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/]|%[0-9A-Fa-f]{2})*(?:\?(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?]|%[0-9A-Fa-f]{2})*)?$/;
/** A "." or ".." segment, also percent-encoded. */
const DOT_SEGMENT = /(?:^|\/)(?:\.|%2e){1,2}(?:\/|$)/i;

/** A path rooted at "/" made only of the characters a request line's path may carry, no "//" authority, no dot segment (query allowed). */
export function isPlainPath(path: string): boolean {
  return path.startsWith("/") && !path.startsWith("//") && PATH_AND_QUERY.test(path) && !DOT_SEGMENT.test(path.split("?", 1)[0]!);
}
