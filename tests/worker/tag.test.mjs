// The web tag in a real browser (Debian's Chromium through playwright-core) against the real
// worker (R-T1..R-T5, R-M2): pages written for these tests, served from their own origin (a
// brand's site, not the worker's), install the tag exactly as the README's snippet says, with
// its Subresource Integrity hash, loaded from the worker's static assets. Screenshots go to
// test-output/.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { chromium } from "playwright-core";
import { startWorker, admin, fixture, ROOT, TOKEN } from "./harness.mjs";

const OUT = join(ROOT, "test-output");
const build = JSON.parse(readFileSync(join(ROOT, "tag", "dist", "build.json"), "utf8"));
const readme = readFileSync(join(ROOT, "README.md"), "utf8");
// The README's install section, as a brand copies it.
const SNIPPET = /<!-- tag snippet -->\n([\s\S]*?)\n<!-- \/tag snippet -->/.exec(readme)?.[1] ?? "";
let w, site, siteBase, browser;

// The demo account with its sales hours open all day, so the tests hold at any time, and no
// control group: the tag draws fresh visitor ids, and a held-out one would see no invite.
const demo = JSON.parse(fixture("demo/snapshot.json"));
demo.account.controlGroupPercent = 0;
for (const c of demo.campaigns) {
  c.controlGroupPercent = 0;
  if (["c-sales-chat", "c-offsite"].includes(c.id)) { c.timeFrame.hours = { kind: "all" }; c.timeFrame.specialOccasions = []; }
}

/** A brand page: the README's snippet with this worker's origin, then `body`. */
function page(body, { config = "" } = {}) {
  const snippet = SNIPPET.replaceAll("https://edge.example", w.base).replace('account: "demo"', `account: "demo"${config}`);
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Brand page</title>\n${snippet}\n</head><body>${body}</body></html>`;
}

const PAGES = {
  "/shop/boots": () => page(`<h1>Boots</h1><button id="own">The page's own button</button><p id="own-out"></p>
    <script>document.getElementById("own").onclick = () => { document.getElementById("own-out").textContent = "still works"; };</script>`),
  "/help": () => page(`<h1>Help</h1><div id="help-chat" data-ee-embedded></div>`, { config: ', section: ["help"]' }),
  "/spa/shop/boots": () => page(`<h1 id="title">Shop</h1><a id="to-help" href="/spa/help">Help</a>
    <script>
      window.seen = [];
      window.eeTag.events.bind("*", (e) => window.seen.push(e.eventName + ":" + e.engagementId));
      document.getElementById("to-help").onclick = (ev) => {
        ev.preventDefault();
        history.pushState({}, "", "/spa/help");
        document.getElementById("title").textContent = "Help";
        window.eeTag.newPage({ section: ["help"] });
      };
    </script>`),
  "/chat": () => page(`<h1>Chat with us</h1><script>window.opened = []; window.eeTag.onWindow((w) => window.opened.push(w));</script>`),
  "/consent/shop/boots": () => page(`<h1>Boots</h1><div id="banner"><button id="yes">Accept</button><button id="no">Withdraw</button></div>
    <script>
      document.getElementById("yes").onclick = () => { window.eeTag.consent(true); window.eeTag.newPage(); };
      document.getElementById("no").onclick = () => window.eeTag.consent(false);
    </script>`, { config: ", consentRequired: true" }),
  "/broken/shop/boots": () => page(`<h1>Boots</h1><p id="own-out">before</p>
    <script>throw new Error("the page's own bug");</script>
    <script>document.getElementById("own-out").textContent = "after";</script>`),
};

before(async () => {
  mkdirSync(OUT, { recursive: true });
  w = await startWorker();
  assert.equal((await admin(w.base, "PUT", "demo/snapshot", demo, { "If-Match": "0" })).status, 200);
  await admin(w.base, "PUT", "demo/availability", { skills: JSON.parse(fixture("demo/availability.json")).skills });
  site = createServer((req, res) => {
    const path = new URL(req.url, "http://x").pathname;
    const html = (PAGES[path] || PAGES[path.replace(/^\/spa\/help$/, "/spa/shop/boots")])?.();
    res.writeHead(html ? 200 : 404, { "Content-Type": "text/html; charset=utf-8" });
    res.end(html ?? "not found");
  });
  await new Promise((r) => site.listen(0, "127.0.0.1", r));
  siteBase = `http://127.0.0.1:${site.address().port}`;
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-sync"],
  });
});
after(async () => {
  await browser?.close();
  site?.close();
  await w?.stop();
});

