// R-M2, R-M3, R-M4, R-M5 over HTTP against the real worker (visit objects, the local Queue, D1):
// conversions from the tag and the brand's server, once per id; attributed to the last
// accepted engagement in the same visit or within the cross-session period, else counted after
// exposure; control against exposed from the visitors each arm really holds; erasing a visitor
// and deleting a campaign's measurements. Every expected figure is computed here from what the
// test sent.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, admin, decide, fixture, keyFor, testClock } from "./harness.mjs";

const demo = JSON.parse(fixture("demo/snapshot.json"));
const online = JSON.parse(fixture("decisions.json")).availability.allOnline;
const NOW = Date.parse("2026-12-01T10:00:00Z");
const iso = (ms) => new Date(ms).toISOString();
const dayOf = (ms) => iso(ms).slice(0, 10); // Europe/London is UTC in December
const HOUR = 3_600_000, DAYMS = 86_400_000;
const FROM = dayOf(NOW), TO = dayOf(NOW + 25 * DAYMS);
const SHOP = "https://www.demo-outfitters.example/shop/boots";
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const clock = (ms) => testClock(iso(ms));
let w, snapshot;
const goalOf = {};

before(async () => {
  w = await startWorker();
  snapshot = structuredClone(demo);
  snapshot.account.controlGroupPercent = 20;
  snapshot.account.proactiveCaps = {};
  for (const c of snapshot.campaigns) {
    c.goal = c.id === "c-support" ? "lead" : "purchase";
    goalOf[c.id] = c.goal;
  }
  snapshot.campaigns.find((c) => c.id === "c-sales-chat").controlGroupPercent = 25;
  assert.equal((await admin(w.base, "PUT", "demo/snapshot", snapshot, { "If-Match": "0" })).status, 200);
  await admin(w.base, "PUT", "demo/availability", { skills: online });
});
after(async () => { await w?.stop(); });

async function report() {
  const r = await admin(w.base, "GET", `demo/report?from=${FROM}&to=${TO}`);
  assert.equal(r.status, 200, r.text);
  return r.json;
}

/** Conversion rows as "campaign/engagement/metric[/currency]" → [n, value]. */
function conversionCounts(rep) {
  const out = {};
  for (const r of rep.rows) {
    if (!r.metric.startsWith("conversions") && !r.metric.startsWith("revenue")) continue;
    const key = `${r.campaign}/${r.engagement}/${r.metric}${r.currency ? "/" + r.currency : ""}`;
    const [n, v] = out[key] ?? [0, 0];
    out[key] = [n + r.n, Math.round((v + (r.value ?? 0)) * 100) / 100];
  }
  return out;
}

const sorted = (o) => Object.fromEntries(Object.entries(o).sort());

/** Waits until `read()` equals `want`, then checks it stays so (nothing counted twice late). */
async function settles(read, want) {
  let got;
  for (let i = 0; i < 100; i++) {
    got = sorted(await read());
    if (JSON.stringify(got) === JSON.stringify(sorted(want))) break;
    await sleep(250);
  }
  assert.deepEqual(got, sorted(want));
  await sleep(2000);
  assert.deepEqual(sorted(await read()), sorted(want), "no late double count");
}

async function convert(path, body, at, extra = {}) {
  const r = await fetch(`${w.base}${path}`, {
    method: "POST", headers: { "Content-Type": "application/json", ...clock(at), ...extra }, body: JSON.stringify(body),
  });
  return { status: r.status, json: await r.json() };
}
const tagConversion = (body, at) => convert("/v1/conversions/demo", body, at);
// The brand's server holds a key with the `conversions` scope (R-S1).
const serverConversion = async (body, at) =>
  convert("/v1/admin/accounts/demo/conversions", body, at, { Authorization: `Bearer ${await keyFor(w.base, "demo")}` });

async function click(visitId, contextId, at) {
  const r = await fetch(`${w.base}/v1/events`, { method: "POST", headers: { "Content-Type": "application/json", ...clock(at) },
    body: JSON.stringify({ account: "demo", visitId, events: [{ event: "OFFER_CLICK", contextId }] }) });
  assert.equal(r.status, 200, await r.text());
}

