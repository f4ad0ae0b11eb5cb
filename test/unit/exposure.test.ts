import { test } from "node:test";
import assert from "node:assert/strict";
import { ExposurePolicy, exposedCatalog } from "../../src/routing/exposure.js";
import { parseConstraint } from "../../src/tag-constraints.js";

test("exposed by default: everything but gateway.enable=false", () => {
  const policy = new ExposurePolicy({ exposedByDefault: true, constraint: undefined });
  assert.equal(policy.exposes([]), true);
  assert.equal(policy.exposes(undefined), true);
  assert.equal(policy.exposes(["gateway.enable=false"]), false);
  assert.equal(policy.exposes(["gateway.enable=FALSE"]), false);
  assert.equal(policy.exposes(["gateway.enable=true"]), true);
  // One instance's false is not outvoted by another's true (the catalog's tags are a union).
  assert.equal(policy.exposes(["gateway.enable=true", "gateway.enable=false"]), false);
  assert.equal(policy.exposes(["gateway.enable=falsey", "gateway.enablefalse", "xgateway.enable=false"]), true);
});

test("opt-in: only gateway.enable=true", () => {
  const policy = new ExposurePolicy({ exposedByDefault: false, constraint: undefined });
  assert.equal(policy.exposes([]), false);
  assert.equal(policy.exposes(["gateway.enable=True"]), true);
  assert.equal(policy.exposes(["gateway.enable=yes"]), false);
  assert.equal(policy.exposes(["urlprefix-/x"]), false);
});

test("constraints apply on top of the enable rule", () => {
  const policy = new ExposurePolicy({ exposedByDefault: true, constraint: parseConstraint("Tag(`edge`)") });
  assert.equal(policy.exposes(["edge"]), true);
  assert.equal(policy.exposes([]), false);
  assert.equal(policy.exposes(["edge", "gateway.enable=false"]), false);
});

test("exposedCatalog removes hidden services from the names and the tags, and names them", () => {
  const policy = new ExposurePolicy({ exposedByDefault: true, constraint: undefined });
  const listing = { type: "catalog", index: "7", services: ["web", "vault", "consul"], tags: { web: ["urlprefix-/web"], vault: ["gateway.enable=false", "urlprefix-/v"], consul: [] } };
  const { catalog, hidden } = exposedCatalog(listing, policy);
  assert.deepEqual([...hidden], ["vault"]);
  assert.deepEqual(catalog, { type: "catalog", index: "7", services: ["web", "consul"], tags: { web: ["urlprefix-/web"], consul: [] } });
  assert.equal(exposedCatalog(listing, ExposurePolicy.ALL).catalog.services.length, 2);
  const open = { ...listing, tags: { web: [] } };
  assert.equal(exposedCatalog(open, policy).catalog, open, "nothing hidden: the same object");
});
