import { test } from "node:test";
import assert from "node:assert/strict";
import { InstanceStatsRegistry } from "../../src/routing/instance-stats.js";
import { OutlierDetector, type OutlierOptions } from "../../src/routing/outlier-detector.js";
import { instanceKey, type Instance } from "../../src/discovery/instance.js";
import { instance } from "../support/instances.js";

const [a, b, c, d] = [instance("a"), instance("b"), instance("c"), instance("d")];
const two = [a, b];
const four = [a, b, c, d];

function setup(options: Partial<OutlierOptions> = {}, instances: readonly Instance[] = four) {
  let now = 1_000_000;
  const clock = { advance: (ms: number) => (now += ms) };
  const stats = new InstanceStatsRegistry(() => now);
  // The table updater observes every instance of a list before it is served.
  stats.observe(instances.map(instanceKey));
  const detector = new OutlierDetector(
    stats,
    { consecutiveGatewayFailures: 3, consecutive5xx: 3, maxEjectionPercent: 50, panicThresholdPercent: 50, baseEjectionMs: 1000, maxEjectionMs: 2500, ...options },
    () => now,
  );
  return { detector, clock, stats };
}

const ids = (list: readonly Instance[]) => list.map((i) => i.id);

test("N gateway failures in a row eject an instance; fewer do not; the trigger is named", () => {
  const { detector } = setup();
  assert.equal(detector.onGatewayFailure(a, four), undefined);
  assert.equal(detector.onGatewayFailure(a, four), undefined);
  assert.deepEqual(ids(detector.available(four)), ["a", "b", "c", "d"]);
  assert.equal(detector.onGatewayFailure(a, four), "consecutive_gateway_failures");
  assert.deepEqual(ids(detector.available(four)), ["b", "c", "d"]);
});

test("N 5xx answers in a row eject an instance; any other answer resets the count", () => {
  const { detector } = setup();
  detector.onResponse(a, 503, four);
  detector.onResponse(a, 500, four);
  detector.onResponse(a, 200, four);
  detector.onResponse(a, 502, four);
  detector.onResponse(a, 503, four);
  assert.deepEqual(ids(detector.available(four)), ["a", "b", "c", "d"]);
  assert.equal(detector.onResponse(a, 504, four), "consecutive_5xx");
  assert.deepEqual(ids(detector.available(four)), ["b", "c", "d"]);
});

test("the two triggers count apart: an answer (even a 5xx) resets the gateway failures", () => {
  const { detector } = setup();
  detector.onGatewayFailure(a, four);
  detector.onGatewayFailure(a, four);
  detector.onResponse(a, 500, four);
  assert.equal(detector.onGatewayFailure(a, four), undefined);
  detector.onResponse(a, 500, four);
  assert.equal(detector.onResponse(a, 500, four), "consecutive_5xx");
});

test("the ejection ends after its time; on probation one failure ejects again, for longer, up to the maximum", () => {
  const { detector, clock } = setup({ consecutiveGatewayFailures: 1 });
  detector.onGatewayFailure(a, four);
  clock.advance(999);
  assert.deepEqual(ids(detector.available(four)), ["b", "c", "d"]);
  clock.advance(2);
  assert.deepEqual(ids(detector.available(four)), ["a", "b", "c", "d"]);
  assert.equal(detector.onResponse(a, 500, four), "consecutive_5xx", "on probation: one failure of either kind");
  clock.advance(1999);
  assert.deepEqual(ids(detector.available(four)), ["b", "c", "d"], "the second ejection lasts twice as long");
  clock.advance(2);
  detector.onGatewayFailure(a, four);
  clock.advance(2499);
  assert.deepEqual(ids(detector.available(four)), ["b", "c", "d"], "capped at the maximum");
  clock.advance(2);
  detector.onResponse(a, 200, four);
  detector.onGatewayFailure(a, four);
  clock.advance(1001);
  assert.deepEqual(ids(detector.available(four)), ["a", "b", "c", "d"], "a good answer cleared the record: short again");
});

test("at most max_ejection_percent of the instances are out; one always may be", () => {
  const { detector } = setup({ consecutive5xx: 1 });
  for (const i of four) detector.onResponse(i, 500, four);
  assert.deepEqual(detector.state(four), { ejected: 2, panic: false });
  const pair = setup({ consecutive5xx: 1 }, two);
  for (const i of two) pair.detector.onResponse(i, 500, two);
  assert.deepEqual(pair.detector.state(two), { ejected: 1, panic: false });
});

test("below the panic threshold every instance takes traffic again", () => {
  const { detector } = setup({ consecutive5xx: 1, maxEjectionPercent: 100, panicThresholdPercent: 50 });
  detector.onResponse(a, 500, four);
  detector.onResponse(b, 500, four);
  assert.deepEqual(ids(detector.available(four)), ["c", "d"], "half in rotation is not below 50 %");
  detector.onResponse(c, 500, four);
  assert.deepEqual(detector.state(four), { ejected: 3, panic: true });
  assert.deepEqual(ids(detector.available(four)), ["a", "b", "c", "d"]);
});

test("with the panic threshold at 0, only an empty rotation offers all instances", () => {
  const { detector } = setup({ consecutive5xx: 1, maxEjectionPercent: 100, panicThresholdPercent: 0 });
  for (const i of [a, b, c]) detector.onResponse(i, 500, four);
  assert.deepEqual(ids(detector.available(four)), ["d"]);
  detector.onResponse(d, 500, four);
  assert.deepEqual(ids(detector.available(four)), ["a", "b", "c", "d"], "a guess beats a certain 503");
});

test("0 turns a trigger off", () => {
  const { detector } = setup({ consecutiveGatewayFailures: 0, consecutive5xx: 0 });
  for (let i = 0; i < 10; i++) {
    assert.equal(detector.onGatewayFailure(a, four), undefined);
    assert.equal(detector.onResponse(b, 500, four), undefined);
  }
  assert.equal(detector.available(four).length, 4);
});

test("instances with one service ID on two nodes are two", () => {
  const x = instance("dup", { node: "n1" });
  const y = instance("dup", { node: "n2", port: 2 });
  const { detector } = setup({ consecutiveGatewayFailures: 1 }, [x, y]);
  detector.onGatewayFailure(x, [x, y]);
  assert.deepEqual(detector.available([x, y]), [y]);
});