function add(t, key, value) {
  const [n, v] = t[key] ?? [0, 0];
  t[key] = [n + 1, Math.round((v + (value ?? 0)) * 100) / 100];
}

/** What the test sent, per visitor: arms, the accepted engagement, conversions. */
const visitors = [];

test("R-M2 R-M3 R-M4 conversions are attributed, counted once, and compared control against exposed", async () => {
  for (let i = 0; i < 90; i++) {
    const v = { id: `conv-visitor-${i}`, visit: `conv-visit-${i}`, conversions: [] };
    const a = await decide(w.base, { account: "demo", visitorId: v.id, visitId: v.visit, page: { url: SHOP, id: "p1" } },
      { now: iso(NOW), country: "GB" });
    assert.equal(a.status, 200, a.text);
    v.accountHeld = a.json.controlGroups.account;
    v.campaignsHeld = a.json.controlGroups.campaigns;
    v.exposedTo = [...new Set(a.json.engagements.map((e) => e.campaignId))];
    const first = a.json.engagements[0];
    if (first && i % 2 === 0) {
      await click(v.visit, first.contextId, NOW + 60_000);
      v.accepted = { campaign: first.campaignId, engagement: first.engagementId, at: NOW + 60_000 };
    }
    visitors.push(v);
  }
  assert.ok(visitors.filter((v) => v.accountHeld).length >= 5, "the account's control group holds some visitors");
  assert.ok(visitors.filter((v) => v.campaignsHeld.includes("c-sales-chat")).length >= 5, "so does the campaign's");

  // Conversions: a third from the tag (GBP), some from the brand's server (EUR), one repeated
  // three times under one id, one in a later visit 3 days on, one 20 days on (too late).
  for (const [i, v] of visitors.entries()) {
    const at = NOW + HOUR;
    if (i % 3 === 0) {
      const c = { id: `order-${i}`, goal: "purchase", value: 10 + i + 0.25, currency: "GBP", visitorId: v.id, visitId: v.visit };
      assert.equal((await tagConversion(c, at)).status, 202);
      v.conversions.push({ ...c, at });
    } else if (i % 5 === 1) {
      const c = { id: `server-${i}`, goal: "purchase", value: 99.99, currency: "EUR", visitorId: v.id };
      assert.equal((await serverConversion(c, at)).status, 202);
      v.conversions.push({ ...c, at });
    }
  }
  const again = { id: "order-0", goal: "purchase", value: 10.25, currency: "GBP", visitorId: "conv-visitor-0", visitId: "conv-visit-0" };
  assert.equal((await tagConversion(again, NOW + HOUR)).status, 202);
  assert.equal((await serverConversion(again, NOW + HOUR)).status, 202);
  const clicked = visitors.filter((v) => v.accepted && v.conversions.length === 0);
  const [returning, tooLate] = clicked;
  const later = { id: "later-1", goal: "purchase", visitorId: returning.id, visitId: `${returning.visit}-b` };
  assert.equal((await tagConversion(later, NOW + 3 * DAYMS)).status, 202);
  returning.conversions.push({ ...later, at: NOW + 3 * DAYMS });
  const late = { id: "late-1", goal: "purchase", visitorId: tooLate.id };
  assert.equal((await serverConversion(late, NOW + 20 * DAYMS)).status, 202);
  tooLate.conversions.push({ ...late, at: NOW + 20 * DAYMS });

  // The rows expected (R-M2: last accepted engagement of a campaign with the goal, within 14
  // days; else the campaigns with the goal that exposed the visitor).
  const want = {};
  for (const v of visitors) {
    for (const c of v.conversions) {
      const day = dayOf(c.at);
      add(want, "//conversions");
      if (c.currency) add(want, `//revenue/${c.currency}`, c.value);
      const inTime = (t) => c.at - t <= 14 * DAYMS;
      if (v.accepted && goalOf[v.accepted.campaign] === "purchase" && inTime(v.accepted.at)) {
        for (const k of ["", v.accepted.campaign, `${v.accepted.campaign}/${v.accepted.engagement}`]) {
          const key = k.includes("/") ? k : `${k}/`;
          add(want, `${key}/conversions_engaged`);
          if (c.currency) add(want, `${key}/revenue_engaged/${c.currency}`, c.value);
        }
      } else {
        const exposed = v.exposedTo.filter((x) => goalOf[x] === "purchase");
        if (exposed.length && inTime(NOW)) {
          add(want, "//conversions_exposed");
          for (const x of exposed) add(want, `${x}//conversions_exposed`);
        }
      }
      void day;
    }
  }
  await settles(async () => conversionCounts(await report()), want);

  // R-M3: each arm holds the visitors the answers said; converted = a conversion of the goal
  // within 14 days of entering the arm. The arms' facts travel by the queue apart from the
  // conversions', so they are awaited on their own.
  const arms = { "": [visitors.filter((v) => v.accountHeld), visitors.filter((v) => v.exposedTo.length)],
    "c-sales-chat": [visitors.filter((v) => v.campaignsHeld.includes("c-sales-chat")), visitors.filter((v) => v.exposedTo.includes("c-sales-chat"))] };
  const armSizes = (r) => Object.fromEntries(r.comparisons.filter((c) => c.metric === "conversion_rate" && c.campaign in arms)
    .map((c) => [c.campaign || "account", [c.control.visitors, c.exposed.visitors]]));
  await settles(async () => armSizes(await report()),
    Object.fromEntries(Object.entries(arms).map(([c, [held, exposed]]) => [c || "account", [held.length, exposed.length]])));
  const rep = await report();
  const converted = (v) => v.conversions.some((c) => c.at - NOW <= 14 * DAYMS);
  const gbp = (v) => v.conversions.filter((c) => c.currency === "GBP" && c.at - NOW <= 14 * DAYMS).reduce((a, c) => a + c.value, 0);
  const check = (campaign, held, exposed) => {
    const rate = rep.comparisons.find((c) => c.campaign === campaign && c.metric === "conversion_rate");
    assert.ok(rate, `a comparison for "${campaign}"`);
    assert.equal(rate.control.visitors, held.length, `${campaign} control n`);
    assert.equal(rate.exposed.visitors, exposed.length, `${campaign} exposed n`);
    const mean = (arm, f) => arm.reduce((a, v) => a + f(v), 0) / arm.length;
    assert.ok(Math.abs(rate.control.mean - mean(held, (v) => +converted(v))) < 1e-9, `${campaign} control rate`);
    assert.ok(Math.abs(rate.exposed.mean - mean(exposed, (v) => +converted(v))) < 1e-9, `${campaign} exposed rate`);
    assert.equal(rate.decideWith, "sequential");
    const value = rep.comparisons.find((c) => c.campaign === campaign && c.metric === "value_per_visitor" && c.currency === "GBP");
    assert.ok(Math.abs(value.exposed.mean - mean(exposed, gbp)) < 1e-9, `${campaign} GBP per exposed visitor`);
    return rate;
  };
  const account = check("", ...arms[""]);
  if (account.result) {
    assert.ok(account.result.sequentialCi[0] <= account.result.ci[0] && account.result.ci[1] <= account.result.sequentialCi[1],
      "the always-valid interval holds the fixed one");
  } else {
    assert.ok(["too_few_visitors", "zero_control", "no_variance"].includes(account.notComparable));
  }
  check("c-sales-chat", ...arms["c-sales-chat"]);
  // The table reads back as CSV too.
  const csv = await fetch(`${w.base}/v1/admin/accounts/demo/report?from=${FROM}&to=${TO}&format=csv&table=comparisons`,
    { headers: { Authorization: `Bearer ${await keyFor(w.base, "demo")}` } });
  const lines = (await csv.text()).trim().split("\n");
  assert.match(lines[0], /^campaign,goal,metric,currency,control_visitors/);
  assert.equal(lines.length - 1, rep.comparisons.length);
});

