// Visits in Durable Objects over HTTP: exact proactive caps under concurrency (R-D6), declines
// and invite-after-decline policies (R-D7), idempotent events (R-D9), sticky draws and
// control groups across visits (R-D4, R-D5), idle timeout, issued ids, and bad input.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, admin, decide, fixture, TOKEN, testClock } from "./harness.mjs";

const demo = JSON.parse(fixture("demo/snapshot.json"));
const online = JSON.parse(fixture("decisions.json")).availability.allOnline;
const NOW = "2026-11-23T10:00:00Z";
const SHOP = "https://www.demo-outfitters.example/shop/boots";
let w;

async function publish(doc, account = "demo") {
  const r = await admin(w.base, "PUT", `${account}/snapshot`, doc, { "If-Match": "*" });
  assert.equal(r.status, 200, r.text);
}

function withDemo(edit) {
  const doc = structuredClone(demo);
  edit(doc);
  return doc;
}

const ask = (visitId, pageId, extra = {}, opts = {}) =>
  decide(w.base, { account: "demo", visitorId: "visitor-0001", visitId, page: { url: SHOP, id: pageId }, ...extra },
    { now: NOW, country: "GB", ...opts });

/** Events of visits decided at `NOW` (`ask`), sent at `NOW`. */
async function events(body, contentType = "application/json") {
  const r = await fetch(`${w.base}/v1/events`, { method: "POST", headers: { "Content-Type": contentType, ...testClock(NOW) }, body: typeof body === "string" ? body : JSON.stringify(body) });
  const text = await r.text();
  return { status: r.status, json: text ? JSON.parse(text) : undefined, text };
}

async function visitState(visitId) {
  const r = await admin(w.base, "GET", `demo/visits/${visitId}`);
  return r.status === 200 ? r.json.visit : null;
}

before(async () => {
  w = await startWorker();
  await admin(w.base, "PUT", "demo/snapshot", demo, { "If-Match": "0" });
  await admin(w.base, "PUT", "demo/availability", { skills: online });
});
after(async () => { await w?.stop(); });

for (const cap of [1, 2]) {
  test(`R-D6 200 concurrent decisions for one visit with a conversation cap of ${cap} show the invite exactly ${cap} time(s)`, async () => {
    await publish(withDemo((d) => { d.account.proactiveCaps = { conversation: cap }; }));
    const visit = `cap-${cap}-visit`;
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => ask(visit, `page-${i}`, { zones: ["proactive"] })));
    assert.ok(results.every((r) => r.status === 200), results.find((r) => r.status !== 200)?.text);
    const invites = results.flatMap((r) => r.json.engagements).filter((e) => e.proactive && e.channel === "chat");
    assert.equal(invites.length, cap);
    const content = results.flatMap((r) => r.json.engagements).filter((e) => e.channel === "banner");
    assert.equal(content.length, 200 - cap, "content keeps showing: its cap is unlimited");
    const state = await visitState(visit);
    assert.equal(state.proactiveDisplays.conversation, cap);
  });
}

// Seed 002: one total across every proactive engagement. The 200 requests of one fresh visit
// come from three pages, each with one kind of proactive candidate: a chat overlay (shop), a
// content peel (product page) and a proactive click-to-call toaster (help), so whichever
// request the object takes first decides the kind; the cap must hold across all of them.
const PAGES = [SHOP, "https://www.demo-outfitters.example/p/trail-boot-42", "https://www.demo-outfitters.example/help"];
const mixed = (caps) => withDemo((d) => {
  d.account.proactiveCaps = caps;
  const engagement = (id) => d.campaigns.flatMap((c) => c.engagements).find((e) => e.id === id);
  const call = engagement("e-callback");
  call.format = "toaster";
  call.entryPoint = "ep-help";
  delete call.embeddedDivId;
  engagement("e-uk-peel").entryPoint = "ep-product";
});
const proactiveKind = (e) => (e.proactive ? e.channel : null);
const burst = (visit) => Promise.all(Array.from({ length: 200 }, (_, i) =>
  decide(w.base, { account: "demo", visitorId: "visitor-0001", visitId: visit, page: { url: PAGES[i % 3], id: `page-${i}` }, zones: ["proactive"] },
    { now: NOW, country: "GB" })));

