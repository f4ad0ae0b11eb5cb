import { test } from "node:test";
import assert from "node:assert/strict";
import { backoffDelay } from "../../src/discovery/restart-backoff.js";
import { WatchedRead, type ReadResult } from "../../src/discovery/registries/watched-read.js";

/** A read whose answers the test gives by hand, one per call. */
function manualRead() {
  const pending: { resolve: (r: ReadResult<number>) => void; reject: (e: Error) => void }[] = [];
  return {
    pending,
    read: () => new Promise<ReadResult<number>>((resolve, reject) => pending.push({ resolve, reject })),
  };
}

function recorder() {
  const changes: number[] = [];
  const errors: string[] = [];
  return { changes, errors, listener: { change: (value: number) => changes.push(value), error: (err: Error) => errors.push(err.message) } };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

test("events during a read coalesce into one more read after it, never parallel reads", async () => {
  const { pending, read } = manualRead();
  const { changes, listener } = recorder();
  const watched = new WatchedRead(read, listener, 1_000);
  watched.refresh();
  for (let i = 0; i < 10; i++) watched.refresh();
  assert.equal(pending.length, 1, "one read in flight");
  pending[0]!.resolve({ value: 1, index: "1" });
  await tick();
  assert.deepEqual(changes, [1]);
  assert.equal(pending.length, 2, "exactly one more read for the ten events");
  pending[1]!.resolve({ value: 2, index: "2" });
  await tick();
  assert.deepEqual(changes, [1, 2]);
  assert.equal(pending.length, 2, "nothing more to read");
  watched.end();
});

test("restart() drops a read that may never answer (an expired session's) and reads at once", async () => {
  const { pending, read } = manualRead();
  const { changes, listener } = recorder();
  const watched = new WatchedRead(read, listener, 1_000);
  watched.refresh();
  watched.restart();
  assert.equal(pending.length, 2);
  pending[1]!.resolve({ value: 2, index: "2" });
  pending[0]!.resolve({ value: 1, index: "1" });
  await tick();
  assert.deepEqual(changes, [2], "the abandoned read's late answer is ignored");
  watched.end();
});

test("a failed read is reported and retried; after end() nothing is read or reported", async (t) => {
  t.mock.timers.enable({ apis: ["setTimeout"] });
  const { pending, read } = manualRead();
  const { changes, errors, listener } = recorder();
  const watched = new WatchedRead(read, listener, 1_000);
  watched.refresh();
  pending[0]!.reject(new Error("connection loss"));
  await tick();
  assert.deepEqual(errors, ["connection loss"]);
  t.mock.timers.tick(backoffDelay(1, 1_000));
  assert.equal(pending.length, 2, "retried after the backoff");
  pending[1]!.resolve({ value: 7, index: "7" });
  await tick();
  assert.deepEqual(changes, [7]);
  watched.end();
  watched.refresh();
  watched.reportError(new Error("late"));
  assert.equal(pending.length, 2);
  assert.deepEqual(errors, ["connection loss"]);
});

test("the retry delay doubles from 200 ms and stops at the ceiling", () => {
  assert.deepEqual([1, 2, 3, 4, 10].map((n) => backoffDelay(n, 1_000)), [200, 400, 800, 1_000, 1_000]);
});

test("an answer with an older index than the last reported is dropped; index 0 (the node is gone) always counts", async () => {
  const { pending, read } = manualRead();
  const { changes, listener } = recorder();
  const watched = new WatchedRead(read, listener, 1_000);
  watched.refresh();
  pending[0]!.resolve({ value: 5, index: "50" });
  await tick();
  watched.refresh();
  pending[1]!.resolve({ value: 4, index: "40" });
  await tick();
  watched.refresh();
  pending[2]!.resolve({ value: 0, index: "0" });
  await tick();
  watched.refresh();
  pending[3]!.resolve({ value: 1, index: "10" });
  await tick();
  assert.deepEqual(changes, [5, 0, 1]);
  watched.end();
});
