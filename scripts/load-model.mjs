// A load model past one machine: for one account's traffic spread over Cloudflare's
// locations, the requests per second each platform part receives, with its limit beside it.
// The per-request counts come from the code paths (named below) and, where they vary with
// traffic, from measurements on this machine (BENCHMARKS.md). It prints that arithmetic, then
// simulates every isolate of every location (Poisson arrivals) to find the worst second on the
// account's object and on its busiest click shard.
//
//   node scripts/load-model.mjs [decisions per minute] [locations] [isolates per location]
//   node scripts/load-model.mjs 1000000 300 4
const [perMinute = 1_000_000, locations = 300, isolates = 4] = process.argv.slice(2).map(Number);

// Inputs, each with where it comes from.
const model = {
  pageViewsPerVisit: 5, // the "realistic visit" mix
  secondsBetweenPageViews: 30,
  // platform/decide.rs: one call to the visit's object per decision (none for account-control
  // visitors before the answer; they are counted after it, also one call).
  visitCallsPerDecision: 1,
  // tag/src/tag.ts: per page view, OFFER_DISPLAY and OFFER_IMPRESSION beacons for what is shown
  // (about 2 engagements), a click on some; each beacon is one /v1/events call, one visit call.
  eventCallsPerDecision: 2,
  // platform/snapshots.rs: an isolate asks the account's object for its view at most every
  // VIEW_TTL_MS = 5 s while it has traffic (refreshed after the answer, STALE_LIMIT_MS = 10 s).
  viewSecondsPerIsolate: 5,
  // platform/offsite.rs: an isolate adds its clicks once per 2 s to one of the account's
  // CLICK_SHARDS objects, drawn once per isolate (platform/bindings.rs).
  clickBatchSecondsPerIsolate: 2,
  clickShards: 8,
  offsiteClicksPerDecision: 0.02,
  // BENCHMARKS.md, measurement pipeline (scripts/bench-measure.mjs): queue messages per visit.
  queueMessagesPerVisit: 1.96,
  // KV: a revision is read once per isolate per publish (cacheTtl one day on revision keys).
  publishesPerHour: 6,
};

// Platform limits (Cloudflare's limits pages, late 2026; TOOLCHAIN.md).
const limits = {
  accountObject: { value: 1_000, note: "Durable Object soft limit, requests/s per object" },
  visitObject: { value: 1_000, note: "per object; each visit has its own" },
  queue: { value: 5_000, note: "messages/s per queue" },
  kv: { value: 10_000, note: "reads/s of one hot key before the location cache" },
};

const decisions = perMinute / 60;
const perLocation = decisions / locations;
const visits = decisions / model.pageViewsPerVisit;
const allIsolates = locations * isolates;
const clickBatches = Math.min(allIsolates / model.clickBatchSecondsPerIsolate, decisions * model.offsiteClicksPerDecision);
const rows = [
  ["account object: views, asked per isolate (before the Cache API)", allIsolates / model.viewSecondsPerIsolate, limits.accountObject],
  ["account object: views, shared per location (Cache API, built)", locations / model.viewSecondsPerIsolate, limits.accountObject],
  ["account object: click batches (before the click shards)", clickBatches, limits.accountObject],
  [`click shard objects, each (${model.clickShards}, built)`, clickBatches / model.clickShards, limits.accountObject],
  ["visit objects, all (decide + events)", decisions * (model.visitCallsPerDecision + model.eventCallsPerDecision), null],
  ["visit objects, one visit's", (model.visitCallsPerDecision + model.eventCallsPerDecision) / model.secondsBetweenPageViews, limits.visitObject],
  ["KV revision reads after a publish", (allIsolates * model.publishesPerHour) / 3600, limits.kv],
  ["queue messages", visits * model.queueMessagesPerVisit, limits.queue],
];

