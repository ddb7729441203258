// The measurement pipeline's costs on this machine (R-M4, R-M6, docs/architecture.md "Past one
// machine"): N synthetic visits (a decision each, half of them accepting an engagement and
// converting) through the real worker, visit objects, the local Queue, the visitors' ledgers,
// the account's shards and summary; prints how long until the report counts them all, and
// per visit: queue messages, ledger calls, shard calls, flushes and the rows they carried (from
// the consumer's and the shards' own log lines) and the objects' local storage; then the
// report's read time and, on the idle pipeline, how long a conversion takes to reach the report
// (FRESHNESS=n conversions, default 40).
// Usage: EDGE_PREBUILT=1 node scripts/bench-measure.mjs [visits=2000] [concurrency=32]
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startWorker, applyMigrations, admin, fixture, someAddress, TOKEN } from "../tests/worker/harness.mjs";

/** Files and bytes of each object class's local SQLite files under `dir`. */
function objectFiles(dir, out = {}) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) objectFiles(p, out);
    else if (/\.sqlite(-wal)?$/.test(e.name)) {
      const cls = /(VisitorLedger|MeasureTotals|VisitorSession|CallSession|AccountState)/.exec(p)?.[1];
      if (!cls) continue;
      const c = (out[cls] ??= { files: 0, bytes: 0, wal: 0 });
      if (e.name.endsWith(".sqlite")) {
        c.files += 1;
        c.bytes += statSync(p).size;
      } else c.wal += statSync(p).size;
    }
  }
  return out;
}

const N = Number(process.argv[2] ?? 2000);
const CONCURRENCY = Number(process.argv[3] ?? 32);
const FRESHNESS = Number(process.env.FRESHNESS ?? 40);
const SHOP = "https://www.demo-outfitters.example/shop/boots";
const NOW = "2026-12-03T10:00:00Z";
const DAY = "2026-12-03";
const clock = { "X-Test-Now": NOW, "X-Test-Root": TOKEN };
// R-S3 limits per client address: each request comes from its own.
const from = () => ({ "CF-Connecting-IP": someAddress() });

