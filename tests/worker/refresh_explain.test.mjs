// R-D8 button refresh and R-P3 explanations over HTTP.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, admin, decide, fixture, testClock } from "./harness.mjs";

const demo = JSON.parse(fixture("demo/snapshot.json"));
const sets = JSON.parse(fixture("decisions.json")).availability;
const NOW = "2026-11-23T10:00:00Z";
const SHOP = "https://www.demo-outfitters.example/shop/boots";
let w;

before(async () => {
  w = await startWorker();
  const capped = structuredClone(demo);
  capped.account.proactiveCaps = { conversation: 1 };
  await admin(w.base, "PUT", "demo/snapshot", capped, { "If-Match": "0" });
  await admin(w.base, "PUT", "demo/availability", { skills: sets.allOnline });
});
after(async () => { await w?.stop(); });

const state = async (ids, extra = "") => {
  const r = await fetch(`${w.base}/v1/state?account=demo&engagements=${ids.join(",")}${extra}`);
  return { status: r.status, json: await r.json(), headers: r.headers };
};

test("R-D8 refresh reports an availability change within 10 s and never drops an engagement", async () => {
  const d = await decide(w.base, { account: "demo", visitorId: "visitor-0001", visitId: "refresh-visit", page: { url: SHOP, id: "p1" } }, { now: NOW, country: "GB" });
  const sticky = d.json.engagements.find((e) => e.engagementId === "e-sales-sticky");
  assert.equal(sticky.refreshSeconds, 60);
  const visitBefore = (await admin(w.base, "GET", "demo/visits/refresh-visit")).json.visit;
  const ids = ["e-sales-sticky", "e-support-slideout", "e-uk-peel", "e-returning-slideout", "e-gone-since-republish"];
  const first = await state(ids);
  assert.equal(first.status, 200);
  assert.equal(first.headers.get("access-control-allow-origin"), "*");
  assert.deepEqual(first.json.engagements.map((e) => e.engagementId), ids);
  assert.equal(first.json.engagements[0].state, 1);
  const pushed = Date.now();
  await admin(w.base, "PUT", "demo/availability", { skills: sets.allOffline });
  let now;
  while (Date.now() - pushed < 10_000) {
    now = await state(ids);
    if (now.json.engagements[0].state === 2) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  const [stickyNow, support, peel, returning, gone] = now.json.engagements;
  assert.deepEqual(stickyNow, { engagementId: "e-sales-sticky", state: 2, stateName: "offline", refreshSeconds: 60 });
  assert.equal(support.refreshSeconds, undefined, "messaging has no refresh");
  assert.equal(peel.state, 1, "content is always shown as available");
  assert.equal(returning.state, 2, "an online-only button reads offline but is not removed");
  assert.deepEqual(gone, { engagementId: "e-gone-since-republish" });
  assert.deepEqual((await admin(w.base, "GET", "demo/visits/refresh-visit")).json.visit, visitBefore, "refresh does not touch the visit");
  await admin(w.base, "PUT", "demo/availability", { skills: sets.allOnline });
});

test("R-D8 a snapshot that enables refresh without an interval refreshes every 120 s", async () => {
  const enabled = structuredClone(demo);
  enabled.account.proactiveCaps = { conversation: 1 };
  const sticky = enabled.campaigns.flatMap((c) => c.engagements).find((e) => e.id === "e-sales-sticky");
  delete sticky.refreshSeconds;
  sticky.refreshEnabled = true;
  const r = await admin(w.base, "PUT", "demo/snapshot", enabled, { "If-Match": "*" });
  assert.equal(r.status, 200, r.text);
  try {
    const d = await decide(w.base, { account: "demo", visitorId: "visitor-0001", visitId: "refresh-default-visit", page: { url: SHOP, id: "p1" } }, { now: NOW, country: "GB" });
    assert.equal(d.json.engagements.find((e) => e.engagementId === "e-sales-sticky").refreshSeconds, 120);
    const s = await state(["e-sales-sticky"]);
    assert.equal(s.json.engagements[0].refreshSeconds, 120);
    // An interval given while refresh is switched off is refused, naming the field; nothing changes.
    sticky.refreshEnabled = false;
    sticky.refreshSeconds = 60;
    const bad = await admin(w.base, "PUT", "demo/snapshot", enabled, { "If-Match": "*" });
    assert.equal(bad.status, 422);
    assert.ok(bad.json.error.problems.some((p) => p.path.endsWith(".refreshSeconds")), bad.text);
    assert.equal((await state(["e-sales-sticky"])).json.engagements[0].refreshSeconds, 120);
  } finally {
    const capped = structuredClone(demo);
    capped.account.proactiveCaps = { conversation: 1 };
    await admin(w.base, "PUT", "demo/snapshot", capped, { "If-Match": "*" });
  }
});

test("R-D8 bad refresh requests are a 400", async () => {
  for (const q of ["account=demo", "account=demo&engagements=a%20b", `account=demo&engagements=${Array.from({ length: 21 }, (_, i) => `e${i}`).join(",")}`, "engagements=e-sales-sticky"]) {
    const r = await fetch(`${w.base}/v1/state?${q}`);
    assert.equal(r.status, 400, q);
  }
  assert.equal((await fetch(`${w.base}/v1/state?account=nobody&engagements=x`)).status, 404);
});

const byId = (r) => Object.fromEntries(r.json.explanation.map((x) => [x.engagementId, x]));

test("R-P3 explain names R-D1, R-D2, R-D4 and R-D5 exclusions", async () => {
  const r = await decide(w.base, { account: "demo", visitorId: "visitor-0003", visitId: "explain-a", page: { url: SHOP } }, { now: NOW, country: "GB", explain: true });
  const x = byId(r);
  assert.equal(x["e-draft-overlay"].rule, "R-D1");
  assert.match(x["e-draft-overlay"].reason, /not published/);
  assert.equal(x["e-winter-toaster"].rule, "R-D2");
  assert.match(x["e-winter-toaster"].reason, /has not begun \(starts 2026-12-01T00:00 America\/New_York\)/);
  assert.equal(x["e-product-embedded"].rule, "R-D4");
  assert.equal(x["e-sales-sticky"].rule, "R-D5");
  assert.equal(x["e-uk-peel"].outcome, "won");
  assert.equal(r.json.explanation.length, demo.campaigns.flatMap((c) => c.engagements).length);
});

test("R-P3 explain names R-D3, R-D6 and R-D7 exclusions from the visit", async () => {
  const body = (page, extra = {}) => ({ account: "demo", visitorId: "visitor-0001", visitId: "explain-b", page: { url: SHOP, id: page }, ...extra });
  const first = await decide(w.base, body("p1"), { now: NOW, country: "GB" });
  const slideout = first.json.engagements.find((e) => e.engagementId === "e-support-slideout");
  assert.ok(first.json.engagements.some((e) => e.engagementId === "e-sales-overlay"));
  const ev = await fetch(`${w.base}/v1/events`, { method: "POST", headers: { "Content-Type": "text/plain", ...testClock(NOW) },
    body: JSON.stringify({ account: "demo", visitId: "explain-b", event: "OFFER_DECLINED", contextId: slideout.contextId }) });
  assert.equal(ev.status, 200);
  await admin(w.base, "PUT", "demo/availability", { skills: sets.supportOffline });
  const r = await decide(w.base, body("p2", { attributes: { returning: true } }), { now: NOW, country: "GB", explain: true });
  const x = byId(r);
  assert.equal(x["e-sales-overlay"].rule, "R-D6");
  assert.match(x["e-sales-overlay"].reason, /cap of 1/);
  assert.equal(x["e-support-slideout"].rule, "R-D7");
  assert.equal(x["e-returning-slideout"].rule, "R-D3");
  await admin(w.base, "PUT", "demo/availability", { skills: sets.allOnline });
});