const fmt = (n) => (n >= 100 ? Math.round(n).toLocaleString("en") : n.toFixed(1));
console.log(`${perMinute.toLocaleString("en")} decisions a minute = ${fmt(decisions)}/s over ${locations} locations (${fmt(perLocation)}/s each, ${isolates} isolates each), ${fmt(visits)} visits/s\n`);
console.log("| part | requests/s | limit | use |");
console.log("|---|---|---|---|");
for (const [name, rate, limit] of rows) {
  const use = limit ? `${Math.round((100 * rate) / limit.value)} %` : "spread over objects";
  console.log(`| ${name} | ${fmt(rate)} | ${limit ? `${limit.value.toLocaleString("en")} (${limit.note})` : "—"} | ${use} |`);
}
const over = rows.filter(([, rate, limit]) => limit && rate > limit.value);
console.log(over.length ? `\nOver a limit: ${over.map(([n]) => n).join("; ")}.` : "\nEvery part is under its limit.");

// The simulation: every isolate of every location as the worker's own policy runs it, fed
// with Poisson arrivals at the rates above, over `SIM_SECONDS` of simulated time, with a
// publish every 10 minutes (which makes the publishing isolate fetch at once and drops its
// location's shared view). Offsite clicks are sent once per 2 s per isolate that has some
// (platform/offsite.rs). It counts the account object's requests per simulated second and
// checks the worst second against the object's limit. Two policies for the views:
//
// * `isolate`: each isolate asks the object itself (the worker before the Cache API):
//   freshness.rs `own`: a view under 5 s old is used; 5 to 10 s old it is used and one
//   refresh is started after the answer; older, it is fetched before answering.
// * `location` (built): the same, but a refresh first looks at the location's shared view
//   (freshness.rs `at_location`): adopted with the age of its read while under 5 s (or under
//   10 s while another isolate's claim on it is under 2 s old); otherwise claimed, then
//   fetched. A fetch takes the round trip to the account's object, which lives in one place:
//   20 to 300 ms depending on the location. The Cache API's own reads and writes are taken as
//   instant (they stay in the data center).
const SIM_SECONDS = Number(process.env.SIM_SECONDS ?? 120);
const VIEW_TTL = 5, STALE = 10, CLICK_BATCH = 2, PUBLISH_EVERY = 600;
// `CLAIM_S=0` shows what the claim buys: without it, every isolate of a location whose view
// comes due during one round trip to the object asks the object too.
const CLAIM = Number(process.env.CLAIM_S ?? 2);
const perIsolate = decisions / allIsolates;
const clicksPerIsolate = (decisions * model.offsiteClicksPerDecision) / allIsolates;

