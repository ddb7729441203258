// SPEC section 9 against `wrangler dev`: keys and scopes (R-S1), identity tokens (R-S2), the
// platform's rate limiters (R-S3) and bounded memory and objects (R-S4). The hostile cases each
// check the status, the JSON error, and that nothing changed: the live revision and
// availability, visits, click counts, keys.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { readdirSync, readFileSync } from "node:fs";
import { startWorker, publishDemo, admin, fixture, createKey, keyFor, signIdentity, someAddress, withinOneWindow, ROOT, TOKEN, SCOPES } from "./harness.mjs";

let w;
before(async () => {
  w = await startWorker();
  await publishDemo(w.base, "0");
  await admin(w.base, "PUT", "demo/availability", JSON.parse(fixture("demo/availability.json")));
});
after(async () => { await w?.stop(); });

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A request from `address` (R-S3 counts per address) with `key` as the bearer credential. */
async function call(method, path, { key, scheme = "Bearer", body, address = someAddress(), headers = {} } = {}) {
  const h = { "CF-Connecting-IP": address, ...headers };
  if (key !== undefined) h.Authorization = `${scheme} ${key}`;
  if (body !== undefined) { h["Content-Type"] = "application/json"; }
  const r = await fetch(`${w.base}${path}`, { method, headers: h, body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body), redirect: "manual" });
  const text = await r.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: r.status, json, text, headers: r.headers };
}

/** What a refused request must not change: the live snapshot and availability, and the keys. */
async function state() {
  const full = await keyFor(w.base, "demo");
  const snap = await call("GET", "/v1/admin/accounts/demo/snapshot", { key: full });
  const avail = await call("GET", "/v1/admin/accounts/demo/availability", { key: full });
  const keys = await call("GET", "/v1/admin/accounts/demo/keys", { key: TOKEN });
  return {
    revision: snap.headers.get("etag"),
    availability: avail.json.skills,
    keys: keys.json.keys.map(({ id, scopes, revokedAt, rotatedAt }) => ({ id, scopes, revokedAt, rotatedAt })),
  };
}

const demoSnapshot = fixture("demo/snapshot.json");
const publish = (key, address) => call("PUT", "/v1/admin/accounts/demo/snapshot", { key, body: demoSnapshot, address, headers: { "If-Match": "*" } });

test("R-S1 the root token creates, lists, rotates and revokes keys; a key's secret is shown once and never listed", async () => {
  const made = await call("POST", "/v1/admin/accounts/demo/keys", { key: TOKEN, body: { name: "contact center", scopes: ["availability"] } });
  assert.equal(made.status, 201, made.text);
  const { id, key, prefix } = made.json;
  assert.match(key, /^eek\.demo\.[0-9a-f]{12}\.[0-9a-f]{64}$/);
  assert.equal(prefix, `eek.demo.${id}`);
  assert.ok(key.startsWith(`${prefix}.`));
  assert.deepEqual(made.json.scopes, ["availability"]);
  assert.equal(made.json.lastUsedAt, null);

  // The key pushes availability (its scope) and nothing else.
  const push = await call("PUT", "/v1/admin/accounts/demo/availability/sales", { key, body: { onlineAgents: 3 } });
  assert.equal(push.status, 200, push.text);
  const pub = await publish(key);
  assert.equal(pub.status, 403);
  assert.equal(pub.json.error.code, "forbidden");
  assert.match(pub.json.error.message, /publish/);

  const listed = await call("GET", "/v1/admin/accounts/demo/keys", { key: TOKEN });
  assert.equal(listed.status, 200);
  const entry = listed.json.keys.find((k) => k.id === id);
  assert.equal(entry.name, "contact center");
  assert.ok(entry.lastUsedAt, "R-S1 the key's last use is recorded");
  assert.ok(!listed.text.includes(key.split(".").at(-1)), "no secret in the listing");
  assert.ok(!("hash" in entry) && !("key" in entry));

  // Rotation: a new secret; the old one stops at once here and within 10 s everywhere.
  const rotated = await call("POST", `/v1/admin/accounts/demo/keys/${id}/rotate`, { key: TOKEN });
  assert.equal(rotated.status, 200, rotated.text);
  assert.notEqual(rotated.json.key, key);
  assert.equal(rotated.json.prefix, prefix);
  const read = (k) => call("GET", "/v1/admin/accounts/demo/availability", { key: k });
  assert.equal((await read(key)).status, 401);
  assert.equal((await read(rotated.json.key)).status, 200);

  const revoked = await call("DELETE", `/v1/admin/accounts/demo/keys/${id}`, { key: TOKEN });
  assert.equal(revoked.status, 200);
  assert.ok(revoked.json.revokedAt);
  assert.equal((await read(rotated.json.key)).status, 401);
  const again = await call("POST", `/v1/admin/accounts/demo/keys/${id}/rotate`, { key: TOKEN });
  assert.equal(again.status, 409);
  assert.equal(again.json.error.code, "key_revoked");
  // The revoked key stays listed for the audit.
  const after = (await call("GET", "/v1/admin/accounts/demo/keys", { key: TOKEN })).json.keys.find((k) => k.id === id);
  assert.equal(after.revokedAt, revoked.json.revokedAt);
});

