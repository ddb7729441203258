// R-C1 and R-C2 over HTTP: click-to-call shown by the usual rules and never availability
// checked; the click hands a signed token to the brand's page; the brand's APIs refuse
// tampered, foreign and expired tokens and answer for 6 hours.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, admin, decide, fixture, createKey, TOKEN, testClock } from "./harness.mjs";

const SHOP = "https://www.demo-outfitters.example/shop/boots";
let w;
let brandKey;

before(async () => {
  w = await startWorker();
  await admin(w.base, "PUT", "demo/snapshot", fixture("demo/snapshot.json"), { "If-Match": "0" });
  await admin(w.base, "PUT", "demo/availability", { skills: {} });
  // R-S1: the brand's server holds a key of its account with the `calls` scope.
  brandKey = await createKey(w.base, "demo", ["calls"]);
});
after(async () => { await w?.stop(); });

async function clickFor(visitId, now = "2026-11-23T10:00:00Z") {
  const d = await decide(w.base, { account: "demo", visitorId: "visitor-0001", visitId, page: { url: SHOP }, zones: ["embedded:call-me"], attributes: { cartValue: 42 } }, { now, country: "GB" });
  const e = d.json.engagements[0];
  const r = await fetch(`${w.base}${e.clickUrl}`, { redirect: "manual", headers: testClock(now) });
  return { engagement: e, status: r.status, location: r.headers.get("location") };
}

