// A load model past one machine (#16): for one account's traffic spread over Cloudflare's
// locations, the requests per second each platform part receives, with its limit beside it.
// The per-request counts come from the code paths (named below) and, where they vary with
// traffic, from measurements on this machine (BENCHMARKS.md). Arithmetic, not a simulation.
//
//   node scripts/load-model.mjs [decisions per minute] [locations] [isolates per location]
//   node scripts/load-model.mjs 1000000 300 4
const [perMinute = 1_000_000, locations = 300, isolates = 4] = process.argv.slice(2).map(Number);

// Inputs, each with where it comes from.
const model = {
  pageViewsPerVisit: 5, // #16's "realistic visit" mix
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
  // platform/offsite.rs: an isolate adds its clicks to the account's object once per 2 s.
  clickBatchSecondsPerIsolate: 2,
  offsiteClicksPerDecision: 0.02,
  // BENCHMARKS.md, measurement pipeline: 1.5 queue messages and 21.5 D1 rows written per visit.
  queueMessagesPerVisit: 1.5,
  d1RowsPerVisit: 21.5,
  // KV: a revision is read once per isolate per publish (cacheTtl one day on revision keys).
  publishesPerHour: 6,
};

// Platform limits (Cloudflare's limits pages, late 2026; TOOLCHAIN.md).
const limits = {
  accountObject: { value: 1_000, note: "Durable Object soft limit, requests/s per object" },
  visitObject: { value: 1_000, note: "per object; each visit has its own" },
  queue: { value: 5_000, note: "messages/s per queue" },
  d1: { value: 3_000, note: "rows written/s, one writer (D1's guidance: low thousands)" },
  kv: { value: 10_000, note: "reads/s of one hot key before the location cache" },
};

const decisions = perMinute / 60;
const perLocation = decisions / locations;
const visits = decisions / model.pageViewsPerVisit;
const allIsolates = locations * isolates;
const rows = [
  ["account object: views (today: per isolate)", allIsolates / model.viewSecondsPerIsolate, limits.accountObject],
  ["account object: views (Cache API per location, not built)", locations / model.viewSecondsPerIsolate, limits.accountObject],
  ["account object: click batches", Math.min(allIsolates / model.clickBatchSecondsPerIsolate, decisions * model.offsiteClicksPerDecision), limits.accountObject],
  ["visit objects, all (decide + events)", decisions * (model.visitCallsPerDecision + model.eventCallsPerDecision), null],
  ["visit objects, one visit's", (model.visitCallsPerDecision + model.eventCallsPerDecision) / model.secondsBetweenPageViews, limits.visitObject],
  ["KV revision reads after a publish", (allIsolates * model.publishesPerHour) / 3600, limits.kv],
  ["queue messages", visits * model.queueMessagesPerVisit, limits.queue],
  ["D1 rows written", visits * model.d1RowsPerVisit, limits.d1],
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

// The simulation: every isolate of every location as the worker's own policy runs it
// (platform/snapshots.rs: a view younger than 5 s is used; 5 to 10 s old it is used and one
// refresh is started after the answer; older, it is fetched before answering; platform/offsite.rs:
// clicks are sent once per 2 s per isolate that has some), fed with Poisson arrivals at the
// rates above, over `SIM_SECONDS` of simulated time with a publish every 10 minutes (which
// makes the publishing isolate fetch at once). It counts the account object's requests per
// simulated second and checks the worst second against the object's limit.
const SIM_SECONDS = Number(process.env.SIM_SECONDS ?? 120);
const VIEW_TTL = 5, STALE = 10, CLICK_BATCH = 2, REFRESH_RTT = 0.03;
const perIsolate = decisions / allIsolates;
const clicksPerIsolate = (decisions * model.offsiteClicksPerDecision) / allIsolates;
let seed = 7;
const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
const next = (rate) => -Math.log(1 - rand()) / rate;
const perSecond = new Float64Array(SIM_SECONDS);
const count = (t) => { if (t < SIM_SECONDS) perSecond[Math.floor(t)]++; };
for (let i = 0; i < allIsolates; i++) {
  // Each isolate starts with a view of a random age, so that they are not in step.
  let fetchedAt = -rand() * VIEW_TTL;
  let refreshing = false;
  let lastClickSend = -rand() * CLICK_BATCH;
  let pendingClicks = 0;
  let t = 0;
  let clickAt = next(clicksPerIsolate);
  while (t < SIM_SECONDS) {
    t += next(perIsolate);
    while (clickAt < t) {
      pendingClicks++;
      if (clickAt - lastClickSend >= CLICK_BATCH) { count(clickAt); lastClickSend = clickAt; pendingClicks = 0; }
      clickAt += next(clicksPerIsolate);
    }
    if (refreshing && t >= fetchedAt + REFRESH_RTT) refreshing = false;
    const age = t - fetchedAt;
    if (age >= STALE) { count(t); fetchedAt = t; }
    else if (age >= VIEW_TTL && !refreshing) { count(t); refreshing = true; fetchedAt = t; }
    if (Math.floor(t / 600) !== Math.floor((t - 1 / perIsolate) / 600) && i === 0) { count(t); fetchedAt = t; }
  }
}
const sorted = Array.from(perSecond).sort((a, b) => a - b);
const worst = sorted[sorted.length - 1];
const mean = sorted.reduce((a, b) => a + b, 0) / sorted.length;
console.log(`\nSimulated ${SIM_SECONDS} s, ${allIsolates.toLocaleString("en")} isolates: the account object's requests per second: mean ${fmt(mean)}, p99 ${fmt(sorted[Math.floor(0.99 * (sorted.length - 1))])}, worst ${fmt(worst)} (limit ${limits.accountObject.value.toLocaleString("en")}): ${worst <= limits.accountObject.value ? "under" : "OVER"} the limit.`);
if (worst > limits.accountObject.value) process.exitCode = 1;
