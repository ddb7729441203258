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

// The isolates of one location share the account's view through the Cache API. One
// `wrangler dev` is one isolate: `X-Test-Fault: new-isolate` makes a request ignore this
// isolate's own view, as a new isolate of the same location would. `X-Edge-View` (test builds)
// says where the request's view came from.
const locationTime = (hours) => {
  const t0 = Math.max(Date.now(), ...vectors.cases.map((x) => Date.parse(x.now))) + hours * 3_600_000;
  return (ms) => new Date(t0 + ms).toISOString();
};
async function viewAt(now, n, faults) {
  const c = vectors.cases[0];
  const r = await decide(w.base, { ...c.request, visitId: "location-view", page: { ...c.request.page, id: `lv${n}` } },
    { now, country: "GB", headers: faults ? { "X-Test-Fault": faults } : {} });
  assert.equal(r.status, 200, r.text);
  return { view: r.headers.get("X-Edge-View"), revision: Number(r.headers.get("X-Edge-Revision")), answer: r.json };
}

test("R-P2 a location's isolates share one read of the account's view, claimed when due, never used past 10 s", async () => {
  const at = locationTime(2);
  const view = async (ms, n, faults) => (await viewAt(at(ms), n, faults)).view;
  assert.equal(await view(0, 0, "new-isolate"), "object", "nothing this recent in the location");
  assert.equal(await view(2_000, 1, "new-isolate"), "location", "a second isolate takes the first one's read");
  assert.equal(await view(3_000, 2), "isolate", "adopted, it is the isolate's own until due");
  // 6 s: the location's view is due. A new isolate claims its refresh, but cannot reach the
  // account's object: it answers on the location's view, 6 s old.
  assert.equal(await view(6_000, 3, "new-isolate, account-object"), "location");
  // 7 s: the claim is 1 s old; another new isolate waits for it on the location's view.
  assert.equal(await view(7_000, 4, "new-isolate"), "location");
  // 8.5 s: nobody wrote within 2 s of the claim; the next isolate takes it over.
  assert.equal(await view(8_500, 5, "new-isolate"), "object");
  assert.equal(await view(9_000, 6, "new-isolate"), "location");
  // However many isolates shared it, a read is adopted for 5 s after it was made, not after
  // it was copied: at 14 s (5.5 s after the last read) the object is asked again.
  assert.equal(await view(14_000, 7, "new-isolate"), "object");
  // An adopted view is due 5 s after its read, not after its adoption: taken at 16 s from the
  // read at 14 s, it is refreshed after the answer at 19.5 s.
  assert.equal(await view(16_000, 8, "new-isolate"), "location");
  const refreshed = () => w.logs.join("").split("view refreshed after the answer").length - 1;
  const before = refreshed();
  assert.equal(await view(19_500, 9), "isolate", "answered on its own view, 5.5 s after the read");
  for (let i = 0; i < 20 && refreshed() === before; i++) await new Promise((r) => setTimeout(r, 100));
  assert.equal(refreshed(), before + 1);
});

test("R-P2 a write reaches its location at once: an availability push is shared, a publish drops the shared view", async () => {
  // The first vector's hour, fourteen weeks on: the sales campaign is open, and no other
  // test's clock is this late.
  const c = vectors.cases[0];
  const at = (ms) => new Date(Date.parse(c.now) + 14 * 7 * 86_400_000 + ms).toISOString();
  const right = (answer) => answer.engagements.find((e) => e.zoneId === "right").stateName;
  await admin(w.base, "PUT", "demo/availability", { skills: vectors.availability.allOnline }, testClock(at(0)));
  const first = await viewAt(at(500), 0, "new-isolate");
  assert.equal(right(first.answer), "online");
  const pushed = await admin(w.base, "PUT", "demo/availability/sales", { onlineAgents: 0 }, testClock(at(1_000)));
  assert.equal(pushed.status, 200, pushed.text);
  const after = await viewAt(at(1_500), 1, "new-isolate");
  assert.equal(after.view, "location", "the pushing isolate shared the object's answer");
  assert.equal(right(after.answer), "offline");
  const published = await admin(w.base, "PUT", "demo/snapshot", fixture("demo/snapshot.json"), { "If-Match": "*", ...testClock(at(2_000)) });
  assert.equal(published.status, 200, published.text);
  const next = await viewAt(at(2_500), 2, "new-isolate");
  assert.equal(next.view, "object", "the view naming the replaced revision was dropped");
  assert.equal(next.revision, published.json.revision);
  const own = await viewAt(at(3_000), 3);
  assert.equal(own.revision, published.json.revision, "the publishing isolate never goes back");
  assert.equal((await viewAt(at(3_500), 4, "new-isolate")).view, "location");
  await admin(w.base, "PUT", "demo/availability", { skills: vectors.availability.allOnline });
});
