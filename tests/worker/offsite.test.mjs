// R-O1..R-O5 over HTTP: every vector of fixtures/offsite.json against the real worker, click
// counts per engagement and outcome, and a table of hostile links that must never redirect
// outside the published snapshot or fail with a 5xx.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, admin, publishDemo, fixture, keyFor, someAddress, testClock } from "./harness.mjs";

const vectors = JSON.parse(fixture("offsite.json"));
const snapshot = JSON.parse(fixture("demo/snapshot.json"));
const D = "https://www.demo-outfitters.example";
let w;

before(async () => {
  w = await startWorker();
  await publishDemo(w.base, "0");
});
after(async () => { await w?.stop(); });

async function click(path, { now, country = "GB", visitorId = "visitor-0001", method = "GET", fault } = {}) {
  // Each click from its own address, as people's are (R-S3 limits links per address).
  const headers = { "CF-IPCountry": country, Cookie: `ee_vid=${visitorId}`, "CF-Connecting-IP": someAddress() };
  Object.assign(headers, testClock(now), fault ? { "X-Test-Fault": fault } : {});
  const r = await fetch(`${w.base}${path}`, { method, headers, redirect: "manual" });
  return { status: r.status, location: r.headers.get("location"), headers: r.headers, body: await r.text() };
}

for (const c of vectors.cases) {
  test(`${c.rules.join(" ")}: ${c.name}`, async () => {
    const a = await admin(w.base, "PUT", "demo/availability", { skills: vectors.availability[c.availability] });
    assert.equal(a.status, 200, a.text);
    const r = await click(c.link, { now: c.now, country: c.country, visitorId: c.visitorId });
    assert.equal(r.status, 302, r.body);
    assert.equal(r.headers.get("cache-control"), "no-store");
    assert.equal(r.headers.get("x-edge-outcome"), c.expect.outcome);
    const loc = new URL(r.location);
    const query = Object.fromEntries(loc.searchParams);
    for (const fresh of ["ee_visit", "ee_context"].filter((k) => query[k])) {
      assert.match(query[fresh], /^[0-9a-f]{32}$/);
      query[fresh] = "*";
    }
    assert.equal(`${loc.origin}${loc.pathname}`, c.expect.url);
    assert.deepEqual(query, c.expect.query);
    assert.equal(loc.hash ? loc.hash.slice(1) : null, c.expect.fragment);
  });
}

test("R-O1 the same link survives a new snapshot revision", async () => {
  await admin(w.base, "PUT", "demo/availability", { skills: vectors.availability.allOnline });
  const rev = await publishDemo(w.base, "*");
  assert.ok(rev >= 2);
  const r = await click("/o/demo/e-offsite-email", { now: "2026-11-23T10:00:00Z" });
  assert.equal(r.headers.get("x-edge-outcome"), "eligible");
  assert.equal(new URL(r.location).searchParams.get("ee_revision"), "2");
});

test("R-O4 re-enabling an engagement restores the landing page", async () => {
  const doc = structuredClone(snapshot);
  doc.campaigns.find((c) => c.id === "c-offsite").engagements.find((e) => e.id === "e-offsite-email").enabled = false;
  assert.equal((await admin(w.base, "PUT", "demo/snapshot", doc, { "If-Match": "*" })).status, 200);
  const off = await click("/o/demo/e-offsite-email", { now: "2026-11-23T10:00:00Z" });
  assert.equal(off.location, `${D}/contact`);
  await publishDemo(w.base, "*");
  const on = await click("/o/demo/e-offsite-email", { now: "2026-11-23T10:00:00Z" });
  assert.equal(on.headers.get("x-edge-outcome"), "eligible");
});