async function open(path, { errors } = {}) {
  const context = await browser.newContext({ viewport: { width: 1100, height: 800 } });
  const p = await context.newPage();
  if (errors) p.on("pageerror", (e) => errors.push(e.message));
  await p.goto(`${siteBase}${path}`);
  return { p, context };
}

test("R-T1 the README's snippet installs the tag on a brand's own page: async, with its integrity hash, cached for a year, small", async () => {
  assert.ok(SNIPPET.includes(`integrity="${build.integrity}"`), "the README shows the build's SRI hash");
  assert.match(SNIPPET, /<script async src="https:\/\/edge\.example\/tag\/[0-9.]+\/tag\.js"/);
  const r = await fetch(`${w.base}/tag/${build.version}/tag.js`);
  assert.equal(r.status, 200);
  assert.match(r.headers.get("cache-control"), /max-age=31536000.*immutable/);
  assert.equal(r.headers.get("access-control-allow-origin"), "*");
  assert.ok(build.gzip <= 8192, `${build.gzip} B gzip`);
});

test("R-T1 pages pinned to tag 1.0.0 with its integrity hash keep loading it, byte for byte", async () => {
  const r = await fetch(`${w.base}/tag/1.0.0/tag.js`);
  assert.equal(r.status, 200);
  assert.match(r.headers.get("cache-control"), /immutable/);
  const sri = `sha384-${createHash("sha384").update(Buffer.from(await r.arrayBuffer())).digest("base64")}`;
  assert.equal(sri, "sha384-AguhX6hIhlAEDdVaLDEbACPho6pHSISbLD44l4jxkXMtTUCWH+e6XY6Eu4CVgY3c", "the hash 1.0.0's snippet pins");
});

test("R-T2 R-T3 a static page: one decision, engagements drawn in their zones, the only global is eeTag", async () => {
  const errors = [];
  const { p, context } = await open("/help", { errors });
  await p.waitForSelector("#help-chat [data-engagement=e-help-embedded]");
  await p.waitForSelector("body > [data-engagement=e-sales-sticky]");
  assert.equal(await p.getAttribute("body > [data-engagement=e-sales-sticky]", "aria-label"), "Chat with sales");
  const globals = await p.evaluate(() => Object.keys(window).filter((k) => k.toLowerCase().startsWith("ee")));
  assert.deepEqual(globals, ["eeTag"]);
  await p.screenshot({ path: join(OUT, "tag-static.png") });
  assert.deepEqual(errors, []);
  await context.close();
});

test("R-T2 R-T3 a proactive invite declined with Escape: OFFER_DECLINED reaches the visit", async () => {
  const { p, context } = await open("/shop/boots");
  const invite = p.locator("[data-engagement=e-sales-overlay]");
  await invite.waitFor();
  assert.equal(await invite.getAttribute("role"), "dialog");
  assert.equal(await p.evaluate(() => document.activeElement?.dataset.engagement), "e-sales-overlay", "focused");
  await p.keyboard.press("Escape");
  await invite.waitFor({ state: "detached" });
  const visitId = await p.evaluate(() => sessionStorage.getItem("ee_sid"));
  let declined;
  for (let i = 0; i < 40 && !declined?.includes("e-sales-overlay"); i++) {
    declined = (await admin(w.base, "GET", `demo/visits/${visitId}`)).json?.visit?.declined;
    await p.waitForTimeout(100);
  }
  assert.ok(declined.includes("e-sales-overlay"), JSON.stringify(declined));
  await context.close();
});

