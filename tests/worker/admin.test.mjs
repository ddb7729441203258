// R-P1, R-P2, R-P4 over HTTP: publishing with validation and revision checks, availability
// pushes, and bad input answered with a clear 4xx that changes nothing.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, admin, decide, fixture, keyFor } from "./harness.mjs";

let w;
const demo = fixture("demo/snapshot.json");
const visitor = { account: "demo", visitorId: "visitor-0001", visitId: "visit-1", page: { url: "https://www.demo-outfitters.example/shop/boots" } };

before(async () => { w = await startWorker(); });
after(async () => { await w?.stop(); });

async function liveRevision() {
  const r = await admin(w.base, "GET", "demo/snapshot");
  return r.status === 200 ? Number(r.headers.get("etag").replaceAll('"', "")) : 0;
}

test("R-P4 decisions for an account never published: 404 unknown_account", async () => {
  const r = await decide(w.base, visitor);
  assert.equal(r.status, 404);
  assert.equal(r.json.error.code, "unknown_account");
});

test("R-P1 first publish needs If-Match: 0 (428 without it), then reads back byte for byte", async () => {
  const none = await admin(w.base, "PUT", "demo/snapshot", demo);
  assert.equal(none.status, 428);
  assert.equal(none.json.error.code, "precondition_required");
  const r = await admin(w.base, "PUT", "demo/snapshot", demo, { "If-Match": "0" });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.revision, 1);
  assert.equal(r.json.engagements, 18);
  // R-D5: the answer says which control groups are in force (defaults included).
  assert.deepEqual(r.json.controlGroups, { account: 5, campaigns: { "c-offsite": 7, "c-sales-chat": 10, "c-uk-promo": 10 } });
  const back = await admin(w.base, "GET", "demo/snapshot");
  assert.equal(back.status, 200);
  assert.equal(back.text, demo);
  assert.equal(back.headers.get("etag"), '"1"');
});

test("R-P1 an invalid snapshot is refused with every problem listed; the live one stays", async () => {
  const bad = JSON.parse(demo);
  bad.account.controlGroupPercent = 26;
  bad.campaigns[0].engagements[0].skill = "no-such-skill";
  bad.campaigns[1].timeFrame.start = "yesterday";
  bad.campaigns[2].engagements[0].behavior = { cartValue: { $gtx: 5 } };
  bad.campaigns[3].engagements[0].refreshSeconds = 45;
  bad.campaigns[10].engagements[0].offsite.landingUrl = "http://evil.example/";
  bad.campaigns[4].colour = "blue";
  const r = await admin(w.base, "PUT", "demo/snapshot", bad, { "If-Match": "1" });
  assert.equal(r.status, 422, r.text);
  assert.equal(r.json.error.code, "invalid_snapshot");
  const paths = r.json.error.problems.map((p) => p.path);
  for (const p of ["account.controlGroupPercent", "campaigns[0].engagements[0].skill", "campaigns[1].timeFrame.start",
    "campaigns[2].engagements[0].behavior.cartValue.$gtx", "campaigns[3].engagements[0].refreshSeconds",
    "campaigns[10].engagements[0].offsite.landingUrl", "campaigns[4]"]) {
    assert.ok(paths.includes(p), `missing ${p} in ${JSON.stringify(paths)}`);
  }
  assert.equal(await liveRevision(), 1);
});

test("R-P1 a stale If-Match is a 409 naming the live revision", async () => {
  const r = await admin(w.base, "PUT", "demo/snapshot", demo, { "If-Match": "0" });
  assert.equal(r.status, 409);
  assert.equal(r.json.error.currentRevision, 1);
  assert.equal(await liveRevision(), 1);
});

test("R-P1 concurrent publishers from the same base: exactly one wins", async () => {
  const base = await liveRevision();
  const results = await Promise.all(
    Array.from({ length: 8 }, () => admin(w.base, "PUT", "demo/snapshot", demo, { "If-Match": String(base) })),
  );
  const statuses = results.map((r) => r.status).sort();
  assert.deepEqual(statuses, [200, 409, 409, 409, 409, 409, 409, 409]);
  assert.equal(await liveRevision(), base + 1);
});

test("R-P4 R-S1 admin routes refuse a missing or wrong key and change nothing", async () => {
  const before = await liveRevision();
  const KEY = await keyFor(w.base, "demo");
  for (const auth of [undefined, "Bearer wrong-token-0123456789", `Basic ${KEY}`, `Bearer ${KEY}x`]) {
    const headers = { "Content-Type": "application/json", "If-Match": "*" };
    if (auth) headers.Authorization = auth;
    const r = await fetch(`${w.base}/v1/admin/accounts/demo/snapshot`, { method: "PUT", headers, body: demo });
    assert.equal(r.status, 401);
    assert.equal((await r.json()).error.code, "unauthorized");
    const a = await fetch(`${w.base}/v1/admin/accounts/demo/availability`, { method: "PUT", headers, body: '{"skills":{}}' });
    assert.equal(a.status, 401);
  }
  assert.equal(await liveRevision(), before);
});

