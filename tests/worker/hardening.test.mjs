// Hostile and careless clients, and broken platform data, against the real worker: limits
// (413/400 before any work), headers and cache policy on every kind of answer, CORS allowed
// origins per account, the structured request log, the published schema, and the fail-safes
// when the visit object throws or the stored snapshot is missing or corrupt.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Ajv2020 from "ajv/dist/2020.js";
import { startWorker, admin, decide, fixture, publishDemo, keyFor, ROOT, TOKEN } from "./harness.mjs";

const SHOP = "https://www.demo-outfitters.example/shop/boots";
const OPEN = "2026-11-18T11:00:00Z"; // a Wednesday inside the London hours
const demo = JSON.parse(fixture("demo/snapshot.json"));
let w;

before(async () => {
  w = await startWorker();
  await publishDemo(w.base, "0");
  await admin(w.base, "PUT", "demo/availability", JSON.parse(fixture("demo/availability.json")));
});
after(async () => { await w?.stop(); });

const body = (extra = {}) => ({ account: "demo", visitorId: "visitor-0001", visitId: `v-${Math.random().toString(36).slice(2)}`, page: { url: SHOP }, ...extra });

test("bodies past a route's size or depth limit are refused before any work (413/400)", async () => {
  const attributes = Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`attribute${i}`, i]));
  let r = await decide(w.base, body({ attributes }), { country: "GB" });
  assert.equal(r.status, 413);
  assert.equal(r.json.error.code, "body_too_large");
  r = await decide(w.base, body({ attributes: Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`a${i}`, 1])) }));
  assert.equal(r.status, 400);
  assert.equal(r.json.error.field, "attributes");
  // 10,000 levels of nesting: refused by the depth scan, never parsed.
  const deep = `{"account":"demo","page":{"url":"${SHOP}"},"attributes":{"x":${"[".repeat(10_000)}${"]".repeat(10_000)}}}`;
  r = await decide(w.base, deep);
  assert.equal(r.status, 400);
  assert.match(r.json.error.message, /nested deeper than 8/);
  // A snapshot nested past its limit changes nothing (R-P1).
  const before = await admin(w.base, "GET", "demo/snapshot");
  const nested = structuredClone(demo);
  let cond = { country: "GB" };
  for (let i = 0; i < 40; i++) cond = { $and: [cond] };
  nested.campaigns[0].audience = cond;
  r = await admin(w.base, "PUT", "demo/snapshot", nested, { "If-Match": "*" });
  assert.equal(r.status, 400);
  assert.equal((await admin(w.base, "GET", "demo/snapshot")).headers.get("etag"), before.headers.get("etag"));
});

test("every kind of answer carries its cache policy and security headers", async () => {
  const get = (path, init) => fetch(`${w.base}${path}`, { redirect: "manual", ...init });
  const cases = [
    ["decision", await decide(w.base, body(), { country: "GB" }), "no-store"],
    ["error", await get("/v1/nothing"), "no-store"],
    ["admin", await get("/v1/admin/accounts/demo/snapshot", { headers: { Authorization: `Bearer ${await keyFor(w.base, "demo")}` } }), "no-store"],
    ["admin refused", await get("/v1/admin/accounts/demo/snapshot"), "no-store"],
    ["redirect", await get("/o/demo/e-offsite-email", { headers: { "CF-IPCountry": "GB" } }), "no-store"],
    ["link page", await get("/o/nobody/e1"), "no-store"],
    ["schema", await get("/v1/schema/snapshot.json"), "public, max-age=3600"],
    ["openapi", await get("/v1/openapi.yaml"), "public, max-age=3600"],
  ];
  for (const [name, r, cache] of cases) {
    const h = r.headers;
    assert.equal(h.get("cache-control"), cache, name);
    assert.equal(h.get("x-content-type-options"), "nosniff", name);
    assert.ok(h.get("content-security-policy")?.includes("frame-ancestors 'none'"), name);
    assert.ok(h.get("strict-transport-security"), name);
    assert.equal(h.get("x-edge-account"), null, `${name}: the log's internal header leaks`);
  }
  for (const [name, r] of cases.filter(([n]) => ["redirect", "link page"].includes(n))) {
    assert.equal(r.headers.get("x-frame-options"), "DENY", name);
    assert.equal(r.headers.get("referrer-policy"), "no-referrer", name);
  }
});

