// R-D1..R-D5 over HTTP: every vector of fixtures/decisions.json against the real worker,
// the same file the native engine test runs.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, admin, publishDemo, decide, summary, fixture, identityToken, createKey, TOKEN, testClock } from "./harness.mjs";

const vectors = JSON.parse(fixture("decisions.json"));
let w;

let identitySecret;
before(async () => {
  w = await startWorker();
  await publishDemo(w.base, "0");
  // R-S2: the account's identity secret, with which the vectors' "signed" tokens are minted.
  const r = await admin(w.base, "POST", "demo/identity-secret");
  assert.equal(r.status, 201, r.text);
  identitySecret = r.json;
});

/** The vector's request, its page's identity kind replaced by a token minted at the case's time. */
function request(c) {
  const kind = c.request.page.identity;
  if (!kind) return c.request;
  const identity = identityToken(kind, c.request.account, c.now, identitySecret);
  return { ...c.request, page: { ...c.request.page, identity } };
}
after(async () => { await w?.stop(); });

// Each vector runs in its own visit, so that no visit state (held zones, caps, declines) from
// another vector applies: its history (earlier page views and the events the tag reported)
// first, then the request, explained. The trace compared is the one the native test asserts.
// R-D10: where a vector states an engagement's presentation, the answer's presentation fields.
const PRESENTATION = ["tglName", "windowMode", "creatives", "displayDelaySeconds", "displayDurationSeconds"];
function withPresentation(sum, answer, expect) {
  sum.engagements.forEach((s, i) => {
    if (!expect.engagements.some((x) => x.engagementId === s.engagementId && x.presentation)) return;
    const e = answer.engagements[i];
    s.presentation = Object.fromEntries(PRESENTATION.filter((k) => k in e).map((k) => [k, e[k]]));
  });
  return sum;
}

vectors.cases.forEach((c, i) => {
  test(`${c.rules.join(" ")}: ${c.name}`, async () => {
    const avail = await admin(w.base, "PUT", "demo/availability", { skills: vectors.availability[c.availability] });
    assert.equal(avail.status, 200, avail.text);
    const req = request(c);
    const visitId = `${req.visitId}-vector-${i}`;
    const edge = { now: c.now, country: c.edge.country, userAgent: c.edge.userAgent };
    for (const step of c.history ?? []) {
      const shown = await decide(w.base, { ...req, visitId, page: { ...req.page, id: step.pageId } }, edge);
      assert.equal(shown.status, 200, shown.text);
      for (const e of step.events ?? []) {
        const context = shown.json.engagements.find((s) => s.engagementId === e.engagementId).contextId;
        const ev = await fetch(`${w.base}/v1/events`, { method: "POST", headers: { "Content-Type": "application/json", ...testClock(c.now) },
          body: JSON.stringify({ account: "demo", visitId, event: e.event, contextId: context }) });
        assert.equal(ev.status, 200, await ev.text());
      }
    }
    const page = { ...req.page, id: req.page.id ?? "vector-page" };
    const r = await decide(w.base, { ...req, visitId, page }, { ...edge, explain: true });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(withPresentation(summary(r.json), r.json, c.expect), c.expect);
    const trace = Object.fromEntries(r.json.explanation
      .filter((x) => x.engagementId in c.trace)
      .map((x) => [x.engagementId, x.outcome === "excluded" ? x.rule : x.outcome]));
    assert.deepEqual(trace, c.trace);
    for (const e of r.json.engagements) {
      // R-D4: the fields the tag needs are all there.
      assert.equal(e.confKey, `${e.campaignId}_${e.engagementId}_${e.engagementRevision}`);
      assert.match(e.contextId, /^[0-9a-f]{32}$/);
      for (const f of ["engagementName", "engagementType", "state", "windowId", "language"]) assert.ok(f in e, f);
    }
    assert.equal(r.json.revision, 1);
    assert.equal(r.headers.get("cache-control"), "no-store");
  });
});

test("R-D4 the GET form gives the same decision as POST (tag cross-origin)", async () => {
  await admin(w.base, "PUT", "demo/availability", { skills: vectors.availability.allOnline });
  const c = vectors.cases[0];
  const q = new URLSearchParams({ account: "demo", visitorId: c.request.visitorId, visitId: "get-form-visit", url: c.request.page.url });
  const r = await fetch(`${w.base}/v1/decide?${q}`, {
    headers: { "X-Test-Now": c.now, "X-Test-Root": TOKEN, "CF-IPCountry": "GB", "User-Agent": c.edge.userAgent, Origin: "https://www.demo-outfitters.example" },
  });
  assert.equal(r.status, 200);
  assert.equal(r.headers.get("access-control-allow-origin"), "*");
  const answer = await r.json();
  assert.deepEqual(withPresentation(summary(answer), answer, c.expect), c.expect);
});

