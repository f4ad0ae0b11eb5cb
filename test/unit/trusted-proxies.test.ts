import { test } from "node:test";
import assert from "node:assert/strict";
import { TrustedProxies } from "../../src/trusted-proxies.js";

test("IPv4 blocks and single addresses", () => {
  const trusted = TrustedProxies.parse("10.0.0.0/8, 192.168.1.7");
  assert.equal(trusted.trusts("10.1.2.3"), true);
  assert.equal(trusted.trusts("11.0.0.1"), false);
  assert.equal(trusted.trusts("192.168.1.7"), true);
  assert.equal(trusted.trusts("192.168.1.8"), false);
  assert.equal(trusted.trusts(undefined), false);
  assert.equal(trusted.trusts("not-an-ip"), false);
});

test("IPv4-mapped IPv6 peers match IPv4 blocks, and the other way round", () => {
  const trusted = TrustedProxies.parse("10.0.0.0/8");
  assert.equal(trusted.trusts("::ffff:10.0.0.1"), true);
  assert.equal(trusted.trusts("::FFFF:10.0.0.1"), true);
  assert.equal(trusted.trusts("::ffff:11.0.0.1"), false);
  assert.equal(TrustedProxies.parse("::ffff:10.0.0.0/104").trusts("10.9.9.9"), true);
});

test("IPv6 blocks", () => {
  const trusted = TrustedProxies.parse("fd00::/8, ::1");
  assert.equal(trusted.trusts("fd12:3456::1"), true);
  assert.equal(trusted.trusts("fe80::1"), false);
  assert.equal(trusted.trusts("::1"), true);
  assert.equal(trusted.trusts("127.0.0.1"), false);
});

test("empty trusts nobody", () => {
  assert.equal(TrustedProxies.parse("").isEmpty, true);
  assert.equal(TrustedProxies.parse(" , ").trusts("127.0.0.1"), false);
});

test("bad entries are refused, named", () => {
  for (const bad of ["10.0.0.0/33", "10.0.0/8", "fd00::/129", "10.0.0.0/-1", "10.0.0.0/8/8", "localhost", "10.0.0.0/ 8", "*"]) {
    assert.throws(() => TrustedProxies.parse(bad), /is not an IPv4 or IPv6 address or CIDR block/, bad);
  }
});