// Its own local state, kept until the end so that the database's size can be read.
const persist = mkdtempSync(join(tmpdir(), "edge-engage-bench-"));
applyMigrations(persist);
const w = await startWorker({ persist });
try {
  const doc = JSON.parse(fixture("demo/snapshot.json"));
  doc.account.proactiveCaps = {};
  await admin(w.base, "PUT", "demo/snapshot", doc, { "If-Match": "0" });
  await admin(w.base, "PUT", "demo/availability", JSON.parse(fixture("demo/availability.json")));
  const started = performance.now();
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < N; i = next++) {
      const visitId = `bench-visit-${i}`;
      const r = await fetch(`${w.base}/v1/decide`, { method: "POST", headers: { "Content-Type": "application/json", "CF-IPCountry": "GB", ...clock, ...from() },
        body: JSON.stringify({ account: "demo", visitorId: `bench-visitor-${i}`, visitId, page: { url: SHOP, id: "p1" } }) });
      const d = await r.json();
      const first = d.engagements?.[0];
      if (i % 2 === 0 && first) {
        await fetch(`${w.base}/v1/events`, { method: "POST", headers: { "Content-Type": "application/json", ...clock, ...from() },
          body: JSON.stringify({ account: "demo", visitId, events: [{ event: "OFFER_CLICK", contextId: first.contextId }] }) });
        await fetch(`${w.base}/v1/conversions/demo`, { method: "POST", headers: { "Content-Type": "application/json", ...clock, ...from() },
          body: JSON.stringify({ id: `bench-order-${i}`, goal: "purchase", value: 25, currency: "GBP", visitorId: `bench-visitor-${i}`, visitId }) });
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const sent = performance.now();
  let visits = 0;
  while (visits < N && performance.now() - sent < 300_000) {
    const rep = (await admin(w.base, "GET", `demo/report?from=${DAY}&to=${DAY}&format=json`)).json;
    visits = rep.rows.filter((r) => r.metric === "visits" && !r.campaign && !r.lineOfBusiness && !r.entryPoint).reduce((a, r) => a + r.n, 0);
    if (visits < N) await new Promise((r) => setTimeout(r, 200));
  }
  const done = performance.now();
  const drained = w.logs.join("");
  // The report's cost: five reads of the day, timed.
  const reads = [];
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    await admin(w.base, "GET", `demo/report?from=${DAY}&to=${DAY}&format=json`);
    reads.push(performance.now() - t);
  }
  // Freshness (R-M4): conversions sent one at a time on an idle pipeline, each timed from its
  // 202 until the report counts it.
  const fresh = [];
  const conversionsNow = async () => (await admin(w.base, "GET", `demo/report?from=${DAY}&to=${DAY}&format=json`)).json.rows
    .filter((r) => r.metric === "conversions" && !r.campaign).reduce((a, r) => a + r.n, 0);
  let counted = await conversionsNow();
  for (let i = 0; i < FRESHNESS; i++) {
    await fetch(`${w.base}/v1/conversions/demo`, { method: "POST", headers: { "Content-Type": "application/json", ...clock, ...from() },
      body: JSON.stringify({ id: `fresh-order-${i}`, goal: "purchase", visitorId: `bench-visitor-${i}` }) });
    const t = performance.now();
    while ((await conversionsNow()) <= counted && performance.now() - t < 30_000) await new Promise((r) => setTimeout(r, 50));
    fresh.push(performance.now() - t);
    counted += 1;
  }
  fresh.sort((a, b) => a - b);
  const pct = (q) => fresh[Math.min(fresh.length - 1, Math.floor(q * fresh.length))];
  const logs = drained.split("\n");
  const calls = logs.map((l) => /measurement: (\d+) messages \((\d+) told to ledgers\) to shard/.exec(l)).filter(Boolean);
  const flushes = logs.map((l) => /measurement: shard \d+ of \S+ flushed (\d+) rows/.exec(l)).filter(Boolean);
  const sum = (ms, k) => ms.reduce((a, m) => a + Number(m[k]), 0);
  const deliveries = logs.map((l) => /measurement: delivery: ledgers (\d+) ms, shards (\d+) ms/.exec(l)).filter(Boolean);
  const per = (n) => (n / N).toFixed(2);
  console.log(`bench-measure: ${N} visits, concurrency ${CONCURRENCY}, on ${w.base}`);
  console.log(`  traffic sent in ${((sent - started) / 1000).toFixed(1)} s (${(N / ((sent - started) / 1000)).toFixed(0)} visits/s)`);
  console.log(`  all ${visits} visits in the report ${((done - sent) / 1000).toFixed(1)} s after the last request`);
  console.log(`  per visit: ${per(sum(calls, 1))} queue messages, ${per(sum(calls, 2))} ledger calls, ${per(calls.length)} shard calls, ${per(flushes.length)} flushes carrying ${per(sum(flushes, 1))} rows`);
  console.log(`  consumer: ${deliveries.length} deliveries, ${sum(deliveries, 1)} ms asking ledgers and ${sum(deliveries, 2)} ms sending to shards in all (${(sum(deliveries, 1) / Math.max(1, deliveries.length)).toFixed(0)} and ${(sum(deliveries, 2) / Math.max(1, deliveries.length)).toFixed(0)} ms per delivery)`);
  console.log(`  over ${((done - started) / 1000).toFixed(1)} s: ${(flushes.length / ((done - started) / 1000)).toFixed(1)} flushes/s to the summary, ${(sum(flushes, 1) / Math.max(1, flushes.length)).toFixed(1)} rows each`);
  console.log(`  report of the day: ${Math.min(...reads).toFixed(0)}-${Math.max(...reads).toFixed(0)} ms`);
  if (fresh.length) console.log(`  freshness, ${fresh.length} conversions one at a time: p50 ${pct(0.5).toFixed(0)} ms, p99 ${pct(0.99).toFixed(0)} ms, worst ${fresh[fresh.length - 1].toFixed(0)} ms from the 202 to the report`);
  await w.stop();
  for (const [cls, c] of Object.entries(objectFiles(persist))) {
    console.log(`  ${cls}: ${c.files} objects, ${(c.bytes / 1e6).toFixed(1)} MB of database files (${(c.bytes / Math.max(1, c.files) / 1024).toFixed(1)} KB each, ${(c.bytes / N).toFixed(0)} bytes per visit) and ${(c.wal / 1e6).toFixed(1)} MB of write-ahead logs`);
  }
  if (visits !== N) { console.error(`only ${visits} of ${N} visits counted`); process.exitCode = 1; }
} finally {
  await w.stop();
  if (!process.env.BENCH_KEEP) rmSync(persist, { recursive: true, force: true });
  else console.log(`  local state kept in ${persist}`);
}