test("R-T3 a single-page site: newPage after a History API navigation removes the last page view's engagements and decides again", async () => {
  const { p, context } = await open("/spa/shop/boots");
  await p.waitForSelector("[data-engagement=e-sales-overlay]");
  await p.click("#to-help");
  await p.waitForSelector("[data-engagement=e-sales-overlay]", { state: "detached" });
  await p.waitForFunction(() => window.seen.includes("START:e-help-embedded") || window.seen.some((s) => s.startsWith("OFFER_REMOVE")));
  const seen = await p.evaluate(() => window.seen);
  assert.ok(seen.includes("OFFER_REMOVE:e-sales-overlay"), seen.join(" "));
  assert.equal(new URL(p.url()).pathname, "/spa/help");
  await context.close();
});

test("R-T4 an offsite landing page turns the window parameters into an open window, once", async () => {
  const r = await fetch(`${w.base}/o/demo/e-offsite-email`, { redirect: "manual", headers: { "CF-IPCountry": "GB" } });
  const dest = new URL(r.headers.get("location"));
  const params = dest.search;
  assert.ok(dest.searchParams.get("ee_visit"), `an eligible click: ${dest}`);
  const { p, context } = await open(`/chat${params}`);
  await p.waitForFunction(() => window.opened.length > 0);
  await p.waitForTimeout(300);
  const opened = await p.evaluate(() => window.opened);
  assert.equal(opened.length, 1);
  assert.equal(opened[0].engagementId, "e-offsite-email");
  await context.close();
});

test("R-T5 consent: no cookie, no storage, no proactive invite before; ids after; withdrawn consent removes them", async () => {
  const { p, context } = await open("/consent/shop/boots");
  await p.waitForSelector("body > [data-engagement=e-sales-sticky]");
  const stored = () => p.evaluate(() => ({ local: { ...localStorage }, session: { ...sessionStorage }, cookie: document.cookie }));
  assert.deepEqual(await stored(), { local: {}, session: {}, cookie: "" });
  assert.deepEqual(await context.cookies(), [], "no cookie on any origin, the worker's included");
  assert.equal(await p.locator("[data-engagement=e-sales-overlay]").count(), 0, "no proactive invite without a visit");
  await p.click("#yes");
  await p.waitForSelector("[data-engagement=e-sales-overlay]");
  const after = await stored();
  assert.match(after.local.ee_vid, /^[0-9a-f]{32}$/);
  assert.match(after.session.ee_sid, /^[0-9a-f]{32}$/);
  await p.click("#no");
  assert.deepEqual(await stored(), { local: {}, session: {}, cookie: "" });
  assert.deepEqual(await context.cookies(), []);
  await p.screenshot({ path: join(OUT, "tag-consent.png") });
  await context.close();
});

test("R-T1 a page whose own script throws, and a worker that is down: the page keeps working", async () => {
  const { p, context } = await open("/broken/shop/boots");
  await p.waitForSelector("body > [data-engagement=e-sales-sticky]");
  assert.equal(await p.textContent("#own-out"), "after");
  await context.close();
  // The same page with the worker's origin unreachable: no script, no engagement, no error
  // beyond the failed load, and the page's own code runs.
  const dead = await browser.newContext();
  const q = await dead.newPage();
  const errors = [];
  q.on("pageerror", (e) => errors.push(e.message));
  const html = PAGES["/shop/boots"]().replaceAll(w.base, "http://127.0.0.1:9");
  await q.setContent(html);
  await q.click("#own");
  assert.equal(await q.textContent("#own-out"), "still works");
  assert.deepEqual(errors, []);
  await dead.close();
});

test("R-M2 R-T3 a conversion reported by the tag appears in the report", async () => {
  const { p, context } = await open("/shop/boots");
  await p.waitForSelector("body > [data-engagement=e-sales-sticky]");
  await p.evaluate(() => window.eeTag.conversion({ id: "tag-order-1", goal: "purchase", value: 49.99, currency: "GBP" }));
  const day = new Date().toISOString().slice(0, 10);
  const from = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
  let revenue;
  for (let i = 0; i < 60 && !revenue; i++) {
    const rows = (await admin(w.base, "GET", `demo/report?from=${from}&to=${day}`)).json.rows;
    revenue = rows.find((r) => r.metric === "revenue" && !r.campaign && r.currency === "GBP");
    if (!revenue) await p.waitForTimeout(250);
  }
  assert.equal(revenue?.value, 49.99);
  await context.close();
});