// `shards`: 0 sends the click batches to the account's object; otherwise each isolate draws one
// of that many click shard objects, and the shards' busiest second is reported beside.
function simulate(policy, shards) {
  let seed = 7, shardSeed = 11;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const drawShard = () => Math.floor(((shardSeed = (shardSeed * 1103515245 + 12345) % 2147483648) / 2147483648) * shards);
  const perShard = Array.from({ length: shards }, () => new Float64Array(SIM_SECONDS));
  const next = (rate) => -Math.log(1 - rand()) / rate;
  const perSecond = new Float64Array(SIM_SECONDS);
  let views = 0;
  const count = (t, view) => { if (t < SIM_SECONDS) { perSecond[Math.floor(t)]++; if (view) views++; } };
  for (let l = 0; l < locations; l++) {
    const rtt = 0.02 + rand() * 0.28;
    // The location's view (Cache API): read at `fetchedAt`, claimed at `claimedAt`; `landing`
    // holds the fetches under way as [lands at, read at].
    const shared = { fetchedAt: -Infinity, claimedAt: -Infinity };
    let landing = [];
    // Each isolate starts with a view of a random age so that they are not in step (in the
    // location policy, the location's view, which they all adopted).
    const start = -rand() * VIEW_TTL;
    if (policy === "location") shared.fetchedAt = start;
    const all = Array.from({ length: isolates }, () => ({
      fetchedAt: policy === "location" ? start : -rand() * VIEW_TTL,
      inFlight: null, // a refresh after the answer: [lands at, read at]
      lastClickSend: -rand() * CLICK_BATCH,
      clickAt: next(clicksPerIsolate),
      shard: shards ? drawShard() : null,
    }));
    const arrivals = [];
    all.forEach((_, i) => { for (let t = next(perIsolate); t < SIM_SECONDS; t += next(perIsolate)) arrivals.push([t, i]); });
    arrivals.sort((x, y) => x[0] - y[0]);
    let publishes = 0;
    for (const [t, i] of arrivals) {
      const me = all[i];
      for (; me.clickAt < t; me.clickAt += next(clicksPerIsolate)) {
        if (me.clickAt - me.lastClickSend >= CLICK_BATCH) {
          if (me.shard === null) count(me.clickAt, false);
          else if (me.clickAt < SIM_SECONDS) perShard[me.shard][Math.floor(me.clickAt)]++;
          me.lastClickSend = me.clickAt;
        }
      }
      for (const [at, read] of landing) if (at <= t && read >= shared.fetchedAt) { shared.fetchedAt = read; shared.claimedAt = -Infinity; }
      landing = landing.filter(([at]) => at > t);
      if (me.inFlight && me.inFlight[0] <= t) { me.fetchedAt = Math.max(me.fetchedAt, me.inFlight[1]); me.inFlight = null; }
      if (l === 0 && i === 0 && Math.floor(t / PUBLISH_EVERY) > publishes) {
        // This isolate publishes: it fetches the view at once, and its location drops its own.
        publishes = Math.floor(t / PUBLISH_EVERY);
        count(t, true); me.fetchedAt = t; shared.fetchedAt = -Infinity;
        continue;
      }
      const age = t - me.fetchedAt;
      const blocking = age >= STALE;
      if (age < VIEW_TTL || (!blocking && me.inFlight)) continue;
      const fetch = () => {
        count(t, true);
        if (blocking) me.fetchedAt = t; else me.inFlight = [t + rtt, t];
        if (policy === "location") landing.push([t + rtt, t]);
      };
      if (policy === "isolate") { fetch(); continue; }
      const sharedAge = t - shared.fetchedAt;
      const claimed = t - shared.claimedAt < CLAIM;
      const notBehind = shared.fetchedAt >= me.fetchedAt;
      if (notBehind && sharedAge < VIEW_TTL) me.fetchedAt = shared.fetchedAt; // Adopt
      else if (claimed && !blocking) continue; // KeepOwn
      else if (claimed && notBehind && sharedAge < STALE) me.fetchedAt = shared.fetchedAt; // Adopt
      else { if (shared.fetchedAt > -Infinity) shared.claimedAt = t; fetch(); } // Fetch
    }
  }
  const sorted = Array.from(perSecond).sort((x, y) => x - y);
  return {
    views: views / SIM_SECONDS,
    mean: sorted.reduce((x, y) => x + y, 0) / sorted.length,
    p99: sorted[Math.floor(0.99 * (sorted.length - 1))],
    worst: sorted[sorted.length - 1],
    shardWorst: Math.max(0, ...perShard.flatMap((s) => Array.from(s))),
  };
}

console.log(`\nSimulated ${SIM_SECONDS} s, ${allIsolates.toLocaleString("en")} isolates: the account object's requests per second (views and click batches; limit ${limits.accountObject.value.toLocaleString("en")}):\n`);
console.log("| views asked | click batches to | views/s | all, mean | all, p99 | all, worst second | busiest click shard, worst second | under the limit |");
console.log("|---|---|---|---|---|---|---|---|");
for (const [policy, shards] of [["isolate", 0], ["location", 0], ["location", model.clickShards]]) {
  const r = simulate(policy, shards);
  const under = Math.max(r.worst, r.shardWorst) <= limits.accountObject.value;
  const built = shards > 0 ? " (built)" : "";
  const to = shards ? `${shards} click shards` : "the account object";
  console.log(`| per ${policy}${built} | ${to} | ${fmt(r.views)} | ${fmt(r.mean)} | ${fmt(r.p99)} | ${fmt(r.worst)} | ${shards ? fmt(r.shardWorst) : "—"} | ${under ? "yes" : "**no**"} |`);
  if (built && !under) process.exitCode = 1;
}

