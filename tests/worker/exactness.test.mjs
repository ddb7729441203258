// R-M4 against the real worker when parts fail: the queue refuses a visit's facts and the
// worker process is killed while they wait in the visit objects (every object evicted); on
// restart the alarms ship them and the report equals what was sent, exactly. Concurrent visits
// of one visitor: each visit counts, the visitor enters an arm once. The daily retention
// (R-M5) deletes only rows past it.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startWorker, applyMigrations, admin, decide, ROOT, TOKEN } from "./harness.mjs";
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

test("R-M5 the daily retention deletes only what is past it", async () => {
  const now = Date.now();
  const old = (days) => now - days * 86_400_000;
  const sql = [
    `INSERT INTO applied (id, token, applied_ms) VALUES ('old-batch', 't', ${old(8)}), ('recent-batch', 't', ${old(6)})`,
    `INSERT INTO touch (account, visitor, metric, campaign, engagement, visit, at_ms, day) VALUES
      ('demo', 'old-v', 'visits', '', '', 'old-visit', ${old(3)}, '2020-01-01'),
      ('demo', 'old-v', 'exposed', '', '', 'old-visit', ${old(3)}, '2020-01-01'),
      ('demo', 'ancient-v', 'exposed', '', '', 'ancient-visit', ${old(401)}, '2020-01-01')`,
    `INSERT INTO rollup (account, day, campaign, engagement, metric, n) VALUES ('demo', '2020-01-01', '', '', 'visits', 1)`,
  ].join(";\n");
  const run = (args) => {
    const r = spawnSync(join(ROOT, "node_modules", ".bin", "wrangler"), ["d1", "execute", "MEASURE", "--local", "--persist-to", persist, ...args],
      { cwd: ROOT, encoding: "utf8", env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true" } });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout;
  };
  run(["--command", sql]);
  const before = await account();
  const r = await fetch(`${w.base}/__scheduled?cron=${encodeURIComponent("17 3 * * *")}`);
  assert.equal(r.status, 200);
  let left;
  for (let i = 0; i < 40; i++) {
    left = JSON.parse(run(["--json", "--command",
      "SELECT (SELECT group_concat(id) FROM applied WHERE id LIKE '%-batch') AS batches, " +
      "(SELECT group_concat(visitor || ':' || metric) FROM touch WHERE visitor IN ('old-v', 'ancient-v')) AS touches, " +
      "(SELECT COUNT(*) FROM rollup WHERE day = '2020-01-01') AS rollups"]))[0].results[0];
    if (left.rollups === 0) break;
    await sleep(250);
  }
  assert.deepEqual(left, { batches: "recent-batch", touches: "old-v:exposed", rollups: 0 });
  const after = await account();
  assert.deepEqual([after.visits, after.conversions], [before.visits, before.conversions], "this week's figures stay");
});