async function brand(op, body, { now = "2026-11-23T10:00:00Z", key = brandKey, account = "demo" } = {}) {
  const r = await fetch(`${w.base}/v1/click-to-call/${account}/${op}`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${key}`, "X-Test-Now": now },
    body: JSON.stringify(body),
  });
  return { status: r.status, json: await r.json() };
}

test("R-C1 click-to-call is a content engagement shown with no agent online, with a click URL", async () => {
  const { engagement, status, location } = await clickFor("ctc-visit-1");
  assert.equal(engagement.engagementId, "e-callback");
  assert.equal(engagement.channel, "clickToCall");
  assert.equal(engagement.state, 1);
  assert.equal(engagement.conversationType, undefined);
  assert.match(engagement.clickUrl, /^\/c\/demo\/e-callback\?visitId=ctc-visit-1&contextId=[0-9a-f]{32}$/);
  assert.equal(status, 302);
  const dest = new URL(location);
  assert.equal(`${dest.origin}${dest.pathname}`, "https://www.demo-outfitters.example/call");
  assert.match(dest.searchParams.get("ee_ctc_token"), /^[0-9a-f]+\.[0-9a-f]{64}$/);
});

test("R-C2 the brand validates the token, reads the visit and reports statuses", async () => {
  const { location } = await clickFor("ctc-visit-2");
  const token = new URL(location).searchParams.get("ee_ctc_token");
  const v = await brand("validate", { token });
  assert.equal(v.status, 200);
  assert.equal(v.json.visitId, "ctc-visit-2");
  assert.equal(v.json.engagementId, "e-callback");
  const info = await brand("visit", { token });
  assert.equal(info.status, 200);
  assert.deepEqual(info.json.call.visit.pages, [SHOP]);
  assert.equal(info.json.call.visit.attributes.cartValue, 42);
  assert.equal(info.json.call.visit.attributes.country, "GB");
  assert.ok(info.json.call.visit.accepted.includes("e-callback"));
  for (const [status, at] of [["queued", "10:01"], ["connected", "10:02"], ["ended", "10:30"]]) {
    const r = await brand("status", { token, status }, { now: `2026-11-23T${at}:00Z` });
    assert.equal(r.status, 200, JSON.stringify(r.json));
  }
  const after = await brand("visit", { token }, { now: "2026-11-23T16:29:00Z" });
  assert.deepEqual(after.json.call.statuses.map((s) => s.status), ["queued", "connected", "ended"]);
  // 6 hours after the brand closed the call (10:30), the APIs answer 410.
  for (const op of ["validate", "visit"]) {
    const r = await brand(op, { token }, { now: "2026-11-23T16:31:00Z" });
    assert.equal(r.status, 410);
    assert.equal(r.json.error.code, "expired");
  }
  assert.equal((await brand("status", { token, status: "ended" }, { now: "2026-11-23T16:31:00Z" })).status, 410);
});

test("R-C2 the brand reports visitor events for a call: validated, kept once per id, returned by the visit API, refused after the window", async () => {
  const { location } = await clickFor("ctc-visit-events");
  const token = new URL(location).searchParams.get("ee_ctc_token");
  const events = [
    { type: "purchase", id: "order-1001", value: 129.99, currency: "GBP" },
    { type: "lead", id: "lead-7" },
    { type: "attribute", id: "attr-1", name: "plan", value: "gold" },
  ];
  const r = await brand("events", { token, events });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  assert.deepEqual([r.json.applied, r.json.duplicates], [3, 0]);
  const retry = await brand("events", { token, events: events.slice(0, 2) }, { now: "2026-11-23T10:05:00Z" });
  assert.deepEqual([retry.json.applied, retry.json.duplicates], [0, 2], "a retried report changes nothing");
  const info = await brand("visit", { token });
  assert.deepEqual(info.json.call.visitorEvents.map(({ atMs, ...e }) => e), events);
  assert.ok(info.json.call.visitorEvents.every((e) => e.atMs === Date.parse("2026-11-23T10:00:00Z")), "kept at their first report");
  const bad = [
    [{ type: "purchase", id: "o-2", value: 10, currency: "gbp" }, "events[0].currency"],
    [{ type: "purchase", id: "o-2", value: -5, currency: "GBP" }, "events[0].value"],
    [{ type: "purchase", id: "o-2", value: "10", currency: "GBP" }, "events[0].value"],
    [{ type: "refund", id: "o-2" }, "events[0].type"],
    [{ type: "lead", id: "l-2", value: 5 }, "events[0].value"],
    [{ type: "attribute", id: "a-2", name: "x", value: "y".repeat(300) }, "events[0].value"],
    [{ type: "purchase", id: "o-2", value: 1, currency: "GBP", extra: true }, "events[0]"],
  ];
  for (const [event, field] of bad) {
    const res = await brand("events", { token, events: [event] });
    assert.equal(res.status, 400, `${JSON.stringify(event)} -> ${res.status}`);
    assert.equal(res.json.error.field, field, JSON.stringify(res.json));
  }
  assert.equal((await brand("events", { token, events: [] })).status, 400);
  assert.equal((await brand("status", { token, status: "ended", events })).json.error.field, "events");
  const unchanged = await brand("visit", { token });
  assert.equal(unchanged.json.call.visitorEvents.length, 3, "refused reports changed nothing");
  // Six hours after the click with no status, the window is closed.
  assert.equal((await brand("events", { token, events: [{ type: "lead", id: "late" }] }, { now: "2026-11-23T16:00:01Z" })).status, 410);
});

test("R-C2 with no status reported the window is 6 hours from the click", async () => {
  const { location } = await clickFor("ctc-visit-3");
  const token = new URL(location).searchParams.get("ee_ctc_token");
  assert.equal((await brand("validate", { token }, { now: "2026-11-23T15:59:00Z" })).status, 200);
  assert.equal((await brand("validate", { token }, { now: "2026-11-23T16:00:01Z" })).status, 410);
});

test("R-C2 a token tampered in any byte, for another account, or with a wrong key is refused", async () => {
  const { location } = await clickFor("ctc-visit-4");
  const token = new URL(location).searchParams.get("ee_ctc_token");
  for (let i = 0; i < token.length; i++) {
    const c = token[i];
    const swapped = c === "." ? "0" : c === "0" ? "1" : "0";
    const tampered = token.slice(0, i) + swapped + token.slice(i + 1);
    const r = await brand("validate", { token: tampered });
    assert.equal(r.status, 401, `byte ${i}`);
    assert.equal(r.json.error.code, "invalid_token");
  }
  const upper = await brand("validate", { token: token.toUpperCase() });
  assert.equal(upper.status, 401);
  const otherKey = await createKey(w.base, "other", ["calls"]);
  const other = await brand("validate", { token }, { account: "other", key: otherKey });
  assert.equal(other.status, 403);
  assert.equal(other.json.error.code, "wrong_account");
  assert.equal((await brand("validate", { token }, { key: otherKey })).status, 403, "R-S1: another account's key");
  assert.equal((await brand("validate", { token }, { key: TOKEN })).status, 403, "R-S1: the root token only manages keys");
  const noScope = await createKey(w.base, "demo", ["reports"]);
  assert.equal((await brand("validate", { token }, { key: noScope })).status, 403, "R-S1: a key without the calls scope");
  assert.equal((await brand("status", { token, status: "teleported" })).status, 400);
});

test("R-C2 clicks for displays the visit never had are refused", async () => {
  const { engagement } = await clickFor("ctc-visit-5");
  for (const path of [
    engagement.clickUrl.replace("ctc-visit-5", "someone-else"),
    engagement.clickUrl.replace(/contextId=[0-9a-f]+/, "contextId=forged"),
    engagement.clickUrl.replace("e-callback", "e-uk-peel"),
    "/c/demo/e-callback",
  ]) {
    const r = await fetch(`${w.base}${path}`, { redirect: "manual" });
    assert.equal(r.status, 404, path);
  }
});

test("R-M2 R-M5 a call's purchase is a conversion after engagement of the click-to-call engagement; erasing the visitor ends the call", async () => {
  // The click-to-call campaign judged by purchases; its own day, apart from the tests above.
  const doc = JSON.parse(fixture("demo/snapshot.json"));
  doc.campaigns.find((c) => c.id === "c-callback").goal = "purchase";
  assert.equal((await admin(w.base, "PUT", "demo/snapshot", doc, { "If-Match": "*" })).status, 200);
  const at = (hm) => `2026-11-24T${hm}:00Z`;
  const visitorId = "ctc-buyer";
  const d = await decide(w.base, { account: "demo", visitorId, visitId: "ctc-visit-buy", page: { url: SHOP }, zones: ["embedded:call-me"] },
    { now: at("10:00"), country: "GB" });
  const e = d.json.engagements[0];
  const r = await fetch(`${w.base}${e.clickUrl}`, { redirect: "manual", headers: testClock(at("10:00")) });
  const token = new URL(r.headers.get("location")).searchParams.get("ee_ctc_token");
  const events = [{ type: "purchase", id: "p-1", value: 120.5, currency: "EUR" }, { type: "attribute", id: "a-1", name: "tier", value: "gold" }];
  for (let i = 0; i < 2; i++) { // reported twice: one conversion
    const sent = await brand("events", { token, events }, { now: at("10:20") });
    assert.equal(sent.status, 200, JSON.stringify(sent.json));
  }
  const report = async () => (await admin(w.base, "GET", "demo/report?from=2026-11-24&to=2026-11-24")).json.rows;
  const find = (rows, campaign, engagement, metric) => rows.find((x) => x.campaign === campaign && x.engagement === engagement && x.metric === metric);
  let rows;
  for (let i = 0; i < 60; i++) {
    rows = await report();
    if (find(rows, "c-callback", "e-callback", "conversions_engaged")) break;
    await new Promise((res) => setTimeout(res, 250));
  }
  const conv = JSON.stringify(rows.filter((x) => x.metric.startsWith("conv") || x.metric.startsWith("rev")));
  assert.equal(find(rows, "", "", "conversions")?.n, 1, conv);
  assert.equal(find(rows, "c-callback", "e-callback", "conversions_engaged")?.n, 1, conv);
  assert.equal(find(rows, "c-callback", "e-callback", "revenue_engaged")?.value, 120.5, conv);
  assert.equal(find(rows, "c-callback", "e-callback", "accepted")?.n, 1, "the call's click accepted the engagement");
  // R-M5: erasing the visitor empties the call's object: the brand API no longer answers.
  const erased = await admin(w.base, "DELETE", `demo/visitors/${visitorId}`, undefined, testClock(at("10:30")));
  assert.equal(erased.status, 200, erased.text);
  assert.equal(erased.json.calls, 1);
  assert.equal(erased.json.conversions, 1);
  assert.equal((await brand("visit", { token }, { now: at("10:31") })).status, 410);
});
