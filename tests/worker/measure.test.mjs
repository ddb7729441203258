// R-M1 and R-M4 over HTTP against the real worker: visit objects count the funnel's facts once
// per visit, ship them through the local Queue, and the consumer adds them into the D1
// rollups exactly once, also when a delivery is retried after its commit. R-M5: the report
// route reads the rollups back (JSON and CSV) and refuses bad ranges.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, admin, decide, keyFor, TOKEN, testClock } from "./harness.mjs";
import { add, addLevels, addExposed, everyRow as everyRowOf, funnel, publishMeasuredDemo, settles, sorted } from "./funnel.mjs";

const NOW = "2026-11-23T10:00:00Z";
const DAY = "2026-11-23";
const SHOP = "https://www.demo-outfitters.example/shop/boots";
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let w;

before(async () => {
  w = await startWorker();
  // No control groups, no caps: every visit here is exposed, so the tallies are simple.
  await publishMeasuredDemo(w.base, { noCaps: true });
});
after(async () => { await w?.stop(); });

async function report(query = `from=${DAY}&to=${DAY}`) {
  return admin(w.base, "GET", `demo/report?${query}`);
}

const everyRow = () => everyRowOf(w.base, DAY);
const counts = () => funnel(w.base, DAY);

async function events(visitId, list) {
  const r = await fetch(`${w.base}/v1/events`, { method: "POST", headers: { "Content-Type": "application/json", ...testClock(NOW) },
    body: JSON.stringify({ account: "demo", visitId, events: list }) });
  assert.equal(r.status, 200, await r.text());
}

test("R-M1 R-M4 the funnel counts each visit once per metric and entity, exactly, concurrent visits and a retried delivery included", async () => {
  const want = {};
  const visits = Array.from({ length: 12 }, (_, i) => `measure-visit-${i}`);
  // Every visit asks twice for its page at once, and once more: the same facts, counted once.
  const answers = await Promise.all(visits.flatMap((v, i) => [0, 1].map(() =>
    decide(w.base, { account: "demo", visitorId: `measure-visitor-${i}`, visitId: v, page: { url: SHOP, id: "p1" } },
      { now: NOW, country: "GB", ...(i === 0 ? { headers: { "X-Test-Fault": "consumer", "X-Test-Root": TOKEN } } : {}) }))));
  for (const [i, v] of visits.entries()) {
    const a = answers[2 * i];
    assert.equal(a.status, 200, a.text);
    add(want, "//visits"); add(want, "//prospects");
    addExposed(want, a.json.engagements);
    // Half the visits see and click their first engagement; a third decline their last.
    const [first] = a.json.engagements;
    const last = a.json.engagements.at(-1);
    const list = [];
    if (i % 2 === 0) {
      list.push({ event: "OFFER_IMPRESSION", contextId: first.contextId }, { event: "OFFER_CLICK", contextId: first.contextId });
      add(want, `${first.campaignId}/${first.engagementId}/views`);
      add(want, `${first.campaignId}/${first.engagementId}/accepted`);
      add(want, `${first.campaignId}/${first.engagementId}/engaged`);
      add(want, `${first.campaignId}//engaged`);
      add(want, "//engaged");
      for (const m of ["views", "accepted", "engaged"]) addLevels(want, [first], m);
    }
    if (i % 3 === 0 && last !== first) {
      list.push({ event: "OFFER_DECLINED", contextId: last.contextId });
      add(want, `${last.campaignId}/${last.engagementId}/declines`);
      addLevels(want, [last], "declines");
    }
    if (list.length) {
      await events(v, list);
      await events(v, list); // a replay changes nothing
    }
  }
  await settles(counts, want);
  // Prospects per line of business and entry point: at least the visits exposed there, at
  // most every visit.
  const rows = (await report()).json.rows;
  for (const x of rows.filter((r) => r.metric === "prospects" && (r.lineOfBusiness || r.entryPoint))) {
    const exposed = want[`${x.lineOfBusiness ? `lob:${x.lineOfBusiness}` : `ep:${x.entryPoint}`}/exposed`]?.valueOf() ?? 0;
    assert.ok(x.n >= exposed && x.n <= visits.length, JSON.stringify(x));
  }
  assert.ok(rows.some((r) => r.lineOfBusiness === "sales" && r.metric === "prospects"), "a line of business is a level");
  // The first visit's batch really was delivered again after its commit, and added nothing.
  const logs = w.logs.join("");
  const id = /measurement: batch (\S+) committed, retried \(test fault\)/.exec(logs)?.[1];
  assert.ok(id?.startsWith("demo:measure-visit-0:"), logs.slice(-3000));
  assert.ok(logs.includes(`measurement: batch ${id} was applied before: acknowledged`), logs.slice(-3000));
});

/** What the report gained since `before`, once it has gained `visits` visits and held still. */
async function gained(before, visits) {
  const delta = async () => {
    const now = await everyRow();
    return Object.fromEntries(Object.entries(now).filter(([k, n]) => n !== (before[k] ?? 0)).map(([k, n]) => [k, n - (before[k] ?? 0)]));
  };
  let got;
  for (let i = 0; i < 80 && got?.["//visits"] !== visits; i++) {
    await sleep(250);
    got = await delta();
  }
  await sleep(1500);
  return sorted(await delta());
}

