/**
 * The dashboard page in a real headless browser (Debian's chromium): instances
 * registered in and deregistered from a real Consul appear on and leave the
 * page live, with their change notifications. Screenshots go to test-artifacts/.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import superagent from "superagent";
import type { Page } from "playwright-core";
import { ConsulAgent } from "../support/consul.js";
import { httpCheckedRegistration as registration, startBackend, type Backend } from "../support/backends.js";
import { chromiumMissing, launchChromium, type TestBrowser } from "../support/browser.js";
import { countHits, startTestGateway, type TestGateway } from "../support/gateway.js";
import { freePort } from "../support/ports.js";
import { eventually } from "../support/wait.js";

const ARTIFACTS = resolve(import.meta.dirname, "../../test-artifacts");

describe("the dashboard page in headless chromium", { skip: chromiumMissing() }, () => {
  let consul: ConsulAgent;
  const backends: Backend[] = [];
  let gateway: TestGateway;
  let browser: TestBrowser;
  let page: Page;
  const pageErrors: string[] = [];

  before(async () => {
    consul = await ConsulAgent.start();
    for (const id of ["service-web-1", "service-web-2"]) {
      const backend = await startBackend(id);
      backends.push(backend);
      await consul.register({ ...registration(backend), Tags: ["v1"] });
    }
    gateway = await startTestGateway(consul.address, {
      GATEWAY_SERVICES: "service-web",
      GATEWAY_BALANCER: "round-robin",
      // One refused connection ejects an instance, for longer than the test runs.
      GATEWAY_OUTLIER_FAILURES: "1",
      GATEWAY_OUTLIER_EJECTION_MS: "3600000",
      GATEWAY_OUTLIER_MAX_EJECTION_MS: "3600000",
    });
    await eventually(() => gateway.store.current.get("service-web")?.instances.length === 2, 10_000, "two instances");
    browser = await launchChromium();
    page = await browser.context.newPage();
    page.on("pageerror", (err) => pageErrors.push(err.message));
    page.on("console", (message) => {
      if (message.type() === "error") pageErrors.push(message.text());
    });
    mkdirSync(ARTIFACTS, { recursive: true });
  });

  after(async () => {
    await browser?.close();
    await gateway?.close();
    await Promise.all(backends.map((b) => b.close()));
    await consul?.destroy();
  });

  test("shows the services and instances with their request counts and error rates", async () => {
    await page.goto(`${gateway.adminUrl}/`);
    await page.locator('tr[data-instance$="/service-web-1"]').waitFor();
    assert.equal(await page.locator("#readiness").textContent(), "ready");
    assert.equal(await page.locator("#connection").textContent(), "live");

    await countHits(gateway.url, 9);
    await superagent.get(`${gateway.url}/service-web/status/503`).ok(() => true);
    // 10 requests over two instances, in turn: the counts reach the page without a reload.
    const requests = page.locator('tr[data-instance$="/service-web-1"] td.requests');
    await eventually(async () => (await requests.textContent()) === "5", 10_000, "service-web-1's count on the page");
    const rates = await page.locator("td.error-rate").allTextContents();
    assert.deepEqual(rates.sort(), ["0%", "20.0%"]);
  });

  test("an instance registered in Consul appears with a change notification; deregistered, it goes", async () => {
    const third = await startBackend("service-web-3");
    backends.push(third);
    await consul.register({ ...registration(third), Tags: ["v2", "canary"] });

    const row = page.locator('tr[data-instance$="/service-web-3"]');
    await row.waitFor({ timeout: 15_000 });
    assert.match((await row.textContent())!, /service-web-3127\.0\.0\.1:\d+v2canary/);
    await page.locator("#changes li", { hasText: `+${consul.node}/service-web-3` }).waitFor({ timeout: 5_000 });
    await countHits(gateway.url, 3);
    await eventually(async () => (await row.locator("td.requests").textContent()) === "1", 10_000, "service-web-3's first request on the page");
    await page.screenshot({ path: join(ARTIFACTS, "dashboard.png"), fullPage: true });

    await consul.deregister("service-web-3");
    await row.waitFor({ state: "detached", timeout: 15_000 });
    await page.locator("#changes li", { hasText: `-${consul.node}/service-web-3` }).waitFor({ timeout: 5_000 });
    assert.equal(await page.locator("tr[data-instance]").count(), 2);
    await page.screenshot({ path: join(ARTIFACTS, "dashboard-after-deregister.png"), fullPage: true });
    assert.deepEqual(pageErrors, [], "no script error or blocked resource on the page");
  });

  test("an instance that passive health ejected is marked ejected", async () => {
    // Registered without a check of its own, so it stays in Consul's list while it refuses connections.
    await consul.register({ ID: "flaky-1", Name: "flaky", Address: "127.0.0.1", Port: await freePort() });
    // A name the catalog does not know yet would get 404 UNKNOWN_SERVICE.
    await eventually(() => gateway.store.current.catalog?.services.has("flaky") === true, 10_000, "flaky in the catalog");
    assert.equal((await superagent.get(`${gateway.url}/flaky/x`).ok(() => true)).status, 502);
    await page.locator('tr[data-instance$="/flaky-1"] .ejected-badge').waitFor({ timeout: 10_000 });
    assert.match((await page.locator('tr[data-instance$="/flaky-1"]').getAttribute("class")) ?? "", /\bejected\b/);
    assert.equal(await page.locator('tr[data-instance$="/service-web-1"] .ejected-badge').count(), 0);
    await page.screenshot({ path: join(ARTIFACTS, "dashboard-ejected.png"), fullPage: true });
    assert.deepEqual(pageErrors, []);
  });
});