test("R-O1 clicks are counted per engagement and outcome, exactly, readable by the admin", async () => {
  // Counts reach the account within the isolate's 2-second gathering window.
  await new Promise((r) => setTimeout(r, 2500));
  const before = (await admin(w.base, "GET", "demo/clicks")).json.clicks["e-offsite-qr"] ?? {};
  await admin(w.base, "PUT", "demo/availability", { skills: vectors.availability.allOnline });
  await Promise.all(Array.from({ length: 40 }, () => click("/o/demo/e-offsite-qr", { now: "2026-11-23T10:00:00Z" })));
  await Promise.all(Array.from({ length: 10 }, () => click("/o/demo/e-offsite-qr", { now: "2026-11-23T10:00:00Z", country: "FR" })));
  const want = { eligible: (before.eligible ?? 0) + 40, not_in_audience: (before.not_in_audience ?? 0) + 10 };
  let got;
  for (let i = 0; i < 100; i++) {
    got = (await admin(w.base, "GET", "demo/clicks")).json.clicks["e-offsite-qr"];
    if (got?.eligible === want.eligible && got?.not_in_audience === want.not_in_audience) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(got.eligible, want.eligible);
  assert.equal(got.not_in_audience, want.not_in_audience);
});

test("R-O1 clicks added by isolates on different click shards are summed, exactly, in the admin's totals", async () => {
  await new Promise((r) => setTimeout(r, 2500));
  const totals = async () => (await admin(w.base, "GET", "demo/clicks")).json.clicks["e-offsite-qr"] ?? {};
  const before = (await totals()).eligible ?? 0;
  await admin(w.base, "PUT", "demo/availability", { skills: vectors.availability.allOnline });
  // `click-shard-N` adds the click to shard N, as an isolate that drew N would.
  const now = "2026-11-23T10:00:00Z";
  const sent = [[12, "click-shard-1"], [7, "click-shard-6"], [5, undefined]];
  for (const [n, fault] of sent) {
    const r = await Promise.all(Array.from({ length: n }, () => click("/o/demo/e-offsite-qr", { now, fault })));
    assert.ok(r.every((c) => c.headers.get("x-edge-outcome") === "eligible"));
  }
  let got;
  for (let i = 0; i < 100 && got !== before + 24; i++) {
    got = (await totals()).eligible;
    if (got !== before + 24) await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(got, before + 24);
});

test("R-O1 the admin lists every offsite engagement's public link", async () => {
  const r = await admin(w.base, "GET", "demo/offsite-links");
  assert.equal(r.status, 200, r.text);
  const byId = Object.fromEntries(r.json.links.map((l) => [l.engagementId, l]));
  assert.deepEqual(Object.keys(byId).sort(), ["e-draft-offsite", "e-offsite-email", "e-offsite-qr", "e-offsite-retired", "e-winter-offsite"]);
  assert.equal(byId["e-offsite-email"].url, `${w.base}/o/demo/e-offsite-email`);
  const followed = await fetch(byId["e-offsite-email"].url, { redirect: "manual", headers: { "CF-IPCountry": "GB" } });
  assert.equal(followed.status, 302);
});

test("R-O5 unknown account: a small 404 page that names no internals", async () => {
  const r = await click("/o/nobody/e-offsite-email");
  assert.equal(r.status, 404);
  assert.match(r.headers.get("content-type"), /text\/html/);
  assert.doesNotMatch(r.body, /snapshot|panic|error|KV|Durable|unknown_account/i);
});

const allowed = new Set([`${D}/contact`, `${D}/survey/sales`, `${D}/survey/offline`, `${D}/chat`, `${D}/help/chat`, `${D}/winter-sale`]);
const long = "e".repeat(5000);
const hostile = [
  "/o/demo/e-offsite-email//evil.example",
  "/o/demo//evil.example",
  "//evil.example/o/demo/e-offsite-email",
  "/o/demo/%2F%2Fevil.example",
  "/o/demo/e-offsite-email%2F..%2F..%2Fadmin",
  "/o/demo/e-offsite-email?next=https://evil.example",
  "/o/demo/e-offsite-email?redirect=%2F%2Fevil.example",
  "/o/demo/e-offsite-email?utm_source=%0d%0aLocation:%20https://evil.example",
  "/o/demo/e-offsite-email?utm_source=x%0aSet-Cookie:%20a=b",
  "/o/demo/%0d%0aLocation:https://evil.example",
  "/o/demo/e-offsite-email%00",
  "/o/demo/",
  "/o/demo/e-offsite-email/extra",
  "/o/%2e%2e/e-offsite-email",
  `/o/demo/${long}`,
  `/o/demo/e-offsite-email?utm_source=${"x".repeat(6000)}`,
  "/o/demo/%C3%A9ngagement",
  "/o/demo/e-offsite-email?utm_source=%F0%9F%98%80",
  "/o/d%C3%A9mo/e-offsite-email",
  "/o/demo/e-offsite-email?ee_account=evil&ee_engagement=x&ee_context=forged",
  `/o/demo/e-offsite-email?${Array.from({ length: 50 }, (_, i) => `utm_p${i}=${i}`).join("&")}`,
  "/o/demo/E-OFFSITE-EMAIL",
  "/o/demo/e-offsite-email%20",
  "/o/demo/e-offsite-email;evil.example",
  "/o/demo/e-offsite-email@evil.example",
  "/o/demo/https:%2F%2Fevil.example",
  "/o/demo/javascript:alert(1)",
  "/o/demo/e-offsite-email?utm_source=%3Cscript%3Ealert(1)%3C%2Fscript%3E",
  "/o/demo/e-offsite-email?%0d%0a=1",
  "/o/demo/e-sales-overlay",
  "/o/demo/e-offsite-email?utm_source=https://evil.example&utm_medium=//evil.example",
  "/o/demo/%252F%252Fevil.example",
  "/o/demo/e-offsite-email?@evil.example",
  "/o/a%0d%0ab/e-offsite-email",
];

test(`R-O5 ${hostile.length} hostile links never redirect outside the snapshot and never 5xx`, async () => {
  assert.ok(hostile.length >= 30);
  await admin(w.base, "PUT", "demo/availability", { skills: vectors.availability.allOnline });
  for (const path of hostile) {
    const r = await click(path, { now: "2026-11-23T10:00:00Z" });
    assert.ok(r.status < 500, `${path.slice(0, 80)} -> ${r.status}`);
    if (r.status === 302) {
      assert.doesNotMatch(r.location, /[\r\n]/);
      const loc = new URL(r.location);
      assert.ok(allowed.has(`${loc.origin}${loc.pathname}`), `${path.slice(0, 80)} -> ${r.location.slice(0, 120)}`);
      assert.ok([...loc.searchParams.keys()].filter((k) => k === "ee_account").length <= 1);
      assert.notEqual(loc.searchParams.get("ee_account"), "evil");
      assert.ok([...loc.searchParams.keys()].filter((k) => k.startsWith("utm_")).length <= 10);
    } else {
      assert.ok([400, 404, 405, 414, 431].includes(r.status), `${path.slice(0, 80)} -> ${r.status}`);
      assert.doesNotMatch(r.body, /panic|RuntimeError|snapshot\//i);
    }
  }
  const post = await click("/o/demo/e-offsite-email", { method: "POST" });
  assert.equal(post.status, 405);
});

// R-O2: the landing hand-off. An eligible click records its context in the visit it starts;
// the landing page's tag exchanges ee_visit + ee_context for the window data (never the agent
// note), reports events with them, and the agent side reads the note with its credential.
const NOW = "2026-11-23T10:00:00Z";
const later = (minutes) => new Date(Date.parse(NOW) + minutes * 60_000).toISOString();
async function landing(account, query, { now } = {}) {
  const r = await fetch(`${w.base}/v1/landing/${account}?${new URLSearchParams(query)}`, { headers: testClock(now) });
  const text = await r.text();
  return { status: r.status, json: JSON.parse(text), text, headers: r.headers };
}
async function eligibleClick(fault) {
  await admin(w.base, "PUT", "demo/availability", { skills: vectors.availability.allOnline });
  const r = await click("/o/demo/e-offsite-email", { now: NOW, fault });
  const q = new URL(r.location).searchParams;
  assert.equal(r.headers.get("x-edge-outcome"), "eligible");
  return { visitId: q.get("ee_visit"), contextId: q.get("ee_context") };
}

test("R-O2 the landing page exchanges the click's context for the window data; its events count in that visit; the agent side reads the note", async () => {
  await publishDemo(w.base);
  const at = await eligibleClick();
  const r = await landing("demo", at, { now: later(1) });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.headers.get("cache-control"), "no-store");
  const email = snapshot.campaigns.flatMap((c) => c.engagements).find((e) => e.id === "e-offsite-email");
  assert.deepEqual(
    { open: r.json.open, engagementId: r.json.window.engagementId, windowId: r.json.window.windowId, skill: r.json.window.skill?.id, language: r.json.window.language, source: r.json.window.source, visitId: r.json.visitId },
    { open: true, engagementId: "e-offsite-email", windowId: email.window.id, skill: "sales", language: email.language, source: "email", visitId: at.visitId });
  assert.ok(!r.text.includes(email.agentNote), "R-D10 no agent note in a public answer");
  const ev = await fetch(`${w.base}/v1/events`, { method: "POST", headers: { "Content-Type": "text/plain", ...testClock(later(2)) },
    body: JSON.stringify({ account: "demo", visitId: at.visitId, eventName: "OFFER_CLICK", contexts: [{ EngagementContext: { id: at.contextId } }], engagementId: "e-offsite-email" }) });
  assert.equal(ev.status, 200, await ev.text());
  const visit = await admin(w.base, "GET", `demo/visits/${at.visitId}`);
  assert.deepEqual(visit.json.visit.accepted, ["e-offsite-email"]);
  const agentUrl = `${w.base}/v1/agent/accounts/demo/contexts?${new URLSearchParams(at)}`;
  const agent = await fetch(agentUrl, { headers: { Authorization: `Bearer ${await keyFor(w.base, "demo")}` } });
  const view = await agent.json();
  assert.equal(agent.status, 200);
  assert.equal(view.agentNote, email.agentNote);
  assert.deepEqual(view.events, ["OFFER_CLICK"]);
  assert.equal((await fetch(agentUrl)).status, 401, "the note needs a credential");
});

// An eligible click starts the landing visit after its redirect (no object hop before it);
// the exchange waits briefly for a context its visit does not hold yet.
test("R-O2 the redirect does not wait for the landing visit: a late start is still exchanged, a lost one opens nothing", async () => {
  await publishDemo(w.base);
  const key = await keyFor(w.base, "demo");
  const agentRead = (at) => fetch(`${w.base}/v1/agent/accounts/demo/contexts?${new URLSearchParams(at)}`, { headers: { Authorization: `Bearer ${key}` } });
  const late = await eligibleClick("land-late");
  assert.equal((await agentRead(late)).status, 404, "the redirect went out before the context was recorded");
  const opened = await landing("demo", late, { now: later(1) });
  assert.deepEqual({ open: opened.json.open, engagementId: opened.json.window?.engagementId }, { open: true, engagementId: "e-offsite-email" },
    "the exchange waited for the late context");
  assert.equal((await agentRead(late)).status, 200);
  const lost = await eligibleClick("land-lost");
  assert.ok(lost.visitId && lost.contextId, "the visitor lands with the window parameters even when the visit never starts");
  const closed = await landing("demo", lost, { now: later(1) });
  assert.deepEqual({ open: closed.json.open, reason: closed.json.reason }, { open: false, reason: "unknown_context" });
});

test("R-O2 a landing visit's start that fails is sent again, and counts its context once", async () => {
  await publishDemo(w.base);
  // The visit's object fails the first attempt before recording anything: only a retry opens.
  const refused = await eligibleClick("land-refused-once");
  assert.equal((await landing("demo", refused, { now: later(1) })).json.open, true, "sent again after a failure");
  // It records the click's start, then fails once as if its answer were lost.
  const at = await eligibleClick("land-answer-lost");
  const opened = await landing("demo", at, { now: later(1) });
  assert.equal(opened.json.open, true, opened.text);
  // The exchange finds the first attempt's record; the worker sends the start again 100 ms
  // after its 503. Read the visit once every attempt (the last 400 ms after the first) is done.
  await new Promise((done) => setTimeout(done, 1500));
  const visit = await admin(w.base, "GET", `demo/visits/${at.visitId}`);
  assert.equal(visit.json.visit.contextsIssued, 1, "the repeated start changed nothing");
});

test("R-O2 a context expires with the visit timeout (30 minutes after the click); unknown, foreign or malformed contexts open nothing", async () => {
  await publishDemo(w.base);
  const at = await eligibleClick();
  assert.equal((await landing("demo", at, { now: later(30) })).json.open, true, "open up to the timeout");
  const expired = await landing("demo", at, { now: later(31) });
  assert.deepEqual({ open: expired.json.open, reason: expired.json.reason }, { open: false, reason: "expired" });
  assert.equal(expired.json.window, undefined);
  const unknown = await landing("demo", { visitId: at.visitId, contextId: "0".repeat(32) });
  assert.deepEqual({ open: unknown.json.open, reason: unknown.json.reason }, { open: false, reason: "unknown_context" });
  // The same ids under another account: that account's visits know nothing of them.
  const other = structuredClone(snapshot);
  other.account.id = "other";
  assert.equal((await admin(w.base, "PUT", "other/snapshot", other, { "If-Match": "*" })).status, 200);
  assert.equal((await landing("other", at)).json.reason, "unknown_context");
  // The control group's landing carries no context; links never clicked open nothing.
  for (const [query, field] of [[{ visitId: at.visitId }, "contextId"], [{ contextId: at.contextId }, "visitId"], [{ visitId: "a b", contextId: at.contextId }, "visitId"]]) {
    const bad = await landing("demo", query);
    assert.equal(bad.status, 400, bad.text);
    assert.equal(bad.json.error.field, field);
  }
  assert.equal((await landing("nobody", at)).status, 404);
});