test("R-D6 R-C1 200 concurrent decisions for one visit mixing chat, content and click-to-call invites: a total cap of 1 shows exactly one", async () => {
  await publish(mixed({}));
  const free = await burst("total-uncapped-visit");
  const kinds = new Set(free.flatMap((r) => r.json.engagements).map(proactiveKind).filter(Boolean));
  assert.deepEqual([...kinds].sort(), ["banner", "chat", "clickToCall"], "without a cap every kind is a candidate");

  await publish(mixed({ total: 1 }));
  const results = await burst("total-cap-visit");
  assert.ok(results.every((r) => r.status === 200), results.find((r) => r.status !== 200)?.text);
  const shown = results.flatMap((r) => r.json.engagements).filter((e) => e.proactive);
  assert.equal(shown.length, 1, JSON.stringify(shown.map((e) => e.engagementId)));
  const state = await visitState("total-cap-visit");
  assert.equal(state.proactiveDisplays.conversation + state.proactiveDisplays.content, 1);
});

test("R-D6 a snapshot with a total cap and separate caps is refused and the previous one stays live", async () => {
  await publish(mixed({ total: 2 }));
  const live = async () => (await admin(w.base, "GET", "demo/snapshot")).headers.get("etag");
  const before = await live();
  const r = await admin(w.base, "PUT", "demo/snapshot", mixed({ total: 1, content: 1 }), { "If-Match": "*" });
  assert.equal(r.status, 422, r.text);
  assert.ok(r.json.error.problems.some((p) => p.path === "account.proactiveCaps"), r.text);
  assert.equal(await live(), before);
  const doc = await admin(w.base, "GET", "demo/snapshot");
  assert.deepEqual(doc.json.account.proactiveCaps, { total: 2 });
});

test("R-D9 2,000 events in 40 concurrent batches leave the counters exact; a replay changes nothing", async () => {
  await publish(demo);
  const visit = "events-visit";
  const contexts = [];
  for (let i = 0; i < 150; i++) {
    const r = await ask(visit, `ev-page-${i}`, { zones: ["left", "right"] });
    for (const e of r.json.engagements) contexts.push(e);
  }
  assert.equal(contexts.length, 300);
  const names = ["START", "OFFER_DISPLAY", "OFFER_IMPRESSION", "OFFER_CLICK", "OFFER_TIMEOUT", "OFFER_DECLINED", "OFFER_REMOVE"];
  const all = contexts.flatMap((c) => names.map((event) => ({ event, contextId: c.contextId, engagementId: c.engagementId }))).slice(0, 2000);
  const expected = {};
  for (const e of all) expected[e.event] = (expected[e.event] ?? 0) + 1;
  // All at once, in batches of 50 (lpTag's beacons carry several): R-S3 allows a visit 100
  // requests per 10 s, and both sends together make 80.
  const send = async (list) => {
    const tallies = { applied: 0, duplicates: 0 };
    const batches = Array.from({ length: Math.ceil(list.length / 50) }, (_, i) => list.slice(i * 50, i * 50 + 50));
    await Promise.all(batches.map(async (batch) => {
      const r = await events({ account: "demo", visitId: visit, events: batch }, "text/plain");
      assert.equal(r.status, 200, r.text);
      tallies.applied += r.json.applied;
      tallies.duplicates += r.json.duplicates;
    }));
    return tallies;
  };
  assert.deepEqual(await send(all), { applied: 2000, duplicates: 0 });
  const state = await visitState(visit);
  assert.deepEqual(state.events, expected);
  assert.deepEqual(await send(all), { applied: 0, duplicates: 2000 });
  assert.deepEqual((await visitState(visit)).events, expected);
});

async function declineInvite(visit) {
  const first = await ask(visit, "p1", { zones: ["proactive"] });
  const invite = first.json.engagements.find((e) => e.engagementId === "e-sales-overlay");
  assert.ok(invite, JSON.stringify(first.json));
  const r = await events({ account: "demo", visitId: visit, events: [{ event: "OFFER_DECLINED", contextId: invite.contextId, engagementId: invite.engagementId }] });
  assert.equal(r.status, 200, r.text);
  return invite;
}

const checkout = { page: { url: "https://www.demo-outfitters.example/shop/checkout/cart", id: "p2" }, zones: ["proactive"], attributes: { cartValue: 150 } };

