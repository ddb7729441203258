// Soak: a bounded mixed load on the real worker (wrangler dev, loopback) — decisions, events
// (with deliberate duplicates), offsite clicks, a publish every 30 s and an availability push
// every 5 s — then checks that nothing failed and nothing was lost:
//   * zero 5xx and zero degraded decisions;
//   * per visit, the events the visit object applied equal the `applied` counts it answered,
//     and the contexts it issued equal the distinct context ids the decisions carried;
//   * the offsite click totals equal the redirects counted here, per engagement and outcome;
//   * the last published snapshot is the live one (admin read-back and decisions);
//   * the measurement report (R-M4) counts every visit that decided, every visit each
//     engagement was shown to, and every conversion once (a quarter are sent twice) with its
//     revenue, exactly as tallied here.
// Usage: node scripts/soak.mjs [seconds=600]   (scripts/test.sh runs a short one)
import { startWorker, publishDemo, admin, fixture, devProxy, someAddress } from "../tests/worker/harness.mjs";

const SECONDS = Number(process.argv[2] ?? 600);
const SHOP = "https://www.demo-outfitters.example";
const PAGES = ["/shop/boots", "/p/trail-boot-42", "/help", "/"];
const LINKS = ["e-offsite-email", "e-offsite-qr", "e-offsite-retired", "e-unknown"];
const VISITS = 60;

const demo = JSON.parse(fixture("demo/snapshot.json"));
const stats = {};
const latencies = {};
const problems = [];
const record = (kind, status, ms) => {
  stats[kind] ??= {};
  stats[kind][status] = (stats[kind][status] ?? 0) + 1;
  (latencies[kind] ??= []).push(ms);
  if (status >= 500) problems.push(`${kind}: ${status}`);
};
const timed = async (kind, fn) => {
  const t = performance.now();
  const r = await fn();
  record(kind, r.status, performance.now() - t);
  return r;
};

const w = await startWorker();
const deadline = Date.now() + SECONDS * 1000;
const running = () => Date.now() < deadline;
const sleep = (ms) => new Promise((r) => setTimeout(r, Math.max(0, Math.min(ms, deadline - Date.now()))));

// Per visit: contexts seen in decisions, and events the visit said it applied.
const visits = Array.from({ length: VISITS }, (_, i) => ({
  visitId: `soak-visit-${i}`, visitorId: `soak-visitor-${i}`, contexts: new Set(), exposed: new Set(), pending: [], applied: 0, duplicates: 0, page: 0,
}));
const clicks = {};
let lastRevision = 0;
const conversions = { n: 0, cents: 0 };
const decided = new Set();

async function decideLoop(n) {
  for (let i = n; running(); i += 4) {
    const v = visits[i % VISITS];
    if (i % 3 === 0) v.page++;
    const body = { account: "demo", visitorId: v.visitorId, visitId: v.visitId, zones: ["left", "right", "proactive", "embedded:product-chat"],
      page: { url: SHOP + PAGES[v.page % PAGES.length], id: `${v.visitId}-p${v.page}` } };
    const r = await timed("decide", () => fetch(`${w.base}/v1/decide`, {
      method: "POST", headers: { "Content-Type": "application/json", "CF-IPCountry": i % 5 ? "GB" : "US", "CF-Connecting-IP": someAddress() }, body: JSON.stringify(body),
    }));
    const d = await r.json().catch(() => null);
    if (r.status === 200 && d) {
      if (d.degraded) problems.push(`decide degraded: ${d.degraded}`);
      decided.add(v.visitId);
      v.control = d.controlGroups.account; // R-D5: no engagement, so no visit object
      for (const e of d.engagements) {
        v.exposed.add(`${e.campaignId}/${e.engagementId}`);
        if (!v.contexts.has(e.contextId)) {
          v.contexts.add(e.contextId);
          v.pending.push({ event: "OFFER_IMPRESSION", contextId: e.contextId, engagementId: e.engagementId });
        }
      }
    }
  }
}

