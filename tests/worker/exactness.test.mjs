// R-M4 against the real worker when parts fail: the queue refuses a visit's facts and the
// worker process is killed while they wait in the visit objects (every object evicted); on
// restart the alarms ship them and the report equals what was sent, exactly. Concurrent visits
// of one visitor: each visit counts, the visitor enters an arm once. The report's rows are
// kept 400 days (R-M5).
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startWorker, applyMigrations, admin, decide, TOKEN } from "./harness.mjs";
import { demo, publishMeasuredDemo } from "./funnel.mjs";

const NOW = "2026-12-02T10:00:00Z";
const DAY = "2026-12-02";
const SHOP = "https://www.demo-outfitters.example/shop/boots";
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const persist = mkdtempSync(join(tmpdir(), "edge-engage-exact-"));
let w;
after(async () => {
  await w?.stop();
  rmSync(persist, { recursive: true, force: true });
});

async function account() {
  const r = await admin(w.base, "GET", `demo/report?from=${DAY}&to=${DAY}`);
  assert.equal(r.status, 200, r.text);
  const at = (m) => r.json.rows.filter((x) => x.metric === m && !x.campaign && !x.engagement && !x.lineOfBusiness && !x.entryPoint)
    .reduce((a, x) => a + x.n, 0);
  return { visits: at("visits"), prospects: at("prospects"), exposed: at("exposed"), conversions: at("conversions"), report: r.json };
}

async function until(read, want) {
  let got;
  for (let i = 0; i < 160; i++) {
    got = await read();
    if (Object.entries(want).every(([k, v]) => got[k] === v)) break;
    await sleep(250);
  }
  for (const [k, v] of Object.entries(want)) assert.equal(got[k], v, k);
  await sleep(2000);
  const again = await read();
  for (const [k, v] of Object.entries(want)) assert.equal(again[k], v, `${k}: no late double count`);
  return again;
}

test("R-M4 facts refused by the queue and left in evicted visit objects are delivered once after a restart", async () => {
  applyMigrations(persist);
  w = await startWorker({ persist });
  await publishMeasuredDemo(w.base);
  const answers = await Promise.all(Array.from({ length: 6 }, (_, i) =>
    decide(w.base, { account: "demo", visitorId: `exact-visitor-${i}`, visitId: `exact-visit-${i}`, page: { url: SHOP, id: "p1" } },
      { now: NOW, country: "GB", headers: { "X-Test-Fault": "queue", "X-Test-Root": TOKEN } })));
  for (const a of answers) assert.equal(a.status, 200, a.text);
  // As soon as the queue has refused (the alarms failed, their retries wait), kill the worker:
  // the facts wait in the objects' storage.
  const refused = () => w.logs.join("").includes("queue refused (test fault)");
  for (let i = 0; i < 100 && !refused(); i++) await sleep(50);
  assert.ok(refused(), "the queue really refused the facts");
  await w.stop();
  w = await startWorker({ persist });
  await until(account, { visits: 6, prospects: 6, exposed: 6 });
});

test("R-M4 concurrent visits of one visitor: every visit and conversion counts, the visitor enters an arm once", async () => {
  const visits = Array.from({ length: 5 }, (_, i) => `same-visitor-visit-${i}`);
  const answers = await Promise.all(visits.map((visitId) =>
    decide(w.base, { account: "demo", visitorId: "same-visitor", visitId, page: { url: SHOP, id: "p1" } }, { now: NOW, country: "GB" })));
  for (const a of answers) assert.equal(a.status, 200, a.text);
  const goal = demo.campaigns.find((c) => c.goal).goal;
  const sent = await Promise.all(visits.map((visitId, i) => fetch(`${w.base}/v1/conversions/demo`, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-Test-Now": "2026-12-02T11:00:00Z", "X-Test-Root": TOKEN },
    body: JSON.stringify({ id: `same-${i}`, goal, visitorId: "same-visitor", visitId, value: 10, currency: "GBP" }),
  })));
  for (const r of sent) assert.equal(r.status, 202);
  const got = await until(account, { visits: 11, prospects: 11, exposed: 11, conversions: 5 });
  const rate = got.report.comparisons.find((c) => c.campaign === "" && c.metric === "conversion_rate");
  assert.equal(rate.exposed.visitors, 7, "six visitors before, this one once");
  const value = got.report.comparisons.find((c) => c.campaign === "" && c.currency === "GBP");
  assert.ok(Math.abs(value.exposed.mean - 50 / 7) < 1e-9, "its five conversions add up to one visitor's value");
});

test("R-M5 the report's rows are kept 400 days: a day past them is deleted, the day before it stays", async () => {
  // Conversions dated by the test clock 401 and 399 days before today (the summary's clock is
  // the real one): the first day's rows are deleted as the flush that brings them is applied.
  const goal = demo.campaigns.find((c) => c.goal).goal;
  const daysAgo = (n) => new Date(Date.now() - n * 86_400_000).toISOString();
  for (const [id, n] of [["ancient", 401], ["kept", 399]]) {
    const r = await fetch(`${w.base}/v1/conversions/demo`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Test-Now": daysAgo(n), "X-Test-Root": TOKEN },
      body: JSON.stringify({ id: `retention-${id}`, goal, visitorId: `retention-${id}` }),
    });
    assert.equal(r.status, 202);
  }
  const range = `from=${daysAgo(402).slice(0, 10)}&to=${daysAgo(398).slice(0, 10)}`;
  const days = async () => {
    const r = await admin(w.base, "GET", `demo/report?${range}`);
    assert.equal(r.status, 200, r.text);
    return r.json.rows.filter((x) => x.metric === "conversions" && !x.campaign).map((x) => x.day);
  };
  let got;
  for (let i = 0; i < 40; i++) {
    got = await days();
    if (got.length) break;
    await sleep(250);
  }
  await sleep(2000);
  assert.deepEqual(await days(), [daysAgo(399).slice(0, 10)]);
  const today = await account();
  assert.ok(today.visits > 0, "this week's figures stay");
});
