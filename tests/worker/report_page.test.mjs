// R-M5: the report page in a real browser (Debian's Chromium through playwright-core) against
// the real worker, on the demo account's simulated two weeks (scripts/demo-data.mjs, what the
// dev command loads): the numbers drawn are the report API's, the control-against-exposed chart
// has an interval per comparison, a wrong token shows an error and no data, and the page runs
// under its Content-Security-Policy without an error. Screenshot: test-output/report.png.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { startWorker, admin, publishDemo, keyFor, ROOT } from "./harness.mjs";
import { migrate } from "../../scripts/migrate-measure.mjs";

const OUT = join(ROOT, "test-output");
let w, browser, page;
const problems = [];

before(async () => {
  mkdirSync(OUT, { recursive: true });
  w = await startWorker();
  await publishDemo(w.base, "0");
  const sql = spawnSync("node", [join(ROOT, "scripts", "demo-data.mjs")], { encoding: "utf8", maxBuffer: 1 << 26 });
  assert.equal(sql.status, 0, sql.stderr);
  const file = join(w.persist, "demo-data.sql");
  writeFileSync(file, sql.stdout);
  const r = spawnSync(join(ROOT, "node_modules", ".bin", "wrangler"),
    ["d1", "execute", "MEASURE", "--local", "--persist-to", w.persist, "--file", file],
    { cwd: ROOT, encoding: "utf8", env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true" } });
  assert.equal(r.status, 0, r.stderr);
  // The simulated weeks are written as the D1 database of earlier releases held them, and
  // moved into the measurement objects as a deployment's are (R-M6).
  await migrate(w.base, "demo", await keyFor(w.base, "demo"));
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-sync"],
  });
  page = await (await browser.newContext({ viewport: { width: 1200, height: 900 } })).newPage();
  page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
  page.on("console", (m) => { if (m.type() === "error") problems.push(`console: ${m.text()}`); });
});
after(async () => {
  await browser?.close();
  await w?.stop();
});

const today = new Date().toISOString().slice(0, 10);
const from = new Date(Date.now() - 29 * 86_400_000).toISOString().slice(0, 10);

test("R-M5 a wrong token shows an error and no numbers", async () => {
  await page.goto(`${w.base}/report/demo`);
  await page.fill("#token", "not-the-token");
  await page.click("button[type=submit]");
  await page.waitForSelector("#status.error");
  assert.match(await page.textContent("#status"), /missing or wrong bearer token/);
  assert.equal(await page.isHidden("#report"), true);
});

test("R-M5 R-M3 the report page draws the API's funnel, trend and control against exposed", async () => {
  const api = await admin(w.base, "GET", `demo/report?from=${from}&to=${today}`);
  assert.equal(api.status, 200);
  const rows = api.json.rows.filter((r) => r.campaign === "" && r.engagement === "" && !r.lineOfBusiness && !r.entryPoint);
  const total = (m) => rows.filter((r) => r.metric === m).reduce((a, r) => a + r.n, 0);
  assert.ok(total("visits") >= 3000, "the simulated weeks are there");
  // The wrong token above was kept for the tab: forget it (and its expected 401s).
  await page.evaluate(() => sessionStorage.clear());
  problems.length = 0;

  await page.goto(`${w.base}/report/demo`);
  await page.fill("#token", await keyFor(w.base, "demo"));
  await page.click("button[type=submit]");
  await page.waitForSelector("#report:not([hidden])");
  // Totals and the funnel say what the API says.
  const tiles = Object.fromEntries(await page.$$eval("#totals div", (ds) => ds.map((d) => [d.querySelector("dt").textContent, d.querySelector("dd").textContent])));
  const fmt = new Intl.NumberFormat("en", { maximumFractionDigits: 2 });
  assert.equal(tiles.Visits, fmt.format(total("visits")));
  assert.equal(tiles.Exposed, fmt.format(total("exposed")));
  assert.equal(tiles.Conversions, fmt.format(total("conversions")));
  const funnel = await page.getAttribute("#funnel svg", "aria-label");
  for (const [m, label] of [["visits", "Visits"], ["prospects", "Prospects"], ["held", "Held out (control)"], ["engaged", "Engaged"]]) {
    assert.ok(funnel.includes(`${label} ${total(m)}`), `${label} in ${funnel}`);
  }
  assert.equal(await page.locator("#funnel rect").count(), 9);
  // The daily trend has a line per series over the 30 days.
  for (const s of ["visits", "exposed", "engaged", "conversions"]) {
    const points = (await page.getAttribute(`#trend polyline[data-series=${s}]`, "points")).split(" ");
    assert.equal(points.length, 30, s);
  }
  // Control against exposed: one line per comparison, an interval for each computed one, the
  // always-valid interval at least as wide as the fixed one.
  const table = api.json.comparisons;
  assert.ok(table.some((c) => c.result), "at least one comparison is computed");
  assert.equal(await page.locator("#comparisons tr").count(), table.length + 1);
  for (const c of table.filter((x) => x.result)) {
    const g = page.locator(`#lift g[data-campaign="${c.campaign}"][data-metric="${c.metric}"]`).first();
    const width = async (cls) => {
      const [x1, x2] = await Promise.all(["x1", "x2"].map((a) => g.locator(`line.${cls}`).getAttribute(a)));
      return Number(x2) - Number(x1);
    };
    assert.ok(await width("sequential") >= await width("fixed") - 1e-9, JSON.stringify(c));
  }
  const account = page.locator("#comparisons tr", { hasText: "conversion rate" }).first();
  assert.match(await account.textContent(), /^Account/);
  // R-M1: lines of business and entry points have their rows.
  const levels = api.json.rows.filter((r) => r.lineOfBusiness === "sales" && r.metric === "exposed").reduce((a, r) => a + r.n, 0);
  assert.ok(levels > 0);
  assert.equal(await page.textContent('#levels tr[data-level="lineOfBusiness"][data-name="sales"] td:nth-of-type(3)'), fmt.format(levels));
  assert.ok(await page.locator('#levels tr[data-level="entryPoint"]').count() > 0);
  await page.screenshot({ path: join(OUT, "report.png"), fullPage: true });
  assert.deepEqual(problems, [], "no script or CSP error");
});

test("R-M5 the page itself holds no data and is served with a strict policy", async () => {
  const r = await fetch(`${w.base}/report/demo`);
  assert.equal(r.status, 200);
  const csp = r.headers.get("content-security-policy");
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /script-src 'self'/);
  assert.doesNotMatch(await r.text(), /conversions_engaged|"rows"/);
  assert.equal((await fetch(`${w.base}/report/demo/other.js`)).status, 404);
  assert.equal((await fetch(`${w.base}/report/bad%20id`)).status, 400);
});