test("R-D7 a declined invite blocks other conversation invites of its line of business; content still shows", async () => {
  await publish(withDemo((d) => { d.account.proactiveCaps = {}; })); // declines only, no cap in the way
  await declineInvite("decline-default");
  const r = await ask("decline-default", "p2", checkout);
  assert.deepEqual(r.json.engagements.map((e) => e.engagementId), ["e-uk-peel"]);
  const back = await ask("decline-default", "p3", { zones: ["proactive"] });
  assert.deepEqual(back.json.engagements.map((e) => e.engagementId), ["e-uk-peel"], "closed engagement not shown again");
});

test("R-D7 the account can allow conversation invites after a decline", async () => {
  await publish(withDemo((d) => { d.account.inviteAfterDecline.conversation = true; }));
  await declineInvite("decline-lenient");
  const r = await ask("decline-lenient", "p2", checkout);
  assert.deepEqual(r.json.engagements.map((e) => e.engagementId), ["e-cart-toaster"]);
});

test("R-D7 an invite of a different line of business is allowed when so configured, not otherwise", async () => {
  const otherLob = (allow) => withDemo((d) => {
    d.campaigns.find((c) => c.id === "c-cart-rescue").lineOfBusiness = "retention";
    d.account.inviteAfterDecline.otherLineOfBusiness = allow;
  });
  await publish(otherLob(true));
  await declineInvite("decline-lob-on");
  assert.deepEqual((await ask("decline-lob-on", "p2", checkout)).json.engagements.map((e) => e.engagementId), ["e-cart-toaster"]);
  await publish(otherLob(false));
  await declineInvite("decline-lob-off");
  assert.deepEqual((await ask("decline-lob-off", "p2", checkout)).json.engagements.map((e) => e.engagementId), ["e-uk-peel"]);
});

test("R-D6 a visit idle past its timeout starts fresh", async () => {
  await publish(withDemo((d) => { d.account.proactiveCaps = { conversation: 1 }; }));
  const at = (t) => ({ now: t, country: "GB" });
  const invite = (r) => r.json.engagements.some((e) => e.engagementId === "e-sales-overlay");
  const body = (page) => ({ account: "demo", visitorId: "visitor-0001", visitId: "idle-visit", page: { url: SHOP, id: page }, zones: ["proactive"] });
  assert.ok(invite(await decide(w.base, body("a"), at("2026-11-23T10:00:00Z"))));
  assert.ok(!invite(await decide(w.base, body("b"), at("2026-11-23T10:29:00Z"))), "capped within the visit");
  assert.ok(!invite(await decide(w.base, body("c"), at("2026-11-23T10:58:00Z"))), "29 idle minutes: same visit");
  assert.ok(invite(await decide(w.base, body("d"), at("2026-11-23T11:29:00Z"))), "31 idle minutes: a new visit");
});

test("R-D4 R-D5 over 2,000 visits: the 70/20/10 draw and a 10% account control group, sticky per visit", async () => {
  const banner = (id, priority) => ({ id, name: id, status: "published", priority, controlGroupPercent: 0, timeFrame: { start: "2026-01-01T00:00" },
    engagements: [{ id: `e-${id}`, revision: 1, name: id, source: "web", format: "toaster", channel: "banner", entryPoint: "all", window: { id: "w" } }] });
  const doc = { schemaVersion: 1, account: { id: "draws", timeZone: "UTC", controlGroupPercent: 10, defaultOfflineSurveyUrl: "https://draws.example/s" },
    entryPoints: [{ id: "all" }], campaigns: [banner("hi", "high"), banner("mid", "medium"), banner("lo", "low")] };
  assert.equal((await admin(w.base, "PUT", "draws/snapshot", doc, { "If-Match": "0" })).status, 200);
  const N = 2000;
  const counts = { "e-hi": 0, "e-mid": 0, "e-lo": 0, control: 0 };
  let next = 0;
  await Promise.all(Array.from({ length: 20 }, async () => {
    while (next < N) {
      const i = next++;
      const body = { account: "draws", visitorId: `draw-visitor-${i}`, visitId: `draw-visit-${i}`, page: { url: "https://draws.example/" }, zones: ["proactive"] };
      const r = await decide(w.base, body);
      assert.equal(r.status, 200, r.text);
      if (r.json.controlGroups.account) counts.control++;
      else counts[r.json.engagements[0].engagementId]++;
      if (i % 100 === 0) {
        const again = await decide(w.base, body);
        assert.deepEqual(again.json.engagements.map((e) => e.engagementId), r.json.engagements.map((e) => e.engagementId));
      }
    }
  }));
  const exposed = N - counts.control;
  // Tolerances are about five standard deviations of a fair draw at these sample sizes.
  assert.ok(Math.abs(counts.control / N - 0.10) < 0.034, `control ${counts.control}`);
  assert.ok(Math.abs(counts["e-hi"] / exposed - 0.70) < 0.054, `high ${counts["e-hi"]}/${exposed}`);
  assert.ok(Math.abs(counts["e-mid"] / exposed - 0.20) < 0.047, `medium ${counts["e-mid"]}/${exposed}`);
  assert.ok(Math.abs(counts["e-lo"] / exposed - 0.10) < 0.035, `low ${counts["e-lo"]}/${exposed}`);
});