test("R-P1 the published JSON Schema accepts the demo snapshot and names what a bad one lacks", async () => {
  const r = await fetch(`${w.base}/v1/schema/snapshot.json`);
  assert.equal(r.headers.get("content-type"), "application/schema+json");
  assert.equal(r.headers.get("access-control-allow-origin"), "*");
  const validate = new Ajv2020({ allErrors: true, strict: false }).compile(await r.json());
  assert.ok(validate(demo), JSON.stringify(validate.errors));
  const bad = structuredClone(demo);
  delete bad.account.timeZone;
  bad.campaigns[0].engagements[0].colour = "red";
  assert.equal(validate(bad), false);
  const said = JSON.stringify(validate.errors);
  assert.match(said, /timeZone/);
  assert.match(said, /colour/);
});

test("CORS: an account's allowedOrigins decide which pages may call its tag routes", async () => {
  const limited = structuredClone(demo);
  limited.account.allowedOrigins = ["https://www.demo-outfitters.example", "https://*.demo-outfitters.example"];
  assert.equal((await admin(w.base, "PUT", "demo/snapshot", limited, { "If-Match": "*" })).status, 200);
  try {
    const call = (origin, b = body()) => fetch(`${w.base}/v1/decide`, {
      method: "POST", headers: { "Content-Type": "application/json", "CF-IPCountry": "GB", ...(origin ? { Origin: origin } : {}) }, body: JSON.stringify(b),
    });
    let r = await call("https://eu.demo-outfitters.example");
    assert.equal(r.status, 200);
    assert.equal(r.headers.get("access-control-allow-origin"), "https://eu.demo-outfitters.example");
    assert.match(r.headers.get("vary") ?? "", /Origin/);
    // Another site's page is refused before the visit is touched: no display is reserved.
    const visit = body();
    r = await call("https://evil.example", visit);
    assert.equal(r.status, 403);
    assert.equal((await r.json()).error.code, "origin_not_allowed");
    assert.equal((await admin(w.base, "GET", `demo/visits/${visit.visitId}`)).status, 404);
    const ev = await fetch(`${w.base}/v1/events`, {
      method: "POST", headers: { "Content-Type": "text/plain", Origin: "https://evil.example" },
      body: JSON.stringify({ account: "demo", visitId: visit.visitId, event: "OFFER_DECLINED", contextId: "c1" }),
    });
    assert.equal(ev.status, 403);
    // Servers (no Origin) and the preflight are not browser pages of another site.
    assert.equal((await call(undefined)).status, 200);
    const pre = await fetch(`${w.base}/v1/decide`, { method: "OPTIONS", headers: { Origin: "https://x.example" } });
    assert.equal(pre.status, 204);
    assert.match(pre.headers.get("access-control-allow-methods"), /POST/);
  } finally {
    await publishDemo(w.base);
  }
});

test("the visit object throwing: non-proactive engagements still shown, no proactive one (fail-safe)", async () => {
  const b = body({ zones: ["left", "right", "proactive"] });
  const normal = await decide(w.base, b, { now: OPEN, country: "GB" });
  assert.equal(normal.status, 200);
  assert.ok(normal.json.engagements.some((e) => e.proactive), "the page has a proactive engagement");
  const r = await fetch(`${w.base}/v1/decide`, {
    method: "POST",
    headers: { "Content-Type": "application/json", "CF-IPCountry": "GB", "X-Test-Now": OPEN, "X-Test-Root": TOKEN, "X-Test-Fault": "visit" },
    body: JSON.stringify({ ...b, visitId: `${b.visitId}-f` }),
  });
  assert.equal(r.status, 200);
  const d = await r.json();
  assert.equal(d.degraded, "visit_unavailable");
  assert.equal(r.headers.get("x-edge-outcome"), "visit_unavailable");
  assert.equal(d.engagements.filter((e) => e.proactive).length, 0);
  assert.deepEqual(
    d.engagements.map((e) => e.zoneId).sort(),
    normal.json.engagements.filter((e) => !e.proactive).map((e) => e.zoneId).sort(),
  );
});

