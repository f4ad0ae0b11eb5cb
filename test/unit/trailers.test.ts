import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { acceptsTrailers, trailerPairs } from "../../src/proxy/trailers.js";

describe("trailers", () => {
  test("framing, routing and credential fields never pass as trailers", () => {
    const raw = ["grpc-status", "0", "Content-Length", "5", "Host", "evil", "X-Checksum", "abc", "Transfer-Encoding", "chunked", "Authorization", "x", "Set-Cookie", "a=b"];
    assert.deepEqual(trailerPairs(raw), [["grpc-status", "0"], ["X-Checksum", "abc"]]);
  });

  test("TE accepts trailers only when it lists the trailers token", () => {
    const cases: [string | undefined, boolean][] = [
      [undefined, false],
      ["", false],
      ["trailers", true],
      ["gzip, trailers", true],
      ["Trailers", true],
      ["trailers;q=0.5", true],
      ["gzip", false],
      ["notrailers", false],
      ["trailersx, deflate", false],
    ];
    for (const [te, expected] of cases) assert.equal(acceptsTrailers(te), expected, String(te));
  });
});
