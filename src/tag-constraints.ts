/**
 * GATEWAY_CONSTRAINTS: which services may be exposed, as a tag expression in
 * Traefik's constraints syntax: Tag(`edge`) && !Tag(`internal`), with ||,
 * ! and parentheses. Only Tag() is supported (no TagRegex: a regular
 * expression from configuration, run on every catalog change, is a ReDoS risk
 * for little gain). Parsed once at start; a bad expression stops the start
 * with the position of the problem.
 */

/** A parsed expression: does a service with these tags pass? */
export type TagConstraint = (tags: ReadonlySet<string>) => boolean;

export class ConstraintSyntaxError extends Error {
  override name = "ConstraintSyntaxError";
}

const MAX_LENGTH = 4096;
const MAX_DEPTH = 64;

/**
 * Grammar (whitespace between tokens is ignored):
 *   or    := and ("||" and)*
 *   and   := unary ("&&" unary)*
 *   unary := "!" unary | "(" or ")" | "Tag(`" tag "`)"
 * A tag is any text without a backtick.
 */
export function parseConstraint(expression: string): TagConstraint {
  if (expression.length > MAX_LENGTH) throw new ConstraintSyntaxError(`longer than ${MAX_LENGTH} characters`);
  let at = 0;
  let depth = 0;

  const fail = (what: string): never => {
    throw new ConstraintSyntaxError(`${what} at character ${at + 1}`);
  };
  const skipSpace = (): void => {
    while (at < expression.length && /\s/.test(expression[at]!)) at++;
  };
  const take = (token: string): boolean => {
    skipSpace();
    if (!expression.startsWith(token, at)) return false;
    at += token.length;
    return true;
  };
  const nest = <T>(parse: () => T): T => {
    if (++depth > MAX_DEPTH) fail(`nested deeper than ${MAX_DEPTH}`);
    const result = parse();
    depth--;
    return result;
  };

  const parseOr = (): TagConstraint =>
    nest(() => {
      const terms = [parseAnd()];
      while (take("||")) terms.push(parseAnd());
      return terms.length === 1 ? terms[0]! : (tags) => terms.some((t) => t(tags));
    });
  const parseAnd = (): TagConstraint => {
    const terms = [parseUnary()];
    while (take("&&")) terms.push(parseUnary());
    return terms.length === 1 ? terms[0]! : (tags) => terms.every((t) => t(tags));
  };
  const parseUnary = (): TagConstraint =>
    nest(() => {
      if (take("!")) {
        const inner = parseUnary();
        return (tags) => !inner(tags);
      }
      if (take("(")) {
        const inner = parseOr();
        if (!take(")")) fail("expected ')'");
        return inner;
      }
      if (take("Tag(")) {
        if (!take("`")) fail("expected a tag in backticks");
        const end = expression.indexOf("`", at);
        if (end === -1) fail("unterminated tag");
        const tag = expression.slice(at, end);
        at = end + 1;
        if (!take(")")) fail("expected ')' after the tag");
        return (tags) => tags.has(tag);
      }
      skipSpace();
      return fail(at >= expression.length ? "unexpected end" : `unexpected ${JSON.stringify(expression.slice(at, at + 10))}`);
    });

  skipSpace();
  if (at >= expression.length) fail("empty expression");
  const constraint = parseOr();
  skipSpace();
  if (at < expression.length) fail(`unexpected ${JSON.stringify(expression.slice(at, at + 10))}`);
  return constraint;
}