async function eventsLoop(n) {
  for (let i = n; running(); i += 2) {
    const v = visits[i % VISITS];
    const batch = v.pending.splice(0, 10);
    // One in five batches repeats an event already sent: it must count as a duplicate.
    if (i % 5 === 0 && v.sent?.length) batch.push(v.sent[i % v.sent.length]);
    if (!batch.length) { await sleep(5); continue; }
    const r = await timed("events", () => fetch(`${w.base}/v1/events`, {
      method: "POST", headers: { "Content-Type": "text/plain" }, body: JSON.stringify({ account: "demo", visitId: v.visitId, events: batch }),
    }));
    const text = await r.text();
    const a = r.status === 200 ? JSON.parse(text) : null;
    if (a) {
      v.applied += a.applied;
      v.duplicates += a.duplicates;
      (v.sent ??= []).push(...batch.filter((e) => !v.sent.includes(e)));
    } else {
      problems.push(`events ${r.status}: ${text.slice(0, 300)}`);
    }
  }
}

async function offsiteLoop(n) {
  for (let i = n; running(); i += 2) {
    const link = LINKS[i % LINKS.length];
    const r = await timed("offsite", () => fetch(`${w.base}/o/demo/${link}?utm_source=soak`, {
      redirect: "manual", headers: { "CF-IPCountry": i % 7 ? "GB" : "FR", Cookie: `ee_vid=soak-clicker-${i % 97}`, "CF-Connecting-IP": someAddress() },
    }));
    await r.arrayBuffer();
    const outcome = r.headers.get("x-edge-outcome");
    if (r.status === 302 && outcome) {
      const id = link === "e-unknown" ? "(unknown)" : link;
      clicks[id] ??= {};
      clicks[id][outcome] = (clicks[id][outcome] ?? 0) + 1;
    } else {
      problems.push(`offsite ${link}: ${r.status}`);
    }
  }
}

async function conversionLoop() {
  for (let i = 0; running(); i++) {
    await sleep(150);
    const v = visits[(i * 7) % VISITS];
    const cents = 1000 + (i % 50) * 99;
    const body = JSON.stringify({ id: `soak-order-${i}`, goal: "purchase", value: cents / 100, currency: "GBP", visitorId: v.visitorId, visitId: v.visitId });
    const send = () => timed("conversion", () => fetch(`${w.base}/v1/conversions/demo`, {
      method: "POST", headers: { "Content-Type": "application/json", "CF-Connecting-IP": someAddress() }, body,
    }));
    const r = await send();
    if (r.status !== 202) { problems.push(`conversion ${r.status}: ${await r.text()}`); continue; }
    conversions.n++;
    conversions.cents += cents;
    if (i % 4 === 0) { // a retried report: the same id again, counted once
      const again = await send();
      if (again.status !== 202) problems.push(`conversion retry ${again.status}`);
    }
  }
}

async function publishLoop() {
  for (let n = 1; running(); n++) {
    await sleep(30_000);
    if (!running()) break;
    const next = structuredClone(demo);
    next.account.name = `Demo (soak publish ${n})`;
    const r = await timed("publish", () => admin(w.base, "PUT", "demo/snapshot", next, { "If-Match": String(lastRevision) }));
    if (r.status === 200) lastRevision = r.json.revision;
    else problems.push(`publish ${r.status}: ${r.text}`);
  }
}

async function availabilityLoop() {
  const states = [{ onlineAgents: 4, expectedWaitSeconds: 30 }, { onlineAgents: 2, expectedWaitSeconds: 600 }, { onlineAgents: 0 }];
  for (let n = 0; running(); n++) {
    await sleep(5_000);
    const r = await timed("availability", () => admin(w.base, "PUT", "demo/availability/sales", states[n % states.length]));
    if (r.status !== 200) problems.push(`availability ${r.status}: ${r.text}`);
  }
}

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] : 0;
};