test("R-S1 a revoked key stops working within 10 s in an isolate that had checked it", async () => {
  const key = await createKey(w.base, "demo", ["reports"], "short-lived");
  const id = key.split(".").at(-2);
  const clicks = () => call("GET", "/v1/admin/accounts/demo/clicks", { key });
  assert.equal((await clicks()).status, 200);
  const at = Date.now();
  assert.equal((await call("DELETE", `/v1/admin/accounts/demo/keys/${id}`, { key: TOKEN })).status, 200);
  let status;
  while (Date.now() - at < 10_000) {
    status = (await clicks()).status;
    if (status === 401) break;
    await sleep(200);
  }
  assert.equal(status, 401, "still working 10 s after revocation");
});

test("R-S1 hostile keys: another account's, missing scope, revoked, one byte changed, root on a key route, a key on the key API; nothing changes", async () => {
  const before = await state();
  const other = await createKey(w.base, "other", SCOPES);
  const reportsOnly = await createKey(w.base, "demo", ["reports"]);
  const revoked = await createKey(w.base, "demo", SCOPES);
  await call("DELETE", `/v1/admin/accounts/demo/keys/${revoked.split(".").at(-2)}`, { key: TOKEN });
  const full = await keyFor(w.base, "demo");
  const flipped = full.slice(0, -1) + (full.at(-1) === "0" ? "1" : "0");
  const addr = "198.51.100.20";
  const cases = [
    ["another account's key", other, 403, "forbidden"],
    ["a key without the scope", reportsOnly, 403, "forbidden"],
    ["the root token", TOKEN, 403, "forbidden"],
    ["a revoked key", revoked, 401, "unauthorized"],
    ["a key with one byte changed", flipped, 401, "unauthorized"],
    ["no key", undefined, 401, "unauthorized"],
  ];
  for (const [name, key, status, code] of cases) {
    const r = await publish(key, addr);
    assert.equal(r.status, status, `${name}: ${r.text}`);
    assert.equal(r.json.error.code, code, name);
    const push = await call("PUT", "/v1/admin/accounts/demo/availability", { key, address: addr, body: { skills: {} } });
    assert.equal(push.status, status, name);
    const erase = await call("DELETE", "/v1/admin/accounts/demo/visitors/visitor-0001", { key, address: addr });
    assert.equal(erase.status, status, name);
  }
  // The key API is the root token's alone, and refuses junk.
  const asKey = await call("POST", "/v1/admin/accounts/demo/keys", { key: full, body: { name: "x", scopes: ["publish"] } });
  assert.equal(asKey.status, 403);
  for (const [body, field] of [
    [{ name: "x", scopes: ["admin"] }, "scopes"],
    [{ name: "x", scopes: [] }, "scopes"],
    [{ name: "x", scopes: ["publish", "publish"] }, "scopes"],
    [{ name: "x".repeat(65), scopes: ["publish"] }, "name"],
  ]) {
    const r = await call("POST", "/v1/admin/accounts/demo/keys", { key: TOKEN, body });
    assert.equal(r.status, 400, JSON.stringify(body));
    assert.equal(r.json.error.field, field);
  }
  const unknown = await call("POST", "/v1/admin/accounts/demo/keys", { key: TOKEN, body: { name: "x", scopes: ["publish"], admin: true } });
  assert.equal(unknown.status, 400);
  assert.equal((await call("DELETE", "/v1/admin/accounts/demo/keys/ffffffffffff", { key: TOKEN })).status, 404);
  assert.deepEqual(await state(), { ...before, keys: (await state()).keys }, "snapshot and availability unchanged");
  const keysNow = (await state()).keys;
  assert.equal(keysNow.length, before.keys.length + 2, "only the two keys this test made (plus none from refusals)");
});

