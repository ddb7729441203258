#!/usr/bin/env node
// R-M6: moves an account's measurements from the D1 database of earlier releases into the
// measurement objects (docs/architecture.md, "Migrating from D1"): calls the migration route
// with each answer's cursor until it is done. Resumable (pass the last cursor printed) and
// idempotent (a second run changes nothing).
//
//   node scripts/migrate-measure.mjs <worker origin> <account> <key with the publish scope> [cursor JSON]
import { pathToFileURL } from "node:url";

/** Runs the migration of `account` to the end; returns the totals moved. */
export async function migrate(base, account, key, cursor = null, log = () => {}) {
  const totals = { calls: 0, rollupRows: 0, visitors: 0, messages: 0 };
  // A step is idempotent: one that got no answer (a connection closed under it) is sent again.
  const step = async (tries = 3) => {
    try {
      return await fetch(`${base}/v1/admin/accounts/${account}/measurements/migrate`, {
        method: "POST",
        headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/json" },
        body: JSON.stringify({ cursor }),
      });
    } catch (e) {
      if (tries <= 1) throw e;
      return step(tries - 1);
    }
  };
  for (;;) {
    const r = await step();
    const text = await r.text();
    if (r.status !== 200) throw new Error(`migration step answered ${r.status}: ${text} (resume with cursor ${JSON.stringify(cursor)})`);
    const done = JSON.parse(text);
    totals.calls += 1;
    for (const k of ["rollupRows", "visitors", "messages"]) totals[k] += done[k];
    log(done);
    if (done.done) return totals;
    cursor = done.cursor;
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const [base, account, key, cursor] = process.argv.slice(2);
  if (!base || !account || !key) {
    console.error("usage: node scripts/migrate-measure.mjs <worker origin> <account> <key> [cursor JSON]");
    process.exit(2);
  }
  const totals = await migrate(base, account, key, cursor ? JSON.parse(cursor) : null,
    (s) => console.error(`migrate: ${JSON.stringify(s.cursor)}`));
  console.log(JSON.stringify(totals));
}