test("R-D4 ids are issued when the tag sends none, returned and set as cookies", async () => {
  await publish(demo);
  const r = await decide(w.base, { account: "demo", page: { url: SHOP } }, { country: "GB" });
  assert.equal(r.status, 200, r.text);
  assert.match(r.json.visitorId, /^[0-9a-f]{32}$/);
  assert.match(r.json.visitId, /^[0-9a-f]{32}$/);
  const cookies = r.headers.getSetCookie();
  assert.ok(cookies.some((c) => c.startsWith(`ee_vid=${r.json.visitorId};`)));
  assert.ok(cookies.some((c) => c.startsWith(`ee_sid=${r.json.visitId};`) && c.includes("Max-Age=1800")));
  const again = await fetch(`${w.base}/v1/decide`, { method: "POST", headers: { "Content-Type": "application/json", "CF-IPCountry": "GB", Cookie: `ee_vid=${r.json.visitorId}; ee_sid=${r.json.visitId}` }, body: JSON.stringify({ account: "demo", page: { url: SHOP } }) });
  const body = await again.json();
  assert.equal(body.visitorId, r.json.visitorId);
  assert.equal(body.visitId, r.json.visitId);
  assert.equal(again.headers.getSetCookie().length, 0);
});

test("R-D9 bad events are a 400 and leave the visit unchanged", async () => {
  await publish(demo);
  const visit = "bad-events-visit";
  const r = await ask(visit, "p1", { zones: ["left"] });
  const ctx = r.json.engagements[0];
  const before = await visitState(visit);
  const bad = [
    [{ account: "demo", visitId: visit, event: "OFFER_CLOSED", contextId: ctx.contextId }, "application/json"],
    [{ account: "demo", visitId: visit, event: "offer_click", contextId: ctx.contextId }, "application/json"],
    [{ account: "demo", visitId: visit, event: "OFFER_CLICK", contextId: "never-issued" }, "application/json"],
    [{ account: "demo", visitId: visit, event: "OFFER_CLICK", contextId: ctx.contextId, engagementId: "e-uk-peel" }, "application/json"],
    [{ account: "demo", visitId: visit, event: "OFFER_CLICK", contextId: ctx.contextId, engagementId: "e-not-in-snapshot" }, "application/json"],
    [{ account: "demo", visitId: visit, events: [{ event: "OFFER_CLICK", contextId: ctx.contextId }, { event: "NOPE", contextId: ctx.contextId }] }, "application/json"],
    [{ account: "demo", visitId: visit, events: [{ event: "OFFER_CLICK", contextId: ctx.contextId }, { event: "OFFER_DECLINED", contextId: "forged" }] }, "application/json"],
    [{ account: "demo", visitId: "../x", event: "OFFER_CLICK", contextId: ctx.contextId }, "application/json"],
    [{ account: "demo", visitId: visit, events: [] }, "application/json"],
    [{ account: "demo", visitId: visit, event: "OFFER_CLICK" }, "application/json"],
    ["OFFER_CLICK " + ctx.contextId, "text/plain"],
    ["{\"account\":\"demo\",", "text/plain"],
    [{ account: "demo", visitId: visit, events: Array.from({ length: 101 }, () => ({ event: "START", contextId: ctx.contextId })) }, "application/json"],
  ];
  for (const [body, type] of bad) {
    const res = await events(body, type);
    assert.equal(res.status, 400, `${JSON.stringify(body).slice(0, 100)} -> ${res.status} ${res.text}`);
    assert.ok(res.json.error.message.length > 0);
  }
  const unknown = await events({ account: "nobody", visitId: visit, event: "START", contextId: ctx.contextId });
  assert.equal(unknown.status, 404);
  assert.deepEqual(await visitState(visit), before);
});