test("R-S1 the bearer scheme is case-insensitive and a missing scheme is refused", async () => {
  const full = await keyFor(w.base, "demo");
  const addr = "198.51.100.21";
  for (const scheme of ["Bearer", "bearer", "BEARER"]) {
    assert.equal((await call("GET", "/v1/admin/accounts/demo/clicks", { key: full, scheme, address: addr })).status, 200, scheme);
  }
  const bare = await fetch(`${w.base}/v1/admin/accounts/demo/clicks`, { headers: { Authorization: full, "CF-Connecting-IP": addr } });
  assert.equal(bare.status, 401);
});

test("R-S1 an account has at most 20 active keys", async () => {
  const listed = (await call("GET", "/v1/admin/accounts/many/keys", { key: TOKEN })).json.keys;
  assert.equal(listed.length, 0);
  for (let i = 0; i < 20; i++) await createKey(w.base, "many", ["reports"], `k${i}`);
  const r = await call("POST", "/v1/admin/accounts/many/keys", { key: TOKEN, body: { name: "one too many", scopes: ["reports"] } });
  assert.equal(r.status, 409);
  assert.equal(r.json.error.code, "too_many_keys");
});

// R-S2: the VIP concierge is an authenticated engagement on the account page.
const vipPage = (identity) => ({
  account: "demo", visitorId: "vip-1", visitId: `vip-visit-${Math.random()}`,
  page: { url: "https://www.demo-outfitters.example/account", ...(identity === undefined ? {} : { identity }) },
  zones: ["embedded:account-chat"], attributes: { customerType: "VIP" },
});
const NOW = "2026-11-23T10:00:00Z";
const nowS = Date.parse(NOW) / 1000;
async function shown(identity) {
  const r = await call("POST", "/v1/decide", { body: vipPage(identity), headers: { "X-Test-Now": NOW, "X-Test-Root": TOKEN, "CF-IPCountry": "GB" } });
  assert.equal(r.status, 200, r.text);
  return r.json.engagements.map((e) => e.engagementId);
}

