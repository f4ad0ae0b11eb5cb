import { test } from "node:test";
import assert from "node:assert/strict";
import { InvalidMessageError } from "../../src/discovery/messages.js";
import { isReportRequest, parseWorkerMessage } from "../../src/cluster/messages.js";

const counters = { id: "web-1", inFlight: 0, requests: 3, failures: 0, serverErrors: 1, ejectedUntil: 0, consecutiveFailures: 0 };
const metric = { name: "gateway_requests_total", help: "h", type: "counter", aggregator: "sum", values: [{ value: 3, labels: { service: "web" } }] };

test("a worker's report is accepted with its metrics and instance counters", () => {
  const message = parseWorkerMessage({ type: "report", id: 7, metrics: [metric], instances: [counters] });
  assert.equal(message.type, "report");
  assert.deepEqual(message, { type: "report", id: 7, metrics: [metric], instances: [counters] });
});

test("a malformed report is refused, never passed on to the aggregation", () => {
  const hostile: unknown[] = [
    { type: "report" },
    { type: "report", id: "7", metrics: [], instances: [] },
    { type: "report", id: 7, metrics: {}, instances: [] },
    { type: "report", id: 7, metrics: [], instances: [{ ...counters, requests: "3" }] },
    { type: "report", id: 7, metrics: [], instances: [{ ...counters, inFlight: Number.NaN }] },
    { type: "report", id: 7, metrics: [], instances: [{ requests: 1 }] },
    { type: "report", id: 7, metrics: [{ name: "x" }], instances: [] },
    { type: "report", id: 7, metrics: [{ ...metric, values: [{ value: "3", labels: {} }] }], instances: [] },
    { type: "report", id: 7, metrics: [{ ...metric, values: [{ value: 3 }] }], instances: [] },
    null,
    "report",
  ];
  for (const raw of hostile) assert.throws(() => parseWorkerMessage(raw), InvalidMessageError, JSON.stringify(raw));
});

test("only a well-formed report request is one", () => {
  assert.equal(isReportRequest({ type: "report-request", id: 1 }), true);
  for (const raw of [{ type: "report-request" }, { type: "report-request", id: "1" }, { type: "service", id: 1 }, null, 1]) assert.equal(isReportRequest(raw), false, JSON.stringify(raw));
});