test("R-P4 oversized snapshot is a 413", async () => {
  const huge = JSON.stringify({ pad: "x".repeat(6 * 1024 * 1024) });
  const r = await admin(w.base, "PUT", "demo/snapshot", huge, { "If-Match": "*" });
  assert.equal(r.status, 413);
  assert.equal(r.json.error.code, "body_too_large");
});

test("R-P2 availability: unknown skill and malformed bodies are 400 and change nothing", async () => {
  const ok = await admin(w.base, "PUT", "demo/availability", { skills: { sales: { onlineAgents: 3, expectedWaitSeconds: 20 } } });
  assert.equal(ok.status, 200, ok.text);
  for (const body of [{ skills: { ghosts: { onlineAgents: 1 } } }, { skills: { sales: { onlineAgents: -1 } } },
    { skills: { sales: { onlineAgents: "many" } } }, "{not json", { skillz: {} }]) {
    const r = await admin(w.base, "PUT", "demo/availability", body);
    assert.equal(r.status, 400, `${JSON.stringify(body)} -> ${r.status} ${r.text}`);
  }
  const now = await admin(w.base, "GET", "demo/availability");
  assert.deepEqual(now.json.skills, { sales: { onlineAgents: 3, capacity: 0, expectedWaitSeconds: 20 } });
});

const badDecides = [
  ["malformed JSON", "{\"account\": ", 400, "malformed_json"],
  ["wrong type", { ...visitor, visitorId: 42 }, 400, "malformed_json"],
  ["unknown field", { ...visitor, colour: "red" }, 400, "malformed_json"],
  ["missing page", { account: "demo", visitorId: "a", visitId: "b" }, 400, "malformed_json"],
  ["bad visitor id", { ...visitor, visitorId: "../../etc" }, 400, "invalid_request"],
  ["empty visit id", { ...visitor, visitId: "" }, 400, "invalid_request"],
  ["relative page URL", { ...visitor, page: { url: "/shop" } }, 400, "invalid_request"],
  ["javascript: URL", { ...visitor, page: { url: "javascript:alert(1)" } }, 400, "invalid_request"],
  ["unknown zone type", { ...visitor, zones: ["top-banner"] }, 400, "invalid_request"],
  ["bad embedded div", { ...visitor, zones: ["embedded:<script>"] }, 400, "invalid_request"],
  ["too many attributes", { ...visitor, attributes: Object.fromEntries(Array.from({ length: 10000 }, (_, i) => [`a${i}`, i])) }, 413, "body_too_large"],
  ["101 attributes", { ...visitor, attributes: Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`a${i}`, i])) }, 400, "invalid_request"],
  ["deep attributes", { ...visitor, attributes: { a: [[[[[[1]]]]]] } }, 400, "invalid_request"],
  ["unknown account", { ...visitor, account: "nobody" }, 404, "unknown_account"],
];
for (const [name, body, status, code] of badDecides) {
  test(`R-P4 decide with ${name}: ${status} ${code}`, async () => {
    const r = await decide(w.base, body);
    assert.equal(r.status, status, r.text);
    assert.equal(r.json.error.code, code);
    assert.ok(r.json.error.message.length > 0);
  });
}

test("R-P4 other methods, content types and routes", async () => {
  const del = await fetch(`${w.base}/v1/decide`, { method: "DELETE" });
  assert.equal(del.status, 405);
  const form = await fetch(`${w.base}/v1/decide`, { method: "POST", headers: { "Content-Type": "application/x-www-form-urlencoded" }, body: "a=b" });
  assert.equal(form.status, 415);
  const nowhere = await fetch(`${w.base}/v2/anything`);
  assert.equal(nowhere.status, 404);
  assert.equal((await nowhere.json()).error.code, "not_found");
  const pre = await fetch(`${w.base}/v1/decide`, { method: "OPTIONS" });
  assert.equal(pre.status, 204);
  assert.equal(pre.headers.get("access-control-allow-origin"), "*");
  const beacon = await fetch(`${w.base}/v1/decide`, { method: "POST", headers: { "Content-Type": "text/plain" }, body: JSON.stringify(visitor) });
  assert.equal(beacon.status, 200);
});

test("R-S1 the bearer scheme is case-insensitive (RFC 7235); another scheme or a bare key is 401", async () => {
  const KEY = await keyFor(w.base, "demo");
  const read = (authorization) => fetch(`${w.base}/v1/admin/accounts/demo/availability`, { headers: { Authorization: authorization, "CF-Connecting-IP": "198.51.100.7" } });
  for (const scheme of ["Bearer", "bearer", "BEARER", "bEaReR"]) {
    assert.equal((await read(`${scheme} ${KEY}`)).status, 200, scheme);
  }
  for (const wrong of [KEY, `Basic ${KEY}`, "Bearer", `Bearer ${KEY}x`]) {
    const r = await read(wrong);
    assert.equal(r.status, 401, wrong);
    assert.equal((await r.json()).error.code, "unauthorized");
  }
});