test("R-S2 only a token the brand signed for the account authenticates the page", async () => {
  const made = await admin(w.base, "POST", "demo/identity-secret");
  assert.equal(made.status, 201, made.text);
  assert.equal(made.json.algorithm, "HS256");
  assert.match(made.json.secret, /^[0-9a-f]{64}$/);
  const secret = made.json;
  const claims = (extra = {}) => ({ aud: "demo", sub: "cust-9", exp: nowS + 600, ...extra });
  const good = signIdentity(secret, claims());
  assert.deepEqual(await shown(good), ["e-vip-embedded"]);
  assert.deepEqual(await shown(undefined), [], "no token: not authenticated");

  const [h, p, s] = good.split(".");
  const b64 = (v) => Buffer.from(JSON.stringify(v)).toString("base64url");
  const refused = {
    "payload changed": `${h}.${b64(claims({ sub: "someone-else" }))}.${s}`,
    "signature changed": `${h}.${p}.${s.slice(0, -2)}${s.at(-2) === "A" ? "B" : "A"}${s.at(-1)}`,
    "expired": signIdentity(secret, claims({ exp: nowS - 3600 })),
    "another account": signIdentity(secret, claims({ aud: "other" })),
    "alg none": `${b64({ alg: "none", typ: "JWT" })}.${p}.`,
    "alg RS256": `${b64({ alg: "RS256", typ: "JWT" })}.${p}.${s}`,
    "alg HS512 header": `${b64({ alg: "HS512", typ: "JWT" })}.${p}.${s}`,
    "another secret": signIdentity({ ...secret, secret: "f".repeat(64) }, claims()),
    "valid for a day": signIdentity(secret, claims({ exp: nowS + 86_400 })),
    "oversized": signIdentity(secret, claims({ pad: "x".repeat(3000) })),
    "not a token": "hello",
  };
  for (const [name, token] of Object.entries(refused)) {
    assert.deepEqual(await shown(token), [], name);
  }
  // The request cannot say it is authenticated by itself.
  const claimed = vipPage(undefined);
  claimed.page.authenticated = true;
  const r = await call("POST", "/v1/decide", { body: claimed, headers: { "CF-IPCountry": "GB" } });
  assert.equal(r.status, 400);
  assert.equal(r.json.error.code, "malformed_json");
  assert.match(r.json.error.message, /authenticated/);

  // A rotation keeps the previous secret until the next one.
  const second = (await admin(w.base, "POST", "demo/identity-secret")).json;
  assert.deepEqual(await shown(good), ["e-vip-embedded"], "the previous secret still verifies");
  assert.deepEqual(await shown(signIdentity(second, claims())), ["e-vip-embedded"]);
  await admin(w.base, "POST", "demo/identity-secret");
  assert.deepEqual(await shown(good), [], "two rotations later the first secret is gone");
  // The GET form carries the token too.
  const q = new URLSearchParams({ account: "demo", visitorId: "vip-1", visitId: "vip-get", url: "https://www.demo-outfitters.example/account", zones: "embedded:account-chat", attributes: JSON.stringify({ customerType: "VIP" }), identity: signIdentity(second, claims()) });
  const get = await call("GET", `/v1/decide?${q}`, { headers: { "X-Test-Now": NOW, "X-Test-Root": TOKEN, "CF-IPCountry": "GB" } });
  assert.deepEqual(get.json.engagements.map((e) => e.engagementId), ["e-vip-embedded"]);
});

test("R-S2 R-P2 the location's shared view keeps the identity secrets sealed: none is in its stored bytes, and a new isolate still verifies the page's token", async () => {
  // On the real clock, as the secret's write shares the account's view with the location.
  const made = await admin(w.base, "POST", "demo/identity-secret");
  assert.equal(made.status, 201, made.text);
  const token = signIdentity(made.json, { aud: "demo", sub: "cust-7", exp: Math.floor(Date.now() / 1000) + 600 });
  const r = await call("POST", "/v1/decide", {
    body: vipPage(token),
    headers: { "X-Test-Root": TOKEN, "X-Test-Fault": "new-isolate", "CF-IPCountry": "GB" },
  });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.headers.get("X-Edge-View"), "location", "the view the secret's write shared");
  assert.deepEqual(r.json.engagements.map((e) => e.engagementId), ["e-vip-embedded"], "its sealed secrets opened");
  // What the platform keeps of the location's cache, on disk under the worker's local state.
  const files = [];
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, e.name);
      if (e.isDirectory()) walk(path);
      else files.push(readFileSync(path));
    }
  };
  walk(w.persist);
  const entries = files.filter((b) => b.includes('"fetchedAt"') && b.includes('"availability"'));
  assert.ok(entries.length >= 1, "the shared view is stored where this test looks");
  for (const b of entries) assert.ok(!b.includes(made.json.secret), "a secret in the location's cache");
});