test("R-D4 the same visit asking again on the same page gets the same engagements and contexts", async () => {
  const c = vectors.cases[0];
  const request = { ...c.request, visitId: "sticky-visit", page: { ...c.request.page, id: "page-1" } };
  const a = await decide(w.base, request, { now: c.now, country: "GB" });
  const b = await decide(w.base, request, { now: c.now, country: "GB" });
  assert.deepEqual(summary(a.json), summary(b.json));
  assert.deepEqual(a.json.engagements.map((e) => e.contextId), b.json.engagements.map((e) => e.contextId));
  const next = await decide(w.base, { ...request, page: { ...request.page, id: "page-2" } }, { now: c.now, country: "GB" });
  assert.notEqual(next.json.engagements[0].contextId, a.json.engagements[0].contextId);
});

test("R-P2 availability pushed offline changes the decision within 10 seconds", async () => {
  const c = vectors.cases[0];
  await admin(w.base, "PUT", "demo/availability", { skills: vectors.availability.allOnline });
  const page = (n) => ({ ...c.request, visitId: "availability-visit", page: { ...c.request.page, id: `p${n}` } });
  const before = await decide(w.base, page(0), { now: c.now, country: "GB" });
  assert.equal(before.json.engagements.find((e) => e.zoneId === "right").stateName, "online");
  const pushed = Date.now();
  const r = await admin(w.base, "PUT", "demo/availability/sales", { onlineAgents: 0 });
  assert.equal(r.status, 200, r.text);
  let state;
  for (let n = 1; Date.now() - pushed < 10_000; n++) {
    const d = await decide(w.base, page(n), { now: c.now, country: "GB" });
    state = d.json.engagements.find((e) => e.zoneId === "right").stateName;
    if (state === "offline") break;
    await new Promise((res) => setTimeout(res, 200));
  }
  assert.equal(state, "offline");
  assert.ok(Date.now() - pushed < 10_000);
});

test("R-P3 R-S1 explain lists every engagement with its rule, only with a key that has the explain scope", async () => {
  const c = vectors.cases[0];
  await admin(w.base, "PUT", "demo/availability", { skills: vectors.availability.allOnline });
  const ask = (authorization) => fetch(`${w.base}/v1/decide?explain=1`, {
    method: "POST", headers: { "Content-Type": "application/json", ...(authorization ? { Authorization: authorization } : {}) },
    body: JSON.stringify({ ...c.request, visitId: "explain-refused" }),
  });
  const plain = await ask();
  assert.equal(plain.status, 401);
  assert.equal((await plain.json()).error.code, "unauthorized");
  const reports = await ask(`Bearer ${await createKey(w.base, "demo", ["reports"])}`);
  assert.equal(reports.status, 403, "a key without the explain scope");
  assert.equal((await reports.json()).error.code, "forbidden");
  const r = await decide(w.base, { ...c.request, visitId: "explain-visit" }, { now: c.now, country: "GB", explain: true });
  const byId = Object.fromEntries(r.json.explanation.map((x) => [x.engagementId, x]));
  assert.equal(r.json.explanation.length, 18);
  assert.equal(byId["e-draft-overlay"].rule, "R-D1");
  assert.equal(byId["e-winter-toaster"].rule, "R-D2");
  assert.equal(byId["e-sales-overlay"].outcome, "won");
  assert.equal(byId["e-uk-peel"].outcome, "lost");
});

test("R-D1..R-D5 every first-look vector also holds in the stateless preview (?visit=0)", async () => {
  // The preview is a visit with no history: vectors with earlier page views do not apply.
  for (const c of vectors.cases.filter((v) => !v.history)) {
    await admin(w.base, "PUT", "demo/availability", { skills: vectors.availability[c.availability] });
    const r = await fetch(`${w.base}/v1/decide?visit=0`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Test-Now": c.now, "X-Test-Root": TOKEN, "CF-IPCountry": c.edge.country, "User-Agent": c.edge.userAgent },
      body: JSON.stringify(request(c)),
    });
    assert.equal(r.status, 200);
    const answer = await r.json();
    assert.deepEqual(withPresentation(summary(answer), answer, c.expect), c.expect, c.name);
  }
});

test("R-P2 a view 5 to 10 s old answers at once and is refreshed after the answer; one older is fetched first", async () => {
  const c = vectors.cases[0];
  // Later than every other test's clock, the real one included (tests without a test clock
  // decide at the real time).
  const t0 = Math.max(Date.now(), ...vectors.cases.map((x) => Date.parse(x.now))) + 3_600_000;
  const at = (ms) => new Date(t0 + ms).toISOString();
  const refreshed = () => w.logs.join("").split("view refreshed after the answer").length - 1;
  const ask = async (ms, n) => {
    const r = await decide(w.base, { ...c.request, visitId: "stale-view", page: { ...c.request.page, id: `sv${n}` } }, { now: at(ms), country: "GB" });
    assert.equal(r.status, 200, r.text);
  };
  await ask(0, 0); // an hour after the last view: fetched before the answer
  const before = refreshed();
  await ask(2_000, 1); // 2 s old: used
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(refreshed(), before, "a fresh view is not refreshed");
  await ask(6_000, 2); // 6 s old: used, and refreshed after the answer
  for (let i = 0; i < 20 && refreshed() === before; i++) await new Promise((r) => setTimeout(r, 100));
  assert.equal(refreshed(), before + 1);
  await ask(7_000, 3); // 1 s after that refresh: fresh again
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(refreshed(), before + 1, "one refresh, not one per request");
});
