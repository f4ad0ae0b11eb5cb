import { test } from "node:test";
import assert from "node:assert/strict";
import { downstreamResponseHeaders, upstreamRequestHeaders } from "../../src/proxy/headers.js";

const fwd = { clientAddress: "10.1.1.1", proto: "http" as const, host: "gw.example:3000" };

function pairs(flat: string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i < flat.length; i += 2) out.push([flat[i]!.toLowerCase(), flat[i + 1]!]);
  return out;
}

test("hop-by-hop request headers and those named in Connection are dropped; others keep name, order and repeats", () => {
  const raw = ["Host", "gw.example:3000", "Connection", "keep-alive, X-Secret", "X-Secret", "1", "Accept", "a", "Cookie", "x=1", "Cookie", "y=2", "TE", "gzip", "Upgrade", "h2c", "Expect", "100-continue"];
  const out = pairs(upstreamRequestHeaders(raw, "keep-alive, X-Secret", fwd));
  assert.deepEqual(out.slice(0, 3), [["accept", "a"], ["cookie", "x=1"], ["cookie", "y=2"]]);
  for (const dropped of ["host", "connection", "x-secret", "te", "upgrade", "expect"]) {
    assert.ok(!out.some(([name]) => name === dropped), `${dropped} should be dropped`);
  }
});

test("TE is passed on as \"trailers\" only, and only when the client lists that token", () => {
  const te = (value: string): string[] => pairs(upstreamRequestHeaders(["TE", value], undefined, fwd)).filter(([name]) => name === "te").map(([, v]) => v);
  assert.deepEqual(te("trailers"), ["trailers"]);
  assert.deepEqual(te("gzip, trailers;q=1"), ["trailers"]);
  assert.deepEqual(te("gzip, deflate"), []);
});

test("X-Forwarded-For appends the client; Proto and Host are set by the gateway, not taken from the client", () => {
  const raw = ["X-Forwarded-For", "1.1.1.1", "x-forwarded-for", "2.2.2.2", "X-Forwarded-Host", "spoofed", "X-Forwarded-Proto", "https"];
  const out = Object.fromEntries(pairs(upstreamRequestHeaders(raw, undefined, fwd)));
  assert.equal(out["x-forwarded-for"], "1.1.1.1, 2.2.2.2, 10.1.1.1");
  assert.equal(out["x-forwarded-host"], "gw.example:3000");
  assert.equal(out["x-forwarded-proto"], "http");
});

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
