import { test } from "node:test";
import assert from "node:assert/strict";
import { InstanceStatsRegistry } from "../../src/routing/instance-stats.js";
import { OutlierDetector } from "../../src/routing/outlier-detector.js";
import type { Instance } from "../../src/discovery/instance.js";

import { instance } from "../support/instances.js";
const [a, b] = [instance("a"), instance("b")];

function setup(consecutiveFailures = 3) {
  let now = 1_000_000;
  const clock = { advance: (ms: number) => (now += ms) };
  const detector = new OutlierDetector(new InstanceStatsRegistry(() => now), { consecutiveFailures, baseEjectionMs: 1000, maxEjectionMs: 2500 }, () => now);
  return { detector, clock };
}

const ids = (list: readonly Instance[]) => list.map((i) => i.id);

test("N failed connections in a row eject an instance; fewer do not", () => {
  const { detector } = setup();
  assert.equal(detector.onConnectFailure(a), false);
  assert.equal(detector.onConnectFailure(a), false);
  assert.deepEqual(ids(detector.available([a, b])), ["a", "b"]);
  assert.equal(detector.onConnectFailure(a), true, "says it ejected (the metrics count it)");
  assert.deepEqual(ids(detector.available([a, b])), ["b"]);
});

test("a successful connection resets the count", () => {
  const { detector } = setup();
  detector.onConnectFailure(a);
  detector.onConnectFailure(a);
  detector.onConnected(a);
  detector.onConnectFailure(a);
  detector.onConnectFailure(a);
  assert.deepEqual(ids(detector.available([a, b])), ["a", "b"]);
});

test("the ejection ends after its time; on probation one failure ejects again, for longer, up to the maximum", () => {
  const { detector, clock } = setup();
  for (let i = 0; i < 3; i++) detector.onConnectFailure(a);
  clock.advance(999);
  assert.deepEqual(ids(detector.available([a, b])), ["b"]);
  clock.advance(2);
  assert.deepEqual(ids(detector.available([a, b])), ["a", "b"], "back after 1000 ms");
  detector.onConnectFailure(a);
  clock.advance(1500);
  assert.deepEqual(ids(detector.available([a, b])), ["b"], "second ejection lasts 2000 ms");
  clock.advance(501);
  detector.onConnectFailure(a);
  clock.advance(2499);
  assert.deepEqual(ids(detector.available([a, b])), ["b"], "third ejection capped at 2500 ms");
  clock.advance(2);
  assert.deepEqual(ids(detector.available([a, b])), ["a", "b"]);
});

test("a success on probation clears the record: the next ejection is short again", () => {
  const { detector, clock } = setup();
  for (let i = 0; i < 3; i++) detector.onConnectFailure(a);
  clock.advance(1001);
  detector.onConnected(a);
  detector.onConnectFailure(a);
  assert.deepEqual(ids(detector.available([a, b])), ["a", "b"], "one failure no longer ejects");
});

test("when every instance is ejected, all are offered rather than none", () => {
  const { detector } = setup(1);
  detector.onConnectFailure(a);
  detector.onConnectFailure(b);
  assert.deepEqual(ids(detector.available([a, b])), ["a", "b"]);
});

test("0 consecutive failures turns passive health off", () => {
  const { detector } = setup(0);
  for (let i = 0; i < 10; i++) assert.equal(detector.onConnectFailure(a), false);
  assert.deepEqual(ids(detector.available([a, b])), ["a", "b"]);
});