test("R-M1 a decision its visit records after the answer (tag 1.1, declines carried) counts what the visit's object would, prospects by line of business and entry point included", async () => {
  // The same page and button zones, six visits each way: the first six ask their visits'
  // objects (no declines carried), the next six carry their declines, so the worker decides
  // and the visit records a trimmed request afterwards. On a phone the app's banner
  // (marketing) is a candidate that the sales chat beats: a line of business no answer shows.
  const zones = ["left", "right"];
  const phone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148";
  const round = async (name, extra) => {
    const before = await everyRow();
    const answers = await Promise.all(Array.from({ length: 6 }, (_, i) => decide(w.base,
      { account: "demo", visitorId: `${name}-visitor-${i}`, visitId: `${name}-${i}`, page: { url: SHOP, id: "p1" }, zones, ...extra.body },
      { now: NOW, country: "GB", userAgent: phone, headers: extra.headers })));
    for (const a of answers) {
      assert.equal(a.status, 200, a.text);
      assert.equal(a.json.degraded, undefined, `${name}: ${a.text}`);
      assert.ok(a.json.engagements.length > 0, a.text);
    }
    return { answers, gained: await gained(before, answers.length) };
  };
  const asked = await round("asked", { body: {} });
  // The visit's object throws if asked (`visit`): these answers did not ask it.
  const carried = await round("carried", { body: { declined: [] }, headers: { "X-Test-Fault": "visit", "X-Test-Root": TOKEN } });
  const prospects = (g) => Object.fromEntries(Object.entries(g).filter(([k]) => k.endsWith("/prospects") || k === "//visits"));
  assert.equal(asked.gained["lob:marketing/prospects"], 6, JSON.stringify(asked.gained));
  assert.equal(asked.gained["ep:ep-all/prospects"], 6, JSON.stringify(asked.gained));
  assert.ok(carried.answers.every((a) => !a.json.engagements.some((e) => e.engagementId === "e-mobile-sticky")), "the banner is not shown");
  assert.deepEqual(prospects(carried.gained), prospects(asked.gained), "R-M1: the same prospects, by every level");
  // Exposures follow each visit's own draws: what the carried answers showed, counted once each.
  const want = {};
  for (const a of carried.answers) addExposed(want, a.json.engagements);
  const exposures = (g) => Object.fromEntries(Object.entries(g).filter(([k]) => !(k.endsWith("/prospects") || k === "//visits")));
  assert.deepEqual(exposures(carried.gained), sorted(want), "R-M1: each shown engagement's exposure");
});

test("R-M5 the report reads back as CSV; bad ranges are a 400 naming the field", async () => {
  const r = await fetch(`${w.base}/v1/admin/accounts/demo/report?from=${DAY}&to=${DAY}&format=csv`, { headers: { Authorization: `Bearer ${await keyFor(w.base, "demo")}` } });
  assert.equal(r.status, 200);
  assert.match(r.headers.get("content-type"), /^text\/csv/);
  const lines = (await r.text()).trim().split("\n");
  assert.equal(lines[0], "day,campaign,engagement,line_of_business,entry_point,metric,count,currency,value");
  assert.ok(lines.some((l) => l.startsWith(`${DAY},,,,,visits,`)), lines.join("\n"));
  for (const [q, field] of [["from=2026-11-24&to=2026-11-23", "to"], ["from=2026-13-01&to=2026-12-01", "from"],
    ["to=2026-11-23", "from"], ["from=2024-01-01&to=2026-01-01", "to"], [`from=${DAY}&to=${DAY}&format=xml`, "format"],
    [`from=${DAY}&to=${DAY}&table=all`, "table"]]) {
    const bad = await report(q);
    assert.equal(bad.status, 400, q);
    assert.equal(bad.json.error.field, field, q);
  }
  assert.equal((await fetch(`${w.base}/v1/admin/accounts/demo/report?from=${DAY}&to=${DAY}`)).status, 401);
});

test("R-M1 offsite clicks count per day, campaign, engagement and outcome", async () => {
  const outcomes = {};
  for (const [link, n] of [["e-offsite-email", 3], ["e-offsite-qr", 2], ["e-nope", 1]]) {
    for (let i = 0; i < n; i++) {
      const r = await fetch(`${w.base}/o/demo/${link}?utm_source=test`, { redirect: "manual",
        headers: { "CF-IPCountry": "GB", "X-Test-Now": NOW, "X-Test-Root": TOKEN, Cookie: `ee_vid=clicker-${i}` } });
      assert.equal(r.status, 302);
      const key = `${link === "e-nope" ? "" : "c-offsite"}/${link === "e-nope" ? "(unknown)" : link}/offsite_${r.headers.get("x-edge-outcome")}`;
      outcomes[key] = (outcomes[key] ?? 0) + 1;
    }
  }
  const offsite = async () => Object.fromEntries(Object.entries(await counts()).filter(([k]) => /\/offsite_[a-z_]+$/.test(k)));
  let got;
  for (let i = 0; i < 60; i++) {
    got = await offsite();
    if (JSON.stringify(sorted(got)) === JSON.stringify(sorted(outcomes))) break;
    await sleep(250);
  }
  assert.deepEqual(sorted(got), sorted(outcomes));
});
