#!/usr/bin/env node
// Simulated measurements for the demo account, so that the report page shows real numbers on a
// fresh clone (R-M5). Writes SQL for the measurement database (migrations/) to stdout: the
// last 14 days of visits to the demo site, each row what the pipeline itself would have written
// for them (daily rollups, visitors' histories, conversions), from a fixed seed.
//
//   node scripts/demo-data.mjs [visitsPerDay=250] > build/demo-data.sql
//   npx wrangler d1 execute MEASURE --local --file build/demo-data.sql
//
// The simulation: 5 % of visitors in the account's control group and each campaign's own
// control group as published; exposed visitors accept one engagement in 12 % of visits;
// conversions at 3 % (held out), 4 % (exposed) and 15 % (engaged), worth 20-200 GBP or EUR.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const snapshot = JSON.parse(readFileSync(join(ROOT, "fixtures", "demo", "snapshot.json"), "utf8"));
const perDay = Number(process.argv[2] ?? 250);
const DAY = 86_400_000;

let seed = 20261122;
function random() { // mulberry32
  seed = (seed + 0x6d2b79f5) | 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

// Campaigns a demo visit may meet, how often, and the state their first engagement shows in.
const MEETS = { "c-sales-chat": 0.7, "c-support": 0.35, "c-uk-promo": 0.45, "c-cart-rescue": 0.2, "c-callback": 0.15 };
const campaigns = snapshot.campaigns.filter((c) => c.id in MEETS);
const exposure = (c) => {
  const e = c.engagements[0];
  if (e.channel === "banner" || e.channel === "clickToCall") return "exposed_content";
  if (e.channel === "messaging") return "exposed_messaging";
  return random() < 0.85 ? "exposed_online" : "exposed_busy";
};

const today = Date.parse(`${new Date().toISOString().slice(0, 10)}T00:00:00Z`);
const rollup = new Map();
const touches = [];
const conversions = [];
const count = (day, campaign, engagement, metric, lob = "", ep = "") => {
  const k = [day, campaign, engagement, lob, ep, metric].join("\u0000");
  rollup.set(k, (rollup.get(k) ?? 0) + 1);
};
// A visit counts once per line of business and entry point too (R-M1).
const levels = (day, campaigns, metric, seen = new Set()) => {
  for (const c of campaigns) {
    const e = c.engagements[0];
    for (const [lob, ep] of [[c.lineOfBusiness, ""], ["", e.entryPoint]]) {
      const k = `${lob}|${ep}`;
      if ((lob || ep) && !seen.has(k)) { seen.add(k); count(day, "", "", metric, lob ?? "", ep ?? ""); }
    }
  }
};
const dayOf = (ms) => new Date(ms).toISOString().slice(0, 10); // Europe/London, near enough

let visitorCount = 0;
for (let d = 13; d >= 0; d--) {
  const dayStart = today - d * DAY;
  for (let n = 0; n < perDay; n++) {
    // Some visits are returning visitors' second visits.
    const visitor = `sim-${random() < 0.2 && visitorCount > 50 ? Math.floor(random() * visitorCount) : visitorCount++}`;
    const visit = `sim-visit-${d}-${n}`;
    const at = dayStart + Math.floor(random() * 20 * 3_600_000) + 3 * 3_600_000;
    const day = dayOf(at);
    const touch = (metric, campaign = "", engagement = "") =>
      touches.push([visitor, metric, campaign, engagement, visit, at, day]);
    count(day, "", "", "visits");
    touch("visits");
    const met = campaigns.filter((c) => random() < MEETS[c.id]);
    if (!met.length) continue;
    count(day, "", "", "prospects");
    levels(day, met, "prospects");
    const accountHeld = hash(visitor) < snapshot.account.controlGroupPercent / 100;
    let converts = 0.03;
    if (accountHeld) {
      count(day, "", "", "held");
      touch("held");
    } else {
      const shown = [];
      for (const c of met) {
        if (hash(`${c.id}:${visitor}`) < (c.controlGroupPercent ?? 0) / 100) {
          count(day, c.id, "", "held");
          touch("held", c.id);
        } else shown.push(c);
      }
      if (shown.length) {
        converts = 0.04;
        count(day, "", "", "exposed");
        touch("exposed");
        levels(day, shown, "exposed");
        const viewed = [];
        for (const c of shown) {
          const e = c.engagements[0].id;
          count(day, c.id, "", "exposed");
          touch("exposed", c.id);
          count(day, c.id, e, "exposed");
          count(day, c.id, e, exposure(c));
          if (random() < 0.8) { count(day, c.id, e, "views"); viewed.push(c); }
        }
        levels(day, viewed, "views");
        if (random() < 0.12) {
          const c = shown[Math.floor(random() * shown.length)];
          const e = c.engagements[0].id;
          for (const [cam, eng] of [[c.id, e], [c.id, ""], ["", ""]]) count(day, cam, eng, "engaged");
          count(day, c.id, e, "accepted");
          levels(day, [c], "accepted");
          levels(day, [c], "engaged");
          touch("accepted", c.id, e);
          converts = 0.15;
        } else if (random() < 0.1) {
          const c = shown[0];
          count(day, c.id, c.engagements[0].id, "declines");
        }
      }
    }
    if (random() < converts) {
      const cAt = at + Math.floor(random() * 3_600_000);
      const goal = "purchase";
      const eur = random() < 0.1;
      const cents = Math.round((20 + random() * 180) * 100);
      conversions.push([`sim-order-${d}-${n}`, visitor, visit, goal, cents, eur ? "EUR" : "GBP", cAt, dayOf(cAt)]);
    }
  }
}

// The control groups' draw, as the worker makes it, is a hash of the visitor id; any uniform
// hash serves a simulation.
function hash(s) {
  let h = 2166136261;
  for (const ch of s) h = Math.imul(h ^ ch.charCodeAt(0), 16777619);
  return (h >>> 0) / 4294967296;
}

const q = (v) => (typeof v === "number" ? String(v) : `'${String(v).replaceAll("'", "''")}'`);
function inserts(table, columns, rows, conflict) {
  const out = [];
  for (let i = 0; i < rows.length; i += 400) {
    const values = rows.slice(i, i + 400).map((r) => `(${r.map(q).join(",")})`).join(",\n");
    out.push(`INSERT INTO ${table} (${columns}) VALUES\n${values}\n${conflict};`);
  }
  return out.join("\n");
}
const rollupRows = [...rollup].map(([k, n]) => ["demo", ...k.split("\u0000"), n]);
process.stdout.write([
  "-- Simulated demo measurements (scripts/demo-data.mjs).",
  inserts("rollup", "account, day, campaign, engagement, line_of_business, entry_point, metric, n", rollupRows,
    "ON CONFLICT (account, day, campaign, engagement, line_of_business, entry_point, metric) DO UPDATE SET n = n + excluded.n"),
  inserts("touch", "account, visitor, metric, campaign, engagement, visit, at_ms, day",
    touches.map((t) => ["demo", ...t]), "ON CONFLICT DO NOTHING"),
  inserts("conversion", "account, id, visitor, visit, goal, value_cents, currency, at_ms, day",
    conversions.map((c) => ["demo", ...c]), "ON CONFLICT DO NOTHING"),
  "",
].join("\n"));
process.stderr.write(`demo data: ${14 * perDay} visits, ${visitorCount} visitors, ${conversions.length} conversions\n`);
