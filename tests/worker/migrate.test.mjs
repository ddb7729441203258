// R-M6 over HTTP against the real worker: a deployment whose measurements are in the D1
// database of earlier releases (its schema, migrations/) moves them into the measurement
// objects with the migration route. Checked against D1's own rows, read here with SQL: the
// funnel's rollups, the conversions per day, the visitors of each arm. Run twice, or resumed
// midway, the report is the same.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { startWorker, admin, publishDemo, keyFor, ROOT } from "./harness.mjs";
import { migrate } from "../../scripts/migrate-measure.mjs";

let w;
const today = new Date().toISOString().slice(0, 10);
const from = new Date(Date.now() - 20 * 86_400_000).toISOString().slice(0, 10);

function d1(args) {
  const r = spawnSync(join(ROOT, "node_modules", ".bin", "wrangler"), ["d1", "execute", "MEASURE", "--local", "--persist-to", w.persist, ...args],
    { cwd: ROOT, encoding: "utf8", maxBuffer: 1 << 26, env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true" } });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}
const select = (sql) => JSON.parse(d1(["--json", "--command", sql]))[0].results;

before(async () => {
  w = await startWorker();
  await publishDemo(w.base, "0");
  const sql = spawnSync("node", [join(ROOT, "scripts", "demo-data.mjs"), "40"], { encoding: "utf8", maxBuffer: 1 << 26 });
  assert.equal(sql.status, 0, sql.stderr);
  const file = join(w.persist, "old-measurements.sql");
  writeFileSync(file, sql.stdout);
  d1(["--file", file]);
});
after(async () => { await w?.stop(); });

async function report() {
  const r = await admin(w.base, "GET", `demo/report?from=${from}&to=${today}`);
  assert.equal(r.status, 200, r.text);
  return r.json;
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const key = (r) => [r.day, r.campaign, r.engagement, r.lineOfBusiness ?? "", r.entryPoint ?? "", r.metric].join("/");

/** Waits until two reads a second apart agree (the shards' flushes have landed). */
async function settled() {
  let last = JSON.stringify(await report());
  for (let i = 0; i < 60; i++) {
    await sleep(1000);
    const now = JSON.stringify(await report());
    if (now === last) return JSON.parse(now);
    last = now;
  }
  assert.fail("the report did not settle");
}

test("R-M6 the D1 measurements move into the objects: the funnel, conversions and arms D1 holds", async () => {
  const key_ = await keyFor(w.base, "demo");
  const totals = await migrate(w.base, "demo", key_);
  const rollups = select("SELECT day, campaign, engagement, line_of_business AS lob, entry_point AS ep, metric, n FROM rollup WHERE account = 'demo'");
  assert.equal(totals.rollupRows, rollups.length);
  assert.ok(totals.visitors > 300, JSON.stringify(totals));
  const rep = await settled();

  const want = Object.fromEntries(rollups.map((r) => [[r.day, r.campaign, r.engagement, r.lob, r.ep, r.metric].join("/"), r.n]));
  const funnel = Object.fromEntries(rep.rows.filter((r) => !r.metric.startsWith("conversions") && !r.metric.startsWith("revenue")).map((r) => [key(r), r.n]));
  assert.deepEqual(funnel, want, "every rollup row, as D1 held it");

  const conversions = Object.fromEntries(select("SELECT day, COUNT(*) AS n FROM conversion WHERE account = 'demo' GROUP BY day").map((r) => [r.day, r.n]));
  const reported = Object.fromEntries(rep.rows.filter((r) => r.metric === "conversions" && !r.campaign).map((r) => [r.day, r.n]));
  assert.deepEqual(reported, conversions);

  // Each arm's visitors: the demo's two weeks are within one cross-session period, so a
  // visitor enters an arm once.
  const arm = (metric) => select(`SELECT COUNT(DISTINCT visitor) AS n FROM touch WHERE account = 'demo' AND campaign = '' AND engagement = '' AND metric = '${metric}'`)[0].n;
  const rate = rep.comparisons.find((c) => c.campaign === "" && c.metric === "conversion_rate");
  assert.equal(rate.control.visitors, arm("held"));
  assert.equal(rate.exposed.visitors, arm("exposed"));
  const convertedHeld = select(`SELECT COUNT(DISTINCT t.visitor) AS n FROM touch t JOIN conversion c ON c.account = t.account AND c.visitor = t.visitor
    AND c.at_ms >= (SELECT MIN(at_ms) FROM touch f WHERE f.account = t.account AND f.visitor = t.visitor AND f.metric = 'held' AND f.campaign = '')
    AND c.at_ms <= (SELECT MIN(at_ms) FROM touch f WHERE f.account = t.account AND f.visitor = t.visitor AND f.metric = 'held' AND f.campaign = '') + 14 * 86400000
    WHERE t.account = 'demo' AND t.campaign = '' AND t.engagement = '' AND t.metric = 'held'`)[0].n;
  assert.ok(Math.abs(rate.control.mean - convertedHeld / arm("held")) < 1e-9, "the control arm's conversion rate");

  // Migrated twice, or resumed from a cursor midway: the same report.
  await migrate(w.base, "demo", key_);
  await migrate(w.base, "demo", key_, { phase: "visitors", after: "sim-2" });
  assert.deepEqual(await settled(), rep);
});

test("R-M6 a cursor that is not one is a 400 and changes nothing", async () => {
  const before = await report();
  const r = await admin(w.base, "POST", "demo/measurements/migrate", { cursor: { phase: "everything" } });
  assert.equal(r.status, 400, r.text);
  assert.equal(r.json.error.field, "cursor");
  assert.deepEqual(await report(), before);
});
