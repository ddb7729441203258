// The measurement pipeline's throughput on this machine (R-M4, docs/architecture.md "Past one
// machine"): N synthetic visits (a decision each, half of them accepting an engagement and
// converting) through the real worker, visit objects, the local Queue and D1; prints how long
// until the report counts them all, and what the consumer wrote: messages, deliveries, D1 rows
// and rows per second (from the consumer's own log lines).
// Usage: EDGE_PREBUILT=1 node scripts/bench-measure.mjs [visits=2000] [concurrency=32]
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startWorker, applyMigrations, admin, fixture, someAddress, TOKEN } from "../tests/worker/harness.mjs";

/** Bytes of the local D1 database files under `dir`. */
function d1Bytes(dir) {
  let total = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) total += d1Bytes(p);
    else if (p.includes(`${join("v3", "d1")}`) && /\.sqlite(-wal)?$/.test(e.name)) total += statSync(p).size;
  }
  return total;
}

const N = Number(process.argv[2] ?? 2000);
const CONCURRENCY = Number(process.argv[3] ?? 32);
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
  const lines = w.logs.join("").split("\n").map((l) => /delivery of (\d+) messages, (\d+) statements, (\d+) rows written in (\d+) ms/.exec(l)).filter(Boolean);
  const total = (k) => lines.reduce((a, m) => a + Number(m[k]), 0);
  const d1ms = total(4);
  console.log(`bench-measure: ${N} visits, concurrency ${CONCURRENCY}, on ${w.base}`);
  console.log(`  traffic sent in ${((sent - started) / 1000).toFixed(1)} s (${(N / ((sent - started) / 1000)).toFixed(0)} visits/s)`);
  console.log(`  all ${visits} visits in the report ${((done - sent) / 1000).toFixed(1)} s after the last request`);
  console.log(`  consumer: ${lines.length} deliveries, ${total(1)} messages (${(total(1) / N).toFixed(2)} per visit), ${total(2)} statements, ${total(3)} D1 rows written (${(total(3) / N).toFixed(1)} per visit)`);
  console.log(`  D1 time ${d1ms} ms in all: ${(total(3) / (d1ms / 1000)).toFixed(0)} rows written per second of D1 time, ${(total(1) / (d1ms / 1000)).toFixed(0)} messages per second`);
  await w.stop();
  const bytes = d1Bytes(persist);
  console.log(`  D1 files ${(bytes / 1e6).toFixed(1)} MB with the write-ahead log: at most ${(bytes / N).toFixed(0)} bytes per visit`);
  if (visits !== N) { console.error(`only ${visits} of ${N} visits counted`); process.exitCode = 1; }
} finally {
  await w.stop();
  if (!process.env.BENCH_KEEP) rmSync(persist, { recursive: true, force: true });
  else console.log(`  local state kept in ${persist}`);
}