test("R-M2 bad conversions are a 400 naming the field, and nothing is stored", async () => {
  const before = conversionCounts(await report());
  const v = { visitorId: "conv-visitor-1" };
  for (const [body, field, route] of [
    [{ id: "b1", goal: "signup", ...v }, "goal", tagConversion],
    [{ id: "b2", goal: "purchase", value: -5, currency: "GBP", ...v }, "value", tagConversion],
    [{ id: "b3", goal: "purchase", value: "12", currency: "GBP", ...v }, "value", serverConversion],
    [{ id: "b4", goal: "purchase", value: 12, currency: "ABC", ...v }, "currency", tagConversion],
    [{ id: "b5", goal: "purchase", value: 12, ...v }, "currency", serverConversion],
    [{ id: "b 6", goal: "purchase", ...v }, "id", tagConversion],
    [{ id: "b7", goal: "purchase" }, "visitorId", serverConversion],
    [{ id: "b8", goal: "purchase", coupon: "X", ...v }, "", tagConversion],
  ]) {
    const r = await route(body, NOW + HOUR);
    assert.equal(r.status, 400, JSON.stringify(body));
    assert.equal(r.json.error.field, field, JSON.stringify(r.json));
  }
  const other = await admin(w.base, "GET", `demo/report?from=${TO}&to=${FROM}`);
  assert.equal(other.status, 400);
  assert.equal((await fetch(`${w.base}/v1/admin/accounts/demo/conversions`, { method: "POST", body: "{}" })).status, 401);
  await sleep(1500);
  assert.deepEqual(conversionCounts(await report()), before, "nothing stored");
});