test("R-S3 a burst of 10,000 decisions from one address: the limit's worth are answered, the rest are 429 with Retry-After", async () => {
  const address = "203.0.113.50";
  const body = JSON.stringify({ account: "demo", visitorId: "burst-visitor", visitId: "burst-visit", page: { url: "https://www.demo-outfitters.example/shop/boots", id: "burst-page" } });
  const counts = {};
  let sample;
  const started = Date.now();
  let next = 0;
  await Promise.all(Array.from({ length: 50 }, async () => {
    while (next < 10_000) {
      next++;
      const r = await fetch(`${w.base}/v1/decide`, { method: "POST", headers: { "Content-Type": "application/json", "CF-Connecting-IP": address, "CF-IPCountry": "GB" }, body });
      counts[r.status] = (counts[r.status] ?? 0) + 1;
      if (r.status === 429 && !sample) sample = { retry: r.headers.get("retry-after"), json: await r.json(), cors: r.headers.get("access-control-allow-origin") };
      else await r.arrayBuffer();
    }
  }));
  const windows = Math.ceil((Date.now() - started) / 10_000) + 1;
  assert.deepEqual(Object.keys(counts).sort(), ["200", "429"], JSON.stringify(counts));
  assert.ok(counts[200] <= 300 * windows, `${counts[200]} answered in ${windows} windows of 10 s`);
  assert.ok(counts[429] >= 10_000 - 300 * windows);
  assert.equal(sample.retry, "10");
  assert.equal(sample.json.error.code, "rate_limited");
  assert.equal(sample.json.error.retryAfter, 10);
  assert.equal(sample.cors, "*", "the tag can read the refusal");
  // Another address is not affected.
  const other = await call("POST", "/v1/decide", { body, address: "203.0.113.51", headers: { "CF-IPCountry": "GB" } });
  assert.equal(other.status, 200);
});

test("R-S3 R-S4 5,000 fresh visit ids from one client create at most the limit's worth of visits", async () => {
  const address = "203.0.113.60";
  const statuses = [];
  let next = 0;
  const started = Date.now();
  await Promise.all(Array.from({ length: 25 }, async () => {
    while (next < 5_000) {
      const i = next++;
      const r = await fetch(`${w.base}/v1/decide`, { method: "POST", headers: { "Content-Type": "application/json", "CF-Connecting-IP": address, "CF-IPCountry": "GB" },
        body: JSON.stringify({ account: "demo", visitorId: `fresh-${i}`, visitId: `fresh-visit-${i}`, page: { url: "https://www.demo-outfitters.example/shop/boots" } }) });
      statuses[i] = r.status;
      await r.arrayBuffer();
    }
  }));
  const windows = Math.ceil((Date.now() - started) / 10_000) + 1;
  const answered = statuses.filter((s) => s === 200).length;
  assert.ok(answered <= 300 * windows, `${answered} visits created in ${windows} windows`);
  assert.equal(answered + statuses.filter((s) => s === 429).length, 5_000);
  // A refused visit id has no object state.
  const refused = statuses.lastIndexOf(429);
  const r = await admin(w.base, "GET", `demo/visits/fresh-visit-${refused}`);
  assert.equal(r.status, 404);
});

test("R-S3 R-S4 made-up account ids from one client count as failed authentications: 20, then 429", async () => {
  const address = "203.0.113.90";
  const statuses = [];
  await withinOneWindow(60, 10_000);
  for (let i = 0; i < 30; i++) {
    const r = await call("POST", "/v1/decide", { address, body: { account: `made-up-${i}`, visitorId: "v1", visitId: "s1", page: { url: "https://x.example/" } } });
    statuses.push(r.status === 404 ? r.json.error.code : r.status);
  }
  assert.deepEqual(statuses.slice(0, 20), Array(20).fill("unknown_account"));
  assert.deepEqual(statuses.slice(20), Array(10).fill(429));
  // The client is refused on the tag routes until the period ends, the real account included;
  // another client is not.
  const real = { account: "demo", visitorId: "v1", visitId: "s1", page: { url: "https://www.demo-outfitters.example/shop/boots" } };
  const blocked = await call("POST", "/v1/decide", { address, body: real });
  assert.equal(blocked.status, 429);
  assert.ok(Number(blocked.headers.get("retry-after")) > 0);
  assert.equal((await call("POST", "/v1/decide", { body: real })).status, 200);
});