// Seed 004: the payload lpTag hands to events.bind, sent as it is (by sendBeacon, text/plain).
function lpTagPayload(decision, e, eventName) {
  return {
    account: "demo", visitId: decision.visitId, eventName, appName: "LP_OFFERS",
    contexts: [{ EngagementContext: { id: e.contextId } }, { pageContext: { id: decision.pageContextId } }],
    campaignId: e.campaignId, engagementId: e.engagementId, engagementRevision: e.engagementRevision,
    engagementType: e.engagementType, zoneId: e.zoneId, state: e.state, confKey: e.confKey,
    tglName: e.tglName ?? "overlay", done: true, engagementName: e.engagementName, addedByAFutureTag: { x: 1 },
  };
}

test("R-D9 lpTag's event payload is taken as it is; a claim that disagrees with the issued context is a 400 naming it and changes nothing", async () => {
  await publish(withDemo((d) => { d.account.proactiveCaps = {}; }));
  const visit = "lptag-events-visit";
  const first = await ask(visit, "p1", { zones: ["proactive", "right"] });
  assert.match(first.json.pageContextId, /^[0-9a-f]{32}$/, "decisions issue a page context id");
  const same = await ask(visit, "p1", { zones: ["proactive", "right"] });
  assert.equal(same.json.pageContextId, first.json.pageContextId, "one page view, one page context");
  const invite = first.json.engagements.find((e) => e.engagementId === "e-sales-overlay");
  assert.ok(invite, first.text);
  const before = await visitState(visit);
  const wrong = [
    ["engagementId", (p) => { p.engagementId = "e-sales-sticky"; }],
    ["campaignId", (p) => { p.campaignId = "c-support"; }],
    ["engagementRevision", (p) => { p.engagementRevision = invite.engagementRevision + 1; }],
    ["zoneId", (p) => { p.zoneId = "right"; }],
    ["confKey", (p) => { p.confKey = "c-sales-chat_e-sales-overlay_99"; }],
    ["contexts", (p) => { p.contexts[1].pageContext.id = "0".repeat(32); }],
    ["engagementRevision", (p) => { p.engagementRevision = "3"; }],
    ["appName", (p) => { p.appName = "lp_sdes"; }],
  ];
  for (const [field, edit] of wrong) {
    const body = lpTagPayload(first.json, invite, "OFFER_CLICK");
    edit(body);
    const r = await events(JSON.stringify(body), "text/plain;charset=UTF-8");
    assert.equal(r.status, 400, `${field}: ${r.text}`);
    assert.equal(r.json.error.field, field, r.text);
  }
  assert.deepEqual(await visitState(visit), before, "refused events changed nothing");
  const ok = await events(JSON.stringify(lpTagPayload(first.json, invite, "OFFER_CLICK")), "text/plain;charset=UTF-8");
  assert.equal(ok.status, 200, ok.text);
  assert.equal(ok.json.applied, 1);
  const again = await events({ account: "demo", visitId: visit, events: [lpTagPayload(first.json, invite, "OFFER_CLICK")] });
  assert.equal(again.json?.duplicates, 1, `idempotent per (context, event): ${again.text}`);
  const after = await visitState(visit);
  assert.deepEqual(after.accepted, ["e-sales-overlay"]);
  assert.equal(after.events.OFFER_CLICK, 1);
});

test("R-D4 bad or missing ids in decisions are a 400 and create no visit", async () => {
  for (const visitId of ["", "a b", "x".repeat(65), "../etc"]) {
    const r = await decide(w.base, { account: "demo", visitorId: "v", visitId, page: { url: SHOP } });
    assert.equal(r.status, 400, r.text);
  }
  const read = await admin(w.base, "GET", "demo/visits/never-made");
  assert.equal(read.status, 404);
  const unauth = await fetch(`${w.base}/v1/admin/accounts/demo/visits/events-visit`);
  assert.equal(unauth.status, 401);
});