test("R-M5 erasing a visitor removes its visit, history and conversions, and a late message stores nothing", async () => {
  const v = visitors.find((x) => x.accepted && x.conversions.some((c) => c.currency === "GBP"));
  assert.ok(v);
  assert.equal((await admin(w.base, "GET", `demo/visits/${v.visit}`)).status, 200);
  const before = await report();
  const erased = await admin(w.base, "DELETE", `demo/visitors/${v.id}`, undefined, clock(NOW + 2 * DAYMS));
  assert.equal(erased.status, 200, erased.text);
  assert.equal(erased.json.visits, 1);
  assert.equal(erased.json.conversions, v.conversions.length);
  assert.equal((await admin(w.base, "GET", `demo/visits/${v.visit}`)).status, 404, "the visit object is empty");
  // A conversion written before the erasure but delivered after: not stored.
  assert.equal((await tagConversion({ id: "pre-erasure", goal: "purchase", visitorId: v.id }, NOW + DAYMS)).status, 202);
  await sleep(2500);
  const after = await report();
  const total = (rep) => rep.rows.filter((r) => r.metric === "conversions").reduce((a, r) => a + r.n, 0);
  assert.equal(total(after), total(before) - v.conversions.length);
  const exposedN = (rep) => rep.comparisons.find((c) => c.campaign === "" && c.metric === "conversion_rate").exposed.visitors;
  assert.equal(exposedN(after), exposedN(before) - 1, "out of the exposed arm");
  // A new visit after the erasure counts again.
  assert.equal((await tagConversion({ id: "post-erasure", goal: "purchase", visitorId: v.id }, NOW + 3 * DAYMS)).status, 202);
  for (let i = 0; i < 40 && total(await report()) === total(after); i++) await sleep(250);
  assert.equal(total(await report()), total(after) + 1);
});

test("R-M5 a campaign's measurements are deleted only after it has left the live snapshot", async () => {
  const still = await admin(w.base, "DELETE", "demo/campaigns/c-uk-promo/measurements");
  assert.equal(still.status, 409);
  assert.equal(still.json.error.code, "still_published");
  const rows = (rep) => rep.rows.filter((r) => r.campaign === "c-uk-promo").length;
  assert.ok(rows(await report()) > 0, "the campaign was measured");
  const without = structuredClone(snapshot);
  without.campaigns = without.campaigns.filter((c) => c.id !== "c-uk-promo");
  assert.equal((await admin(w.base, "PUT", "demo/snapshot", without, { "If-Match": "*" })).status, 200);
  const gone = await admin(w.base, "DELETE", "demo/campaigns/c-uk-promo/measurements");
  assert.equal(gone.status, 200, gone.text);
  assert.ok(gone.json.rollupRows > 0 && gone.json.historyRows > 0, gone.text);
  assert.equal(rows(await report()), 0);
});
