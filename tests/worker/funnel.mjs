// What the report's funnel rows should say (R-M1), tallied from what the worker answered and
// what was sent, independently of the worker's own counting: the tests' side of the ledger.
import assert from "node:assert/strict";
import { admin, fixture } from "./harness.mjs";

export const demo = JSON.parse(fixture("demo/snapshot.json"));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Publishes the demo account without control groups, so that every eligible visit is
 * exposed and the tallies follow the answers, with every skill online; `noCaps` also lifts
 * the proactive caps. */
export async function publishMeasuredDemo(base, { noCaps = false } = {}) {
  const doc = structuredClone(demo);
  doc.account.controlGroupPercent = 0;
  if (noCaps) doc.account.proactiveCaps = {};
  for (const c of doc.campaigns) c.controlGroupPercent = 0;
  assert.equal((await admin(base, "PUT", "demo/snapshot", doc, { "If-Match": "0" })).status, 200);
  const online = JSON.parse(fixture("decisions.json")).availability.allOnline;
  assert.equal((await admin(base, "PUT", "demo/availability", { skills: online })).status, 200);
}

/** A report row's level and metric: "campaign/engagement/metric", or "lob:…/metric", "ep:…/metric". */
export const level = (x) => x.lineOfBusiness ? `lob:${x.lineOfBusiness}/${x.metric}`
  : x.entryPoint ? `ep:${x.entryPoint}/${x.metric}` : `${x.campaign}/${x.engagement}/${x.metric}`;

export function add(t, key, n = 1) { t[key] = (t[key] ?? 0) + n; }

export const sorted = (o) => Object.fromEntries(Object.entries(o).sort());

// R-M1: each shown engagement's line of business (its campaign's) and entry point.
const lobOf = Object.fromEntries(demo.campaigns.flatMap((c) => c.engagements.map((e) => [e.id, c.lineOfBusiness])));
const epOf = Object.fromEntries(demo.campaigns.flatMap((c) => c.engagements.map((e) => [e.id, e.entryPoint])));

/** The line-of-business and entry-point keys of `metric` for `engagements`, once each. */
function levels(engagements, metric) {
  return [...new Set(engagements.flatMap((e) => [lobOf[e.engagementId] && `lob:${lobOf[e.engagementId]}/${metric}`,
    epOf[e.engagementId] && `ep:${epOf[e.engagementId]}/${metric}`]).filter(Boolean))];
}

/** Adds `metric` once per line of business and entry point of `engagements` (one visit). */
export function addLevels(want, engagements, metric) {
  for (const k of levels(engagements, metric)) add(want, k);
}

/** The exposure by state a shown engagement counts under. */
export const exposure = (e) => e.channel === "banner" || e.channel === "clickToCall" ? "exposed_content"
  : e.channel === "messaging" ? "exposed_messaging" : `exposed_${e.stateName}`;

/** The keys one page's answer exposes: the account, each campaign, each line of business and
 * entry point, each engagement and its exposure by state. */
export function exposedKeys(engagements) {
  return [
    ...(engagements.length ? ["//exposed"] : []),
    ...new Set(engagements.map((e) => `${e.campaignId}//exposed`)),
    ...levels(engagements, "exposed"),
    ...engagements.flatMap((e) => [`${e.campaignId}/${e.engagementId}/exposed`, `${e.campaignId}/${e.engagementId}/${exposure(e)}`]),
  ];
}

/** Adds what one visit's answer exposed. */
export function addExposed(want, engagements) {
  for (const k of exposedKeys(engagements)) add(want, k);
}

const EVENT_METRIC = { OFFER_IMPRESSION: "views", OFFER_CLICK: "accepted", OFFER_DECLINED: "declines", OFFER_TIMEOUT: "timeouts" };

/** The keys an event on shown engagement `e` counts (none for the events without a metric). */
export function eventKeys(event, e) {
  const metric = EVENT_METRIC[event];
  if (!metric) return [];
  const keys = [`${e.campaignId}/${e.engagementId}/${metric}`, ...levels([e], metric)];
  if (metric === "accepted") {
    keys.push(`${e.campaignId}/${e.engagementId}/engaged`, `${e.campaignId}//engaged`, "//engaged", ...levels([e], "engaged"));
  }
  return keys;
}

/** One visit's side of the ledger: a key counts once per visit (R-M1's distinct counting). */
export class VisitTally {
  constructor(want) { this.want = want; this.seen = new Set(); }
  count(keys) {
    for (const k of keys) {
      if (this.seen.has(k)) continue;
      this.seen.add(k);
      add(this.want, k);
    }
  }
  /** A page view whose answer showed `engagements`; `prospect`: the visit was eligible. */
  page(engagements, prospect) {
    this.count(["//visits", ...(prospect ? ["//prospects"] : []), ...exposedKeys(engagements)]);
  }
  event(event, e) { this.count(["//visits", ...eventKeys(event, e)]); }
}

/** Every row of the account's report for `day`, keyed by [`level`]. */
export async function everyRow(base, day) {
  const r = await admin(base, "GET", `demo/report?from=${day}&to=${day}`);
  assert.equal(r.status, 200, r.text);
  return Object.fromEntries(r.json.rows.map((x) => [level(x), x.n]));
}

/** The rows of `day` without prospects by line of business and entry point: they depend on
 * candidates no answer shows. */
export async function funnel(base, day) {
  return Object.fromEntries(Object.entries(await everyRow(base, day))
    .filter(([k]) => !(k.endsWith("/prospects") && (k.startsWith("lob:") || k.startsWith("ep:")))));
}

/** Waits until `read()` equals `want` (the consumer runs after the answers), then checks that
 * it stays equal: nothing arrives twice later. Fails naming every key that differs. */
export async function settles(read, want, { tries = 120, holdMs = 2500 } = {}) {
  let got;
  for (let i = 0; i < tries; i++) {
    got = await read();
    if (JSON.stringify(sorted(got)) === JSON.stringify(sorted(want))) break;
    await sleep(250);
  }
  assert.deepEqual(differences(got, want), {}, "report against the tally: [reported, sent] per key");
  await sleep(holdMs);
  assert.deepEqual(differences(await read(), want), {}, "no late double count");
}

/** The keys where `got` and `want` differ, as [got, want]. */
export function differences(got, want) {
  const out = {};
  for (const k of new Set([...Object.keys(got), ...Object.keys(want)])) {
    if ((got[k] ?? 0) !== (want[k] ?? 0)) out[k] = [got[k] ?? 0, want[k] ?? 0];
  }
  return sorted(out);
}