test("R-S3 links are limited per address with a 429 page and Retry-After; the clicks counted are the answered ones", async () => {
  const totals = async () => (await admin(w.base, "GET", "demo/clicks")).json.clicks["e-offsite-email"] ?? {};
  await sleep(2500);
  const before = await totals();
  const address = "203.0.113.70";
  // 120 clicks in waves of 20, inside one limiter window. Not all 120 at once: on a loaded
  // machine wrangler dev's local proxy then holds some of them for 20 s or more before they
  // reach the worker (which logs each handled in milliseconds, 20 s after it was sent); CI once
  // waited 300 s for one. Any route's GETs, 120 at once, are held so (the decision's GET form
  // and an unknown account's link too), on older builds as well; 200 POSTs
  // at once and GETs 20 at a time were not, in 2,000 and 1,440 requests under the same load.
  await withinOneWindow(10, 8_000);
  const click = () => fetch(`${w.base}/o/demo/e-offsite-email`, { redirect: "manual", headers: { "CF-Connecting-IP": address, "CF-IPCountry": "GB" } })
    .then(async (r) => ({ status: r.status, retry: r.headers.get("retry-after"), type: r.headers.get("content-type"), body: await r.text() }));
  const results = [];
  for (let wave = 0; wave < 6; wave++) results.push(...await Promise.all(Array.from({ length: 20 }, click)));
  const limited = results.filter((r) => r.status === 429);
  const answered = results.length - limited.length;
  assert.ok(limited.length >= 60 && answered <= 60, `${answered} answered`);
  assert.equal(limited[0].retry, "10");
  assert.match(limited[0].type, /text\/html/);
  let after;
  for (let i = 0; i < 50; i++) {
    await sleep(200);
    after = await totals();
    const sum = (t) => Object.values(t).reduce((a, n) => a + n, 0);
    if (sum(after) - sum(before) === answered) break;
  }
  const sum = (t) => Object.values(t).reduce((a, n) => a + n, 0);
  assert.equal(sum(after) - sum(before), answered);
});

test("R-S3 failed authentications from one address are limited, then refused before their credentials are looked at", async () => {
  const address = "203.0.113.80";
  const full = await keyFor(w.base, "demo");
  const statuses = [];
  await withinOneWindow(60, 10_000);
  for (let i = 0; i < 25; i++) {
    statuses.push((await call("GET", "/v1/admin/accounts/demo/clicks", { key: `eek.demo.0123456789ab.${"0".repeat(63)}${i % 10}`, address })).status);
  }
  assert.deepEqual(statuses.slice(0, 20), Array(20).fill(401));
  assert.deepEqual(statuses.slice(20), Array(5).fill(429));
  const right = await call("GET", "/v1/admin/accounts/demo/clicks", { key: full, address });
  assert.equal(right.status, 429, "the right key from a refused address waits too");
  assert.ok(Number(right.headers.get("retry-after")) > 0);
  assert.equal(right.json.error.code, "rate_limited");
  assert.equal((await call("GET", "/v1/admin/accounts/demo/clicks", { key: full, address: "203.0.113.81" })).status, 200);
});

test("R-S3 events are limited per visit", async () => {
  const d = await call("POST", "/v1/decide", { body: { account: "demo", visitorId: "ev-visitor", visitId: "ev-visit", page: { url: "https://www.demo-outfitters.example/shop/boots" } }, headers: { "CF-IPCountry": "GB" } });
  const context = d.json.engagements[0].contextId;
  const send = (visitId) => call("POST", "/v1/events", { body: { account: "demo", visitId, event: "OFFER_IMPRESSION", contextId: context } });
  // In waves of ten: the platform's limiter is eventually consistent, not a lock (its own
  // documentation), so a wave that arrives at once may pass together.
  const statuses = [];
  await withinOneWindow(10, 4_000);
  for (let i = 0; i < 13; i++) {
    statuses.push(...await Promise.all(Array.from({ length: 10 }, () => send("ev-visit").then((r) => r.status))));
  }
  assert.ok(statuses.filter((s) => s === 429).length >= 30, JSON.stringify(statuses));
  assert.ok(statuses.every((s) => s === 200 || s === 429));
  assert.equal((await send("ev-other-visit")).status, 400, "another visit is not limited (its context is unknown to it)");
  const visit = (await admin(w.base, "GET", "demo/visits/ev-visit")).json.visit;
  assert.equal(visit.impressions[context] ?? 1, 1, "the impression is counted once whatever the retries");
});

