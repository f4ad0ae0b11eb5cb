import { test } from "node:test";
import assert from "node:assert/strict";
import { downstreamResponseHeaders } from "../../src/proxy/headers.js";

test("response: hop-by-hop headers and those named in Connection are dropped, repeated ones kept", () => {
  const out = downstreamResponseHeaders({
    "content-type": "text/plain",
    connection: "close, x-internal",
    "x-internal": "1",
    "keep-alive": "timeout=5",
    "transfer-encoding": "chunked",
    "set-cookie": ["a=1", "b=2"],
  });
  assert.deepEqual(out, { "content-type": "text/plain", "set-cookie": ["a=1", "b=2"] });
});
