import { test } from "node:test";
import assert from "node:assert/strict";
import { ConstraintSyntaxError, parseConstraint } from "../../src/tag-constraints.js";

const tags = (...list: string[]): ReadonlySet<string> => new Set(list);

test("Tag(), !, &&, || and parentheses, with Traefik's precedence (&& before ||)", () => {
  const cases: [string, string[], boolean][] = [
    ["Tag(`edge`)", ["edge"], true],
    ["Tag(`edge`)", ["edges"], false],
    ["!Tag(`internal`)", [], true],
    ["Tag(`edge`) && !Tag(`internal`)", ["edge", "internal"], false],
    ["Tag(`edge`) && !Tag(`internal`)", ["edge"], true],
    ["Tag(`a`) || Tag(`b`) && Tag(`c`)", ["a"], true],
    ["Tag(`a`) || Tag(`b`) && Tag(`c`)", ["b"], false],
    ["(Tag(`a`) || Tag(`b`)) && Tag(`c`)", ["a"], false],
    ["  !!Tag(`a`)  ", ["a"], true],
    ["Tag(`gateway.enable=true`)", ["gateway.enable=true"], true],
    ["Tag(`with space && ||`)", ["with space && ||"], true],
    ["Tag(``)", [""], true],
  ];
  for (const [expression, list, expected] of cases) {
    assert.equal(parseConstraint(expression)(tags(...list)), expected, `${expression} on ${JSON.stringify(list)}`);
  }
});

test("hostile and malformed expressions are refused with a position, never run", () => {
  const hostile = [
    "",
    "   ",
    "Tag(edge)",
    "Tag(`edge`",
    "Tag(`edge)",
    "Tag(`a`) &&",
    "&& Tag(`a`)",
    "Tag(`a`) & Tag(`b`)",
    "Tag(`a`) Tag(`b`)",
    "(Tag(`a`)",
    "Tag(`a`))",
    "TagRegex(`.*`)",
    "tag(`a`)",
    "!",
    "()",
    "Tag(`a`) || process.exit()",
    "(".repeat(10_000),
    "!".repeat(100) + "Tag(`a`)",
    "Tag(`" + "a".repeat(5000) + "`)",
    "Tag(`a`)\u0000",
  ];
  for (const expression of hostile) {
    assert.throws(() => parseConstraint(expression), ConstraintSyntaxError, JSON.stringify(expression.slice(0, 40)));
  }
});

test("deep but bounded nesting is accepted", () => {
  const nested = "(".repeat(20) + "Tag(`a`)" + ")".repeat(20);
  assert.equal(parseConstraint(nested)(tags("a")), true);
});