test("one JSON log line per request: route template, account, outcome, revision; no visitor data", async () => {
  const marker = "secret-attribute-value-7f3a";
  await new Promise((res) => setTimeout(res, 500)); // earlier tests' lines arrive first
  const from = w.logs.join("").length;
  const r = await decide(w.base, body({ attributes: { note: marker } }), { country: "GB" });
  assert.equal(r.status, 200);
  await fetch(`${w.base}/o/demo/e-offsite-email`, { redirect: "manual", headers: { "CF-IPCountry": "GB" } });
  await fetch(`${w.base}/v1/decide`, { method: "POST", headers: { "Content-Type": "application/json" }, body: "{" });
  await new Promise((res) => setTimeout(res, 500));
  const text = w.logs.join("").slice(from);
  assert.ok(!text.includes(marker), "an attribute value reached the log");
  const lines = text.split("\n").map((l) => l.slice(l.indexOf("{"))).filter((l) => l.startsWith("{\"")).map((l) => {
    try { return JSON.parse(l); } catch { return null; }
  }).filter(Boolean);
  const decided = lines.find((l) => l.route === "/v1/decide" && l.status === 200);
  assert.ok(decided, text);
  assert.equal(decided.account, "demo");
  assert.equal(decided.revision, Number(r.headers.get("x-edge-revision")));
  assert.ok(["shown", "none", "control"].includes(decided.outcome), JSON.stringify(decided));
  assert.equal(typeof decided.ms, "number");
  const click = lines.find((l) => l.route === "/o/{account}/{engagement}");
  assert.equal(click.account, "demo");
  assert.equal(click.status, 302);
  assert.ok(click.outcome);
  const bad = lines.find((l) => l.route === "/v1/decide" && l.status === 400);
  assert.equal(bad.error, "malformed_json");
});

test("a missing or hand-corrupted snapshot in KV: no engagements and a logged error, safe link pages, never a 5xx", async () => {
  const persist = mkdtempSync(join(tmpdir(), "edge-engage-kv-"));
  let v = await startWorker({ persist });
  try {
    const rev = await publishDemo(v.base, "0");
    await admin(v.base, "PUT", "demo/availability", JSON.parse(fixture("demo/availability.json")));
    await v.stop();
    // Someone writes the live revision's key by hand; a fresh isolate then reads it.
    const kv = (...args) => {
      const r = spawnSync(join(ROOT, "node_modules", ".bin", "wrangler"),
        ["kv", "key", ...args, "--binding", "SNAPSHOTS", "--local", "--persist-to", persist],
        { cwd: ROOT, encoding: "utf8", env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true" } });
      assert.equal(r.status, 0, r.stderr);
    };
    kv("put", `snapshot/demo/${rev}`, "{\"schemaVersion\": 1, \"account\": ");
    v = await startWorker({ persist });
    for (let i = 0; i < 3; i++) {
      const r = await decide(v.base, body(), { country: "GB" });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.degraded, "snapshot_corrupt");
      assert.deepEqual(r.json.engagements, []);
    }
    const link = await fetch(`${v.base}/o/demo/e-offsite-email`, { redirect: "manual" });
    assert.equal(link.status, 200);
    assert.equal(link.headers.get("location"), null);
    assert.match(await link.text(), /briefly unavailable/);
    const ev = await fetch(`${v.base}/v1/events`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ account: "demo", visitId: "s1", event: "START", contextId: "c1" }) });
    assert.ok(ev.status < 500, `events answered ${ev.status}`);
    const state = await fetch(`${v.base}/v1/state?account=demo&engagements=e-sales-sticky`);
    assert.equal(state.status, 200);
    await new Promise((res) => setTimeout(res, 300));
    const logged = v.logs.join("");
    assert.match(logged, /"event":"snapshot_corrupt"/);
    // Deleted by hand: after the retry interval the worker reads again and says so.
    kv("delete", `snapshot/demo/${rev}`);
    const later = new Date(Date.now() + 60_000).toISOString();
    const r = await decide(v.base, body(), { country: "GB", now: later });
    assert.equal(r.status, 200);
    assert.equal(r.json.degraded, "snapshot_missing");
    // A new publish repairs the account at once.
    await publishDemo(v.base);
    const fixed = await decide(v.base, body(), { country: "GB", now: later });
    assert.equal(fixed.json.degraded, undefined);
    assert.ok(fixed.json.engagements.length > 0);
  } finally {
    await v.stop();
    rmSync(persist, { recursive: true, force: true });
  }
});