test("R-S4 50 large accounts decided in one isolate: the cache stays within its byte budget and every decision is right", async () => {
  const gen = spawnSync("cargo", ["run", "-q", "--features", "testing", "--example", "scale_fixture", "--", "2000", "7"], { cwd: ROOT, encoding: "utf8", maxBuffer: 64 << 20 });
  assert.equal(gen.status, 0, gen.stderr);
  const text = gen.stdout;
  const avail = spawnSync("cargo", ["run", "-q", "--features", "testing", "--example", "scale_fixture", "--", "--availability"], { cwd: ROOT, encoding: "utf8" }).stdout;
  const BUDGET = 40 * 1024 * 1024;
  const q = (account) => `/v1/decide?account=${account}&visitorId=v1&visitId=v1&url=${encodeURIComponent("https://shop.example/category-7/boots-42")}&sections=section-10&zones=left,right,proactive,embedded:slot-3&visit=0`;
  let peak = 0;
  let first;
  for (let i = 0; i < 50; i++) {
    const account = `large-${i}`;
    const key = await keyFor(w.base, account);
    const doc = JSON.parse(text);
    doc.account.id = account;
    const pub = await call("PUT", `/v1/admin/accounts/${account}/snapshot`, { key, body: doc, headers: { "If-Match": "0" } });
    assert.equal(pub.status, 200, pub.text);
    await call("PUT", `/v1/admin/accounts/${account}/availability`, { key, body: avail });
    const r = await call("GET", q(account), { headers: { "CF-IPCountry": "GB", "X-Test-Now": NOW, "X-Test-Root": TOKEN } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.revision, 1);
    first ??= JSON.stringify(r.json.engagements.map((e) => e.engagementId));
    const [accounts, bytes, memory] = r.headers.get("x-test-cache").split(" ").map(Number);
    assert.ok(bytes <= BUDGET, `estimated ${bytes} B over the budget`);
    peak = Math.max(peak, memory);
    if (i === 49) assert.ok(accounts < 50, `${accounts} accounts still cached`);
  }
  // An evicted account comes back: compiled again from KV, same answer.
  const back = await call("GET", q("large-0"), { headers: { "CF-IPCountry": "GB", "X-Test-Now": NOW, "X-Test-Root": TOKEN } });
  assert.equal(back.status, 200);
  assert.equal(JSON.stringify(back.json.engagements.map((e) => e.engagementId)), first);
  console.log(`R-S4: wasm memory peaked at ${(peak / 1048576).toFixed(1)} MB with 50 accounts of ${(text.length / 1024).toFixed(0)} KB`);
  assert.ok(peak < 128 * 1024 * 1024, `wasm memory ${peak} B`);
});

test("R-S4 KV keeps the live snapshot revision and the 19 before it", async () => {
  const key = await keyFor(w.base, "retained");
  const doc = JSON.parse(fixture("demo/snapshot.json"));
  doc.account.id = "retained";
  for (let i = 0; i < 22; i++) {
    const r = await call("PUT", "/v1/admin/accounts/retained/snapshot", { key, body: doc, headers: { "If-Match": "*" } });
    assert.equal(r.status, 200, r.text);
  }
  const list = spawnSync(join(ROOT, "node_modules", ".bin", "wrangler"),
    ["kv", "key", "list", "--binding", "SNAPSHOTS", "--local", "--persist-to", w.persist, "--prefix", "snapshot/retained/"],
    { cwd: ROOT, encoding: "utf8", env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true" } });
  assert.equal(list.status, 0, list.stderr);
  const names = JSON.parse(list.stdout).map((k) => k.name).sort();
  const revisions = names.filter((n) => !n.endsWith("/current")).map((n) => Number(n.split("/").at(-1))).sort((a, b) => a - b);
  assert.deepEqual(revisions, Array.from({ length: 20 }, (_, i) => i + 3), "revisions 3..22");
  assert.ok(names.includes("snapshot/retained/current"));
});
