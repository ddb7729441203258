// Starts the real worker under `wrangler dev` (workerd, local KV and Durable Objects) on a free
// port with its own --persist-to directory, and stops it when the test file ends.
import { spawn, spawnSync } from "node:child_process";
import { createHmac } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
/** The operator's root token (R-S1): manages keys; in test builds it also moves the clock. */
export const TOKEN = "test-root-token-0123456789abcdef";
/** Every key scope (src/tenancy/keys.rs). */
export const SCOPES = ["publish", "availability", "reports", "conversions", "explain", "erase", "agent", "calls", "identity"];
const SIGNING_KEY = "test-signing-key-0123456789abcdef-0123456789";

export function fixture(path) {
  return readFileSync(join(ROOT, "fixtures", path), "utf8");
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// wrangler dev's local proxy now and then answers a POST with its own 503 "Your worker
// restarted mid-request" when an idle keep-alive connection inside the proxy chain times out
// as the request is sent (cloudflare/workers-sdk#14641): the worker never saw the request.
// That answer is the simulator's, not the worker's, so requests get it retried once here and
// counted; every other answer, 503s of the worker included, is returned as it came.
const PROXY_RESTART = "Your worker restarted mid-request";
export const devProxy = { retries: 0 };
// A request that gets no answer fails after ANSWER_MS naming its URL, not after undici's
// 5-minute header timeout: no answer of the worker's takes that long.
const ANSWER_MS = 90_000;
const realFetch = globalThis.fetch;
async function answered(input, init) {
  try {
    return await realFetch(input, init?.signal ? init : { ...init, signal: AbortSignal.timeout(ANSWER_MS) });
  } catch (e) {
    if (e?.name !== "TimeoutError") throw e;
    throw new Error(`no answer in ${ANSWER_MS / 1000} s: ${init?.method ?? "GET"} ${input}`, { cause: e });
  }
}
globalThis.fetch = async (input, init) => {
  const r = await answered(input, init);
  if (r.status !== 503) return r;
  const text = await r.text();
  if (text.includes(PROXY_RESTART)) {
    devProxy.retries++;
    return answered(input, init);
  }
  return new Response(text, { status: r.status, statusText: r.statusText, headers: r.headers });
};

let built = process.env.EDGE_PREBUILT === "1";

/** Builds the worker with the test clock once per process (scripts/test.sh builds first). */
function buildOnce() {
  if (built) return;
  const r = spawnSync("sh", ["scripts/build.sh"], { cwd: ROOT, stdio: "inherit", env: { ...process.env, EDGE_TEST_CLOCK: "1" } });
  if (r.status !== 0) throw new Error("worker build failed");
  built = true;
}

/** Applies migrations/ to the local D1 database under `persist` (what `wrangler dev` reads). */
export function applyMigrations(persist) {
  const r = spawnSync(join(ROOT, "node_modules", ".bin", "wrangler"),
    ["d1", "migrations", "apply", "MEASURE", "--local", "--persist-to", persist],
    { cwd: ROOT, encoding: "utf8", env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true" } });
  if (r.status !== 0) throw new Error(`d1 migrations failed:\n${r.stdout}\n${r.stderr}`);
}

/** Starts wrangler dev; resolves with { base, stop, logs, persist } (persist: its local state folder). */
export async function startWorker({ persist: reuse } = {}) {
  buildOnce();
  const port = await freePort();
  // A caller that passes `persist` restarts on existing local state and removes it itself.
  const persist = reuse ?? mkdtempSync(join(tmpdir(), "edge-engage-test-"));
  if (!reuse) applyMigrations(persist);
  const logs = [];
  const child = spawn(
    join(ROOT, "node_modules", ".bin", "wrangler"),
    ["dev", "--local", "--ip", "127.0.0.1", "--port", String(port), "--persist-to", persist,
      "--var", `ROOT_TOKEN:${TOKEN}`, "--var", "GEO_FROM_HEADERS:true", "--var", "DEMO_ENABLED:true", "--var", `CTC_SIGNING_KEY:${SIGNING_KEY}`, "--test-scheduled", "--show-interactive-dev-session=false"],
    {
      cwd: ROOT,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, EDGE_TEST_CLOCK: "1", EDGE_SKIP_BUILD: "1", WRANGLER_SEND_METRICS: "false", CI: "true" },
    },
  );
  child.stdout.on("data", (d) => logs.push(d.toString()));
  child.stderr.on("data", (d) => logs.push(d.toString()));
  let exited = false;
  child.on("exit", () => { exited = true; });
  const stop = async () => {
    if (!exited) {
      try { process.kill(-child.pid, "SIGTERM"); } catch { /* already gone */ }
      for (let i = 0; i < 50 && !exited; i++) await sleep(100);
      if (!exited) { try { process.kill(-child.pid, "SIGKILL"); } catch { /* gone */ } }
    }
    if (!reuse) rmSync(persist, { recursive: true, force: true });
  };
  process.on("exit", () => { try { process.kill(-child.pid, "SIGKILL"); } catch { /* gone */ } });
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 240_000;
  while (Date.now() < deadline) {
    if (exited) break;
    try {
      const r = await fetch(`${base}/v1/health`);
      if (r.ok) return { base, stop, logs, persist };
    } catch { /* not yet */ }
    await sleep(250);
  }
  await stop();
  throw new Error(`wrangler dev did not become ready:\n${logs.join("").slice(-4000)}`);
}

/** Creates a key of `account` with `scopes` through the root token (R-S1); resolves with its text. */
export async function createKey(base, account, scopes = SCOPES, name = "tests") {
  const r = await fetch(`${base}/v1/admin/accounts/${account}/keys`, {
    method: "POST",
    headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json" },
    body: JSON.stringify({ name, scopes }),
  });
  const json = await r.json();
  if (r.status !== 201) throw new Error(`key for ${account}: ${r.status} ${JSON.stringify(json)}`);
  return json.key;
}

const keys = new Map();
/** A key of `account` with every scope, made once per worker and account. */
export async function keyFor(base, account) {
  const name = `${base} ${account}`;
  if (!keys.has(name)) keys.set(name, createKey(base, account));
  return keys.get(name);
}

/** Admin request helper: `path` starts with the account, whose full key is used unless the
 * headers carry their own Authorization. */
export async function admin(base, method, path, body, headers = {}) {
  const account = path.split("/")[0];
  const auth = headers.Authorization ?? `Bearer ${await keyFor(base, account)}`;
  const init = { method, headers: { ...headers, Authorization: auth } };
  if (body !== undefined) {
    init.body = typeof body === "string" ? body : JSON.stringify(body);
    init.headers["Content-Type"] = "application/json";
  }
  const r = await fetch(`${base}/v1/admin/accounts/${path}`, init);
  const text = await r.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: r.status, json, text, headers: r.headers };
}

/** Publishes the demo snapshot (first publish) and returns its revision. */
export async function publishDemo(base, ifMatch = "*") {
  const r = await admin(base, "PUT", "demo/snapshot", fixture("demo/snapshot.json"), { "If-Match": ifMatch });
  if (r.status !== 200) throw new Error(`publish failed: ${r.status} ${r.text}`);
  return r.json.revision;
}

/**
 * Waits, if need be, until the local rate limiter's window of `periodS` seconds has at least
 * `needMs` left. The local limiter counts in fixed windows aligned on the clock (a period's
 * epoch, as miniflare implements it), so a burst that straddles a boundary is counted in two
 * windows and may pass up to twice the limit: a test that asserts how many pass starts inside
 * one window.
 */
export async function withinOneWindow(periodS, needMs) {
  const left = periodS * 1000 - (Date.now() % (periodS * 1000));
  if (left < needMs) await new Promise((r) => setTimeout(r, left + 50));
}

/** A random client address in 10.0.0.0/8 (R-S3 counts per address). */
export function someAddress() {
  return `10.${Math.floor(Math.random() * 256)}.${Math.floor(Math.random() * 256)}.${1 + Math.floor(Math.random() * 254)}`;
}

/**
 * Headers that set the worker's test clock to `now` (RFC 3339), or none without one. A visit
 * decided at a test time must get its events at a test time too: at the real time, a visit
 * decided at a past test time has long been idle past its timeout and starts afresh (R-D6).
 */
export function testClock(now) {
  return now ? { "X-Test-Now": now, "X-Test-Root": TOKEN } : {};
}

/** A decision request; `now` and `country` map to the test clock and edge geo headers. */
export async function decide(base, body, { now, country, userAgent, explain, headers: extra } = {}) {
  // Each request from its own address unless the test says otherwise: R-S3 limits per address.
  const headers = { "Content-Type": "application/json", "CF-Connecting-IP": someAddress(), ...extra };
  Object.assign(headers, testClock(now));
  if (explain) {
    const account = typeof body === "string" ? JSON.parse(body).account : body.account;
    headers.Authorization = `Bearer ${await keyFor(base, account)}`;
  }
  if (country) headers["CF-IPCountry"] = country;
  if (userAgent) headers["User-Agent"] = userAgent;
  const r = await fetch(`${base}/v1/decide${explain ? "?explain=1" : ""}`, {
    method: "POST", headers, body: typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await r.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: r.status, json, text, headers: r.headers };
}

/** The (zone, engagement, state) triples of a decision, as the vectors state them. */
export function summary(decision) {
  return {
    engagements: decision.engagements.map((e) => ({ zoneId: e.zoneId, engagementId: e.engagementId, state: e.stateName })),
    controlGroups: decision.controlGroups,
  };
}

const b64url = (v) => Buffer.from(typeof v === "string" ? v : JSON.stringify(v)).toString("base64url");

/** An HS256 identity token (R-S2), as the brand's server signs one: `secret` is the answer of
 * `POST …/identity-secret`. */
export function signIdentity(secret, claims) {
  const signed = `${b64url({ alg: "HS256", typ: "JWT", kid: secret.kid })}.${b64url(claims)}`;
  return `${signed}.${createHmac("sha256", secret.secret).update(signed).digest("base64url")}`;
}

/** The token a vector's page `identity` names (fixtures/decisions.json's comment), minted at
 * `nowIso` for `account`; tests/common/mod.rs mints the same kinds natively. */
export function identityToken(kind, account, nowIso, secret) {
  const now = Math.floor(Date.parse(nowIso) / 1000);
  const claims = (aud, exp) => ({ aud, exp, sub: "cust-1" });
  switch (kind) {
    case "signed": return signIdentity(secret, claims(account, now + 600));
    case "forged": return signIdentity({ ...secret, secret: "1".repeat(64) }, claims(account, now + 600));
    case "expired": return signIdentity(secret, claims(account, now - 3600));
    case "other-account": return signIdentity(secret, claims("other", now + 600));
    case "alg-none": return `${b64url({ alg: "none", typ: "JWT" })}.${b64url(claims(account, now + 600))}.`;
    default: throw new Error(`unknown identity kind ${kind}`);
  }
}