// A tag that carries the visit's closed engagements (tag 1.1, `declined`) gets a page
// without proactive candidates decided without waiting for the visit's object; the visit
// records the decision after the answer.
const buttons = ["left", "right"];
const fault = (name) => ({ headers: { "X-Test-Fault": name, "X-Test-Root": TOKEN } });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

test("R-D7 R-D9 a page without proactive candidates, with the tag's declines, is answered before its visit records it; its events wait for the record", async () => {
  await publish(demo);
  const visit = "carried-visit";
  const first = await ask(visit, "p1", { zones: buttons, declined: [] });
  assert.equal(first.status, 200, first.text);
  const sticky = first.json.engagements.find((e) => e.engagementId === "e-sales-sticky");
  assert.ok(sticky, JSON.stringify(first.json));
  const closed = await events({ account: "demo", visitId: visit, events: [{ event: "OFFER_DECLINED", contextId: sticky.contextId, engagementId: sticky.engagementId }] });
  assert.equal(closed.status, 200, closed.text);
  assert.equal(closed.json.applied, 1);

  // The record of the next page lands 400 ms after the answer (`record-late`).
  const second = await ask(visit, "p2", { zones: buttons, declined: [sticky.engagementId] }, fault("record-late"));
  assert.equal(second.status, 200, second.text);
  assert.equal(second.json.degraded, undefined);
  assert.ok(!second.json.engagements.some((e) => e.engagementId === sticky.engagementId), "R-D7: the closed engagement stays away");
  const shown = second.json.engagements[0];
  assert.ok(shown, JSON.stringify(second.json));
  assert.equal((await visitState(visit)).pageId, "p1", "the answer did not wait for the visit");
  const seen = await events({ account: "demo", visitId: visit, events: [{ event: "OFFER_IMPRESSION", contextId: shown.contextId, engagementId: shown.engagementId, contexts: [{ pageContext: { id: second.json.pageContextId } }] }] });
  assert.equal(seen.status, 200, seen.text);
  assert.equal(seen.json.applied, 1, "R-D9: the event waited for the record and found its context");
  const state = await visitState(visit);
  assert.equal(state.pageId, "p2");
  assert.equal(state.held[shown.zoneId].contextId, shown.contextId, "R-D4: the page holds its zone");
  assert.deepEqual(state.declined, [sticky.engagementId]);
  assert.equal(state.pages.length, 2);
});

test("R-D6 the visit is asked whenever its state can change the answer: a proactive candidate in play, or no declines carried", async () => {
  await publish(demo);
  // The visit's object throws (`visit`): an answer that needed it is degraded.
  const asked = async (visit, extra) => (await ask(visit, "p1", extra, fault("visit"))).json;
  const alone = await asked("asked-1", { zones: buttons, declined: [] });
  assert.equal(alone.degraded, undefined, "buttons only, declines carried: the object was not asked");
  assert.ok(alone.engagements.length > 0);
  assert.equal((await asked("asked-2", { zones: [...buttons, "proactive"], declined: [] })).degraded, "visit_unavailable", "a proactive candidate in play");
  assert.equal((await asked("asked-3", { zones: buttons })).degraded, "visit_unavailable", "a tag that carries no declines");
});

test("R-D9 a record that fails is sent again and counts its contexts once", async () => {
  await publish(demo);
  for (const [visit, name] of [["record-refused", "record-refused-once"], ["record-lost-answer", "record-answer-lost"]]) {
    const r = await ask(visit, "p1", { zones: buttons, declined: [] }, fault(name));
    assert.equal(r.status, 200, r.text);
    await sleep(1500); // every attempt done (the last 400 ms after the first)
    const state = await visitState(visit);
    assert.ok(state, `${name}: the retry recorded the page`);
    assert.ok(r.json.engagements.length > 0, JSON.stringify(r.json));
    assert.equal(state.contextsIssued, r.json.engagements.length, `${name}: each context counted once`);
    assert.equal(state.pageContextId, r.json.pageContextId);
  }
});