// R-M6: the measurement stores for one account at 1 M, 10 M and 100 M visits a day, and for
// 1,000 accounts of 1 M each, over the report's 400 days. Per-visit costs are measured by
// `scripts/bench-measure.mjs` (BENCHMARKS.md); the objects' limits are Cloudflare's (a Durable
// Object: about 1,000 requests/s, 10 GB), held with a margin of 2 (500/s, 5 GB); a queue
// delivers at most 5,000 messages/s (margin: 2,500).
const store = {
  shards: 64, // measure::totals::SHARDS
  flushesPerShardPerSecond: 1, // totals::FLUSH_MS
  batch: 100, // wrangler.toml max_batch_size: messages per delivery at load
  ledgerCallsPerMessage: 1, // measured 1.96 ledger calls for 1.96 messages a visit
  bytesPerShardId: 200, // a: and t: entries of one message id, with SQLite's overhead
  idDays: 7, // ids kept (ledger::LATE_MS)
  summaryRowsPerDay: 35_000, // a 2,000-engagement account: about 15 metrics per engagement, and arms
  bytesPerSummaryRow: 150,
  ledgerBytes: 14_000, // measured: a ledger's database file
  peak: 3,
};
const margin = { requests: 500, bytes: 5e9, queue: 2_500 };
const gb = (b) => `${(b / 1e9).toFixed(2)} GB`;
const ok = (v, limit) => (v <= limit ? "yes" : "**no**");
console.log("\nMeasurement stores (R-M6), per object, average and peak (3× average) second, size at the end of retention:\n");
console.log("| traffic | queue messages/s (peak) | ledger requests/s, one visitor | shard requests/s (peak) | shard ids (7 days) | summary requests/s | summary size (400 days) | one ledger | within the margin |");
console.log("|---|---|---|---|---|---|---|---|---|");
for (const [name, visitsPerDay, accounts] of [["1 account, 1 M visits/day", 1e6, 1], ["1 account, 10 M", 1e7, 1], ["1 account, 100 M", 1e8, 1], ["1,000 accounts of 1 M", 1e6, 1000]]) {
  const perSecond = visitsPerDay / 86_400;
  const messages = perSecond * model.queueMessagesPerVisit;
  const peakMessages = messages * store.peak;
  const deliveries = peakMessages / store.batch;
  const inDelivery = 1 - (1 - 1 / store.shards) ** store.batch;
  const shardPeak = deliveries * inDelivery;
  const shardBytes = (messages * 86_400 * store.idDays * store.bytesPerShardId) / store.shards;
  const summaryRequests = store.shards * store.flushesPerShardPerSecond;
  const summaryBytes = store.summaryRowsPerDay * 400 * store.bytesPerSummaryRow;
  const ledgerRate = 5 / 30; // a visitor's page views, 30 s apart, each a message at most
  const queueAll = peakMessages * accounts;
  const within = shardPeak <= margin.requests && shardBytes <= margin.bytes && summaryRequests <= margin.requests && summaryBytes <= margin.bytes && queueAll <= margin.queue;
  console.log(`| ${name} | ${fmt(messages * accounts)} (${fmt(queueAll)}) | ${ledgerRate.toFixed(2)} | ${fmt(shardPeak)} | ${gb(shardBytes)} | ≤ ${summaryRequests} | ${gb(summaryBytes)} | ${(store.ledgerBytes / 1000).toFixed(0)} KB | ${within ? "yes" : `**no**: ${queueAll > margin.queue ? `the queue (${Math.ceil(queueAll / margin.queue)} queues needed)` : "an object"}`} |`);
}
