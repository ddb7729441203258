// R-M1 and R-M4 against the real worker when a visit's requests interleave with the sending
// of its facts: the visit object's alarm sends the outbox to the queue while the visit's next
// page view and its events arrive. Every report key must equal what the answers showed and the
// events said, once per visit: first with the interleaving forced (the send held until the
// visit's next request has added its facts), then in the shape of real traffic (a seeded
// generator: hundreds of visits of several page views, events between them as lpTag sends
// them, some sent twice).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, decide, someAddress, testClock, TOKEN } from "./harness.mjs";
import { VisitTally, funnel, publishMeasuredDemo, settles } from "./funnel.mjs";

const SITE = "https://www.demo-outfitters.example";
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let w;

before(async () => {
  w = await startWorker();
  // No control groups, as in the run that lost facts.
  await publishMeasuredDemo(w.base);
});
after(async () => { await w?.stop(); });

/** The time `ms` after `iso`, as RFC 3339. */
const at = (iso, ms) => new Date(Date.parse(iso) + ms).toISOString();

/** A page view (its own page id: a new page, never the same one asked again); what it shows. */
async function page(visitorId, visitId, url, now, headers) {
  const a = await decide(w.base, { account: "demo", visitorId, visitId, page: { url, id: `${visitId}-${Date.parse(now)}` } },
    { now, country: "GB", headers });
  assert.equal(a.status, 200, a.text);
  assert.equal(a.json.degraded, undefined, a.text);
  return a.json.engagements;
}

async function events(visitId, list, now) {
  const r = await fetch(`${w.base}/v1/events`, {
    method: "POST", headers: { "Content-Type": "application/json", "CF-Connecting-IP": someAddress(), ...testClock(now) },
    body: JSON.stringify({ account: "demo", visitId, events: list }),
  });
  assert.equal(r.status, 200, await r.text());
}

test("R-M4 facts a visit adds while its earlier facts are being sent all reach the report, once", async () => {
  const NOW = "2026-12-05T10:00:00Z";
  const want = {};
  const tally = new VisitTally(want);
  const held = () => w.logs.join("").split("measurement: send held (test fault)").length - 1;
  const before = held();
  // The first page's facts: their send is held until the visit adds more.
  const first = await page("held-visitor", "held-visit", `${SITE}/shop/boots`, NOW, { "X-Test-Fault": "hold-send", "X-Test-Root": TOKEN });
  assert.ok(first.length > 0);
  tally.page(first, true);
  for (let i = 0; i < 200 && held() === before; i++) await sleep(25);
  assert.equal(held(), before + 1, "the alarm is holding the first page's facts");
  // While it holds them: the next page view (new exposures) adds facts, and the send goes on.
  const second = await page("held-visitor", "held-visit", `${SITE}/shop/checkout/cart`, at(NOW, 40_000));
  assert.ok(second.some((e) => !first.some((f) => f.engagementId === e.engagementId)), "the second page shows something new");
  tally.page(second, true);
  // Then its events, as the tag sends them.
  const [e] = second;
  const list = ["OFFER_DISPLAY", "OFFER_IMPRESSION", "OFFER_CLICK"].map((event) => ({ event, contextId: e.contextId }));
  await events("held-visit", list, at(NOW, 41_000));
  for (const { event } of list) tally.event(event, e);
  await settles(() => funnel(w.base, "2026-12-05"), want);
});

test("R-M4 facts an object kept inside its tally, as objects stored them before each batch had its own key, are sent once", async () => {
  const NOW = "2026-12-06T10:00:00Z";
  const want = {};
  const tally = new VisitTally(want);
  const first = await page("kept-visitor", "kept-visit", `${SITE}/shop/boots`, NOW, { "X-Test-Fault": "previous-storage", "X-Test-Root": TOKEN });
  tally.page(first, true);
  const second = await page("kept-visitor", "kept-visit", `${SITE}/shop/checkout/cart`, at(NOW, 30_000));
  tally.page(second, true);
  await settles(() => funnel(w.base, "2026-12-06"), want);
});

/** A small seeded generator (mulberry32), so that a failing run can be replayed. */
function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PAGES = ["/shop/boots", "/shop/jackets", "/p/boot-1", "/shop/checkout/cart", "/help/returns", "/", "/shop/p/boot-1"];

test("R-M1 R-M4 hundreds of visits of several page views, events between them and some sent twice: every report key equals the tally", async () => {
  const seed = Number(process.env.FUNNEL_SEED ?? 20261204);
  const rnd = random(seed);
  const pick = (list) => list[Math.floor(rnd() * list.length)];
  const NOW = "2026-12-04T10:00:00Z";
  const VISITS = 300;
  const want = {};
  // Each visit's plan is drawn up front from the seed, so the run is the same whatever order
  // the answers come back in: its pages, and per page the events on what it shows.
  const plans = Array.from({ length: VISITS }, (_, i) => ({
    visitId: `gen-visit-${seed}-${i}`,
    visitorId: `gen-visitor-${seed}-${i}`,
    pages: ["/shop/boots", ...Array.from({ length: Math.floor(rnd() * 6) }, () => pick(PAGES))],
    draws: Array.from({ length: 7 }, () => Array.from({ length: 8 }, rnd)),
  }));
  let sent = 0;
  const visit = async (plan) => {
    const tally = new VisitTally(want);
    const beacons = [];
    for (const [p, path] of plan.pages.entries()) {
      const now = at(NOW, p * 20_000);
      const shown = await page(plan.visitorId, plan.visitId, `${SITE}${path}`, now);
      if (p === 0) assert.ok(shown.length > 0, `${plan.visitId}: the first page is eligible`);
      tally.page(shown, p === 0 || shown.length > 0);
      const [wait, click, decline, timeout, replay] = plan.draws[p];
      const list = [];
      for (const e of shown) list.push({ event: "OFFER_DISPLAY", contextId: e.contextId }, { event: "OFFER_IMPRESSION", contextId: e.contextId });
      const target = (r) => shown[Math.floor(r * shown.length)];
      if (shown.length && click < 0.3) list.push({ event: "OFFER_CLICK", contextId: target(click / 0.3).contextId });
      if (shown.length && decline < 0.2) list.push({ event: "OFFER_DECLINED", contextId: target(decline / 0.2).contextId });
      if (shown.length && timeout < 0.1) list.push({ event: "OFFER_TIMEOUT", contextId: target(timeout / 0.1).contextId });
      for (const ev of list) tally.event(ev.event, shown.find((e) => e.contextId === ev.contextId));
      if (list.length) {
        // Beacons: the next page view does not wait for them.
        const t = at(now, 1_000);
        beacons.push(events(plan.visitId, list, t));
        if (replay < 0.15) beacons.push(events(plan.visitId, list, t));
        sent += list.length;
      }
      await sleep(10 + Math.floor(wait * 50));
    }
    await Promise.all(beacons);
  };
  let next = 0;
  await Promise.all(Array.from({ length: 24 }, async () => {
    for (let i = next++; i < VISITS; i = next++) await visit(plans[i]);
  }));
  assert.equal(want["//visits"], VISITS);
  assert.ok(sent > VISITS, `events sent: ${sent}`);
  await settles(() => funnel(w.base, "2026-12-04"), want);
});
