import { test } from "node:test";
import assert from "node:assert/strict";
import { checkState, NO_CHECKS, servicesTouched } from "../../src/discovery/check-changes.js";
import type { CheckEntry } from "../../src/discovery/consul-adapter.js";

const check = (node: string, service: string, status = "passing", id = `service:${service}-${node}`): CheckEntry => ({
  Node: node, CheckID: id, Status: status, ServiceID: service === "" ? "" : `${service}-${node}`, ServiceName: service,
});
const nodeCheck = (node: string, status = "passing"): CheckEntry => check(node, "", status, "serfHealth");
const none = new Map<string, Set<string>>();

test("shared watch: a status change touches only the service whose check changed", () => {
  const before = checkState([check("n1", "web"), check("n1", "api"), check("n2", "web")]);
  const after = checkState([check("n1", "web"), check("n1", "api", "critical"), check("n2", "web")]);
  assert.deepEqual([...servicesTouched(before, after, none)], ["api"]);
});

test("shared watch: a check that appears or goes (an instance registered or deregistered) touches its service", () => {
  const one = checkState([check("n1", "web")]);
  const two = checkState([check("n1", "web"), check("n2", "web"), check("n2", "db")]);
  assert.deepEqual([...servicesTouched(one, two, none)].sort(), ["db", "web"]);
  assert.deepEqual([...servicesTouched(two, one, none)].sort(), ["db", "web"]);
});

test("shared watch: the same checks in another order touch nothing", () => {
  const a = checkState([check("n1", "web"), check("n2", "web"), nodeCheck("n1")]);
  const b = checkState([nodeCheck("n1"), check("n2", "web"), check("n1", "web")]);
  assert.equal(servicesTouched(a, b, none).size, 0);
});

test("shared watch: a node check change touches every service with an instance on that node", () => {
  const before = checkState([nodeCheck("n1"), nodeCheck("n2")]);
  const after = checkState([nodeCheck("n1", "critical"), nodeCheck("n2")]);
  const nodesOf = new Map([["web", new Set(["n1", "n2"])], ["api", new Set(["n2"])], ["db", new Set(["n1"])]]);
  assert.deepEqual([...servicesTouched(before, after, nodesOf)].sort(), ["db", "web"]);
});

test("shared watch: the first answer, compared with no checks, touches every service that has checks", () => {
  assert.deepEqual([...servicesTouched(NO_CHECKS, checkState([check("n1", "web"), nodeCheck("n1")]), none)], ["web"]);
});