try {
  lastRevision = await publishDemo(w.base, "0");
  await admin(w.base, "PUT", "demo/availability", JSON.parse(fixture("demo/availability.json")));
  const started = Date.now();
  await Promise.all([
    ...[0, 1, 2, 3].map(decideLoop), ...[0, 1].map(eventsLoop), ...[0, 1].map(offsiteLoop),
    publishLoop(), availabilityLoop(), conversionLoop(),
  ]);
  const elapsed = (Date.now() - started) / 1000;
  // Drain: the last events, then the isolate's 2-second click batch.
  for (const v of visits) {
    while (v.pending.length) {
      const r = await fetch(`${w.base}/v1/events`, { method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ account: "demo", visitId: v.visitId, events: v.pending.splice(0, 50) }) });
      const a = await r.json();
      if (r.status !== 200) problems.push(`drain ${r.status}`);
      else v.applied += a.applied;
    }
  }
  await new Promise((r) => setTimeout(r, 3_000));

  let eventsApplied = 0;
  for (const v of visits) {
    const s = (await admin(w.base, "GET", `demo/visits/${v.visitId}`)).json?.visit;
    if (!s) {
      if (!(v.control && v.contexts.size === 0 && v.applied === 0)) problems.push(`${v.visitId}: no visit state`);
      continue;
    }
    const applied = Object.values(s.events).reduce((a, b) => a + b, 0);
    eventsApplied += applied;
    if (applied !== v.applied) problems.push(`${v.visitId}: visit applied ${applied}, answers said ${v.applied}`);
    if ((s.events.OFFER_IMPRESSION ?? 0) !== v.contexts.size) problems.push(`${v.visitId}: ${s.events.OFFER_IMPRESSION} impressions for ${v.contexts.size} contexts`);
    if (s.contextsIssued !== v.contexts.size) problems.push(`${v.visitId}: ${s.contextsIssued} contexts issued, ${v.contexts.size} seen`);
  }
  const totals = (await admin(w.base, "GET", "demo/clicks")).json.clicks;
  if (JSON.stringify(sortKeys(totals)) !== JSON.stringify(sortKeys(clicks))) {
    problems.push(`click totals ${JSON.stringify(totals)} != counted ${JSON.stringify(clicks)}`);
  }
  const live = await admin(w.base, "GET", "demo/snapshot");
  if (live.headers.get("etag") !== `"${lastRevision}"`) problems.push(`live ${live.headers.get("etag")}, last published ${lastRevision}`);
  const d = await fetch(`${w.base}/v1/decide?account=demo&url=${encodeURIComponent(SHOP + "/")}&visit=0`).then((r) => r.json());
  if (d.revision !== lastRevision) problems.push(`decisions on revision ${d.revision}, last published ${lastRevision}`);

  // R-M4: the report counts what was sent, once: visits that decided, each engagement's
  // exposed visits, conversions, revenue.
  const day = (ms) => new Date(ms).toISOString().slice(0, 10);
  const range = `from=${day(started - 86_400_000)}&to=${day(Date.now() + 86_400_000)}`;
  const shown = {};
  for (const v of visits) for (const k of v.exposed) shown[k] = (shown[k] ?? 0) + 1;
  let measured;
  // Offsite clicks in the report (R-M1): per engagement, the outcomes counted here. They come
  // last: an isolate sends its clicks every 2 s, then the queue and the shard's flush.
  const reported = {};
  for (let i = 0; i < 60; i++) {
    const rep = (await admin(w.base, "GET", `demo/report?${range}`)).json;
    for (const k of Object.keys(reported)) delete reported[k];
    for (const r of rep.rows.filter((x) => x.metric.startsWith("offsite_"))) {
      reported[r.engagement] ??= {};
      reported[r.engagement][r.metric.slice("offsite_".length)] = (reported[r.engagement][r.metric.slice("offsite_".length)] ?? 0) + r.n;
    }
    const at = (m) => rep.rows.filter((r) => r.metric === m && !r.campaign && !r.engagement && !r.lineOfBusiness && !r.entryPoint);
    const exposed = {};
    for (const r of rep.rows.filter((x) => x.metric === "exposed" && x.engagement)) {
      exposed[`${r.campaign}/${r.engagement}`] = (exposed[`${r.campaign}/${r.engagement}`] ?? 0) + r.n;
    }
    measured = {
      visits: at("visits").reduce((a, r) => a + r.n, 0),
      exposed,
      conversions: at("conversions").reduce((a, r) => a + r.n, 0),
      cents: Math.round(at("revenue").reduce((a, r) => a + r.value, 0) * 100),
    };
    if (measured.visits === decided.size && JSON.stringify(sortKeys(exposed)) === JSON.stringify(sortKeys(shown))
      && measured.conversions === conversions.n && measured.cents === conversions.cents
      && JSON.stringify(sortKeys(reported)) === JSON.stringify(sortKeys(clicks))) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  if (JSON.stringify(sortKeys(reported)) !== JSON.stringify(sortKeys(clicks))) {
    problems.push(`report offsite clicks ${JSON.stringify(reported)} != counted ${JSON.stringify(clicks)}`);
  }
  if (measured.visits !== decided.size) problems.push(`report visits ${measured.visits}, visits that decided ${decided.size}`);
  if (JSON.stringify(sortKeys(measured.exposed)) !== JSON.stringify(sortKeys(shown))) {
    problems.push(`report exposed visits per engagement ${JSON.stringify(sortKeys(measured.exposed))} != shown ${JSON.stringify(sortKeys(shown))}`);
  }
  if (measured.conversions !== conversions.n) problems.push(`report conversions ${measured.conversions}, sent ${conversions.n}`);
  if (measured.cents !== conversions.cents) problems.push(`report revenue ${measured.cents / 100}, sent ${conversions.cents / 100}`);

  const rows = Object.entries(stats).map(([kind, byStatus]) => {
    const n = Object.values(byStatus).reduce((a, b) => a + b, 0);
    return `${kind.padEnd(13)} ${String(n).padStart(7)} req ${(n / elapsed).toFixed(1).padStart(7)}/s  p50 ${pct(latencies[kind], 50).toFixed(1).padStart(6)} ms  p99 ${pct(latencies[kind], 99).toFixed(1).padStart(6)} ms  ${JSON.stringify(byStatus)}`;
  });
  console.log(`soak: ${elapsed.toFixed(0)} s on ${w.base}`);
  console.log(rows.join("\n"));
  console.log(`events applied (visit objects): ${eventsApplied}; duplicates answered: ${visits.reduce((a, v) => a + v.duplicates, 0)}; contexts: ${visits.reduce((a, v) => a + v.contexts.size, 0)}`);
  console.log(`offsite clicks: ${JSON.stringify(sortKeys(clicks))}`);
  console.log(`measured: ${measured.visits} visits (${decided.size} decided), ${Object.values(measured.exposed).reduce((a, b) => a + b, 0)} engagement exposures (${Object.values(shown).reduce((a, b) => a + b, 0)} shown), ${measured.conversions} conversions (${conversions.n} sent, a quarter twice), revenue ${measured.cents / 100} GBP (${conversions.cents / 100} sent)`);
  console.log(`last published revision: ${lastRevision} (live: ${live.headers.get("etag")})`);
  console.log(`wrangler dev proxy 503s retried (its own answer, workers-sdk#14641): ${devProxy.retries}`);
  if (problems.length) {
    console.error(`soak FAILED: ${problems.length} problem(s)\n${[...new Set(problems)].slice(0, 30).join("\n")}`);
    const worker = w.logs.join("").split("\n").filter((l) => !l.startsWith("{\"level\":\"info\""));
    console.error(`worker output other than info lines (last 60):\n${worker.slice(-60).join("\n")}`);
    process.exitCode = 1;
  } else {
    console.log("soak OK: zero 5xx, counters exact, last publish live");
  }
} finally {
  await w.stop();
}

function sortKeys(o) {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, typeof v === "object" ? sortKeys(v) : v]));
}
