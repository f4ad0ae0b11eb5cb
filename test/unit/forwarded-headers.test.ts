import { test } from "node:test";
import assert from "node:assert/strict";
import type { IncomingMessage } from "node:http";
import { forwardedElement, forwardedFor, upstreamRequestHeaders, type ForwardedFor } from "../../src/proxy/forwarded-headers.js";
import { TrustedProxies } from "../../src/trusted-proxies.js";

const fwd = (over: Partial<ForwardedFor> = {}): ForwardedFor => ({
  clientAddress: "10.0.0.5",
  proto: "http",
  host: "gw.example",
  port: 8080,
  trusted: false,
  emitForwarded: false,
  preserveHost: false,
  requestId: "rid-1",
  ...over,
});

/** name (lowercase) → values, from a flat list. */
function byName(flat: string[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (let i = 0; i < flat.length; i += 2) (out[flat[i]!.toLowerCase()] ??= []).push(flat[i + 1]!);
  return out;
}

const SPOOF = ["Host", "gw.example", "X-Forwarded-For", "1.1.1.1", "x-forwarded-for", "2.2.2.2", "X-Forwarded-Proto", "https", "X-Forwarded-Host", "evil", "X-Forwarded-Port", "443", "X-Forwarded-Prefix", "/p", "Forwarded", "for=1.1.1.1", "X-Real-IP", "1.1.1.1", "X_Forwarded_For", "3.3.3.3", "x-real_ip", "3.3.3.3", "X-Request-Id", "client-id", "Accept", "*/*"];

test("untrusted: every forwarded header replaced by what the gateway saw", () => {
  const h = byName(upstreamRequestHeaders(SPOOF, undefined, fwd()));
  assert.deepEqual(h, {
    accept: ["*/*"],
    "x-request-id": ["rid-1"],
    "x-forwarded-for": ["10.0.0.5"],
    "x-forwarded-proto": ["http"],
    "x-forwarded-host": ["gw.example"],
    "x-forwarded-port": ["8080"],
    "x-real-ip": ["10.0.0.5"],
  });
});

test("trusted: X-Forwarded-For extended (repeated headers joined), the rest kept, underscores still dropped", () => {
  const h = byName(upstreamRequestHeaders(SPOOF, undefined, fwd({ trusted: true })));
  assert.deepEqual(h["x-forwarded-for"], ["1.1.1.1, 2.2.2.2, 10.0.0.5"]);
  assert.deepEqual(h["x-forwarded-proto"], ["https"]);
  assert.deepEqual(h["x-forwarded-host"], ["evil"]);
  assert.deepEqual(h["x-forwarded-port"], ["443"]);
  assert.deepEqual(h["x-forwarded-prefix"], ["/p"]);
  assert.deepEqual(h["forwarded"], ["for=1.1.1.1"]);
  assert.deepEqual(h["x-real-ip"], ["1.1.1.1"]);
  assert.equal(h["x_forwarded_for"], undefined);
  assert.equal(h["x-real_ip"], undefined);
});

test("Connection cannot remove the gateway's own headers, only the client's", () => {
  const raw = ["X-Request-Id", "client-id", "X-Custom", "1", "Connection", "close, x-request-id, x-forwarded-for, x-custom, x-forwarded-proto"];
  const h = byName(upstreamRequestHeaders(raw, "close, x-request-id, x-forwarded-for, x-custom, x-forwarded-proto", fwd({ trusted: true })));
  assert.deepEqual(h["x-request-id"], ["rid-1"]);
  assert.deepEqual(h["x-forwarded-for"], ["10.0.0.5"]);
  assert.deepEqual(h["x-forwarded-proto"], ["http"]);
  assert.equal(h["x-custom"], undefined);
  assert.equal(h["connection"], undefined);
});

test("RFC 7239 Forwarded: appended to a trusted chain, alone otherwise; IPv6 and ports quoted", () => {
  assert.deepEqual(byName(upstreamRequestHeaders(SPOOF, undefined, fwd({ emitForwarded: true })))["forwarded"], ["for=10.0.0.5;host=gw.example;proto=http"]);
  assert.deepEqual(byName(upstreamRequestHeaders(SPOOF, undefined, fwd({ emitForwarded: true, trusted: true })))["forwarded"], ["for=1.1.1.1, for=10.0.0.5;host=gw.example;proto=http"]);
  assert.equal(forwardedElement(fwd({ clientAddress: "::1", host: "gw:8080", proto: "https" })), 'for="[::1]";host="gw:8080";proto=https');
  assert.equal(forwardedElement(fwd({ host: 'a"b' })), 'for=10.0.0.5;host="a\\"b";proto=http');
});

test("Host is replaced unless preserved; Expect and hop-by-hop headers never pass", () => {
  const raw = ["Host", "gw.example", "Expect", "100-continue", "TE", "gzip", "Keep-Alive", "5", "Upgrade", "h2c"];
  assert.equal(byName(upstreamRequestHeaders(raw, undefined, fwd()))["host"], undefined);
  const h = byName(upstreamRequestHeaders(raw, undefined, fwd({ preserveHost: true })));
  assert.deepEqual(h["host"], ["gw.example"]);
  for (const name of ["expect", "te", "keep-alive", "upgrade"]) assert.equal(h[name], undefined, name);
});

test("hop-by-hop request headers and those named in Connection are dropped; others keep name, order and repeats", () => {
  const raw = ["Host", "gw.example:3000", "Connection", "keep-alive, X-Secret", "X-Secret", "1", "Accept", "a", "Cookie", "x=1", "Cookie", "y=2", "TE", "gzip", "Upgrade", "h2c", "Expect", "100-continue"];
  const out = upstreamRequestHeaders(raw, "keep-alive, X-Secret", fwd());
  assert.deepEqual(out.slice(0, 6), ["Accept", "a", "Cookie", "x=1", "Cookie", "y=2"]);
  const names = Object.keys(byName(out));
  for (const dropped of ["host", "connection", "x-secret", "te", "upgrade", "expect"]) assert.ok(!names.includes(dropped), `${dropped} should be dropped`);
});

test("the scheme is the connection's: a TLS socket is https, whatever the listener", () => {
  const policy = { trustedProxies: TrustedProxies.parse("10.0.0.0/8"), emitForwarded: false, preserveHost: false };
  const req = (socket: object) => ({ socket: { remoteAddress: "10.0.0.9", localPort: 8443, ...socket }, headers: { host: "gw", "x-request-id": "r" } }) as unknown as IncomingMessage;
  assert.equal(forwardedFor(req({ encrypted: true }), policy).proto, "https");
  assert.equal(forwardedFor(req({}), policy).proto, "http");
  const fwd = forwardedFor(req({ encrypted: true }), policy);
  assert.deepEqual([fwd.trusted, fwd.port, fwd.requestId, fwd.host], [true, 8443, "r", "gw"]);
  assert.equal(forwardedFor({ ...req({}), socket: { remoteAddress: "::ffff:10.1.1.1" } } as unknown as IncomingMessage, policy).trusted, true);
});

test("TE is passed on as \"trailers\" only, and only when the client lists that token", () => {
  const te = (value: string): string[] | undefined => byName(upstreamRequestHeaders(["TE", value], undefined, fwd())).te;
  assert.deepEqual(te("trailers"), ["trailers"]);
  assert.deepEqual(te("gzip, trailers;q=1"), ["trailers"]);
  assert.equal(te("gzip, deflate"), undefined);
});
