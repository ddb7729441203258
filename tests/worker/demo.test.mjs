// The demo site in a real browser (Debian's Chromium driven by playwright-core): engagements
// in their zones, a decline that blocks further invites (R-D7), availability flipped and seen
// on refresh (R-D8), and offsite links followed to the landing page, then to the inactive
// target once the engagement is disabled (R-O2, R-O4). Screenshots go to test-output/.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { startWorker, admin, fixture, keyFor, ROOT } from "./harness.mjs";

const OUT = join(ROOT, "test-output");
const SITE = "https://www.demo-outfitters.example";
// The demo tag runs on the real clock: open the campaigns' hours so the test holds at any time.
const demo = JSON.parse(fixture("demo/snapshot.json"));
for (const c of demo.campaigns) {
  if (["c-sales-chat", "c-offsite"].includes(c.id)) {
    c.timeFrame.hours = { kind: "all" };
    c.timeFrame.specialOccasions = [];
  }
}
let w;
let browser;
let page;

before(async () => {
  mkdirSync(OUT, { recursive: true });
  w = await startWorker();
  assert.equal((await admin(w.base, "PUT", "demo/snapshot", demo, { "If-Match": "0" })).status, 200);
  await admin(w.base, "PUT", "demo/availability", { skills: JSON.parse(fixture("demo/availability.json")).skills });
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync"],
  });
  const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
  // The same visitor on the worker's host: without it an offsite click draws a fresh id, and
  // 5 % of those land in the account's control group (landing page, no window parameters).
  await context.addCookies([{ name: "ee_vid", value: "visitor-0001", url: `${w.base}/o/` }]);
  page = await context.newPage();
  // A visitor id outside every control group, so the page is the same on every run (R-D5).
  await page.addInitScript(() => localStorage.setItem("ee_vid", "visitor-0001"));
});
after(async () => {
  await browser?.close();
  await w?.stop();
});

const zone = (id) => page.locator(`[data-zone="${id}"] .card`);

async function open(path) {
  await page.goto(`${w.base}${path}`);
  await page.waitForSelector("body[data-decided=true]");
}

test("R-D4 R-D10 the demo page shows the engagements in their zones, rendered from their presentation", async () => {
  await open("/demo/shop/boots");
  assert.equal(await zone("proactive").getAttribute("data-engagement"), "e-sales-overlay");
  assert.equal(await zone("right").getAttribute("data-engagement"), "e-sales-sticky");
  assert.equal(await zone("left").getAttribute("data-engagement"), "e-support-slideout");
  assert.match(await zone("right").locator(".meta").textContent(), /sticky · chat · online/);
  // R-D10: rendered from the snapshot's creative for the state it is in, not from the name.
  assert.equal(await zone("right").locator(".name").textContent(), "Sales chat");
  assert.equal(await zone("right").locator(".text").textContent(), "Talk to a sales advisor.");
  assert.equal(await zone("right").locator(".go").textContent(), "Chat now");
  assert.match(await zone("right").getAttribute("class"), /tgl-sticky/);
  assert.equal(await zone("proactive").locator(".text").textContent(), "Our boot experts are online now.");
  assert.equal(await zone("proactive").getAttribute("role"), "dialog");
  assert.match(await page.locator("#control").textContent(), /exposed/);
  await page.screenshot({ path: join(OUT, "demo-shop.png") });
});

test("R-D7 after declining the invite, the next page shows no conversation invite", async () => {
  await zone("proactive").locator(".close").click();
  await page.waitForTimeout(500);
  await open("/demo/p/trail-boot-42");
  const proactive = await zone("proactive").count() ? await zone("proactive").getAttribute("data-engagement") : null;
  assert.notEqual(proactive, "e-sales-overlay");
  assert.equal(await zone("embedded:product-chat").getAttribute("data-engagement"), "e-product-embedded");
  await page.screenshot({ path: join(OUT, "demo-after-decline.png") });
});

test("R-D8 R-D10 flipping sales to offline changes the button's state and creative on refresh", async () => {
  await page.fill("#token", await keyFor(w.base, "demo"));
  await page.click('.avail[data-state="offline"]');
  await page.waitForFunction(() => document.querySelector('[data-zone="right"] .card')?.className.includes("state-offline"));
  assert.match(await zone("right").locator(".meta").textContent(), /offline/);
  assert.equal(await zone("right").locator(".text").textContent(), "We are away. Leave a message.", "R-D10 offline creative");
  assert.equal(await zone("right").locator(".go").textContent(), "Leave a message");
  await page.screenshot({ path: join(OUT, "demo-offline.png") });
  await page.click('.avail[data-state="online"]');
  await page.waitForFunction(() => document.querySelector('[data-zone="right"] .card')?.className.includes("state-online"));
});

test("R-O2 R-O4 an offsite link lands on the landing page, then on the inactive target when disabled", async () => {
  await page.evaluate(() => document.getElementById("token").dispatchEvent(new Event("change")));
  const link = page.locator('#offsite a[data-engagement="e-offsite-email"]');
  await link.waitFor();
  const href = await link.getAttribute("href");
  await page.setExtraHTTPHeaders({ "CF-IPCountry": "GB" });
  // The browser follows the redirect; the brand's host does not exist here, so the test reads
  // the URL the browser requested next.
  const follow = async () => {
    const next = page.waitForRequest((r) => r.url().startsWith(SITE));
    await page.goto(href).catch(() => {});
    return new URL((await next).url());
  };
  const landed = await follow();
  assert.equal(`${landed.origin}${landed.pathname}`, `${SITE}/chat`);
  assert.equal(landed.searchParams.get("ee_account"), "demo");
  assert.equal(landed.searchParams.get("ee_engagement"), "e-offsite-email");
  assert.match(landed.searchParams.get("ee_context"), /^[0-9a-f]{32}$/);
  const off = structuredClone(demo);
  off.campaigns.find((c) => c.id === "c-offsite").engagements.find((e) => e.id === "e-offsite-email").enabled = false;
  assert.equal((await admin(w.base, "PUT", "demo/snapshot", off, { "If-Match": "*" })).status, 200);
  assert.equal((await follow()).href, `${SITE}/contact`);
  await page.setExtraHTTPHeaders({});
});
