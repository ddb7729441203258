// Starts the real worker under `wrangler dev` (workerd, local KV and Durable Objects) on a free
// port with its own --persist-to directory, and stops it when the test file ends.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const TOKEN = "test-admin-token-0123456789abcdef";
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
const realFetch = globalThis.fetch;
globalThis.fetch = async (input, init) => {
  const r = await realFetch(input, init);
  if (r.status !== 503) return r;
  const text = await r.text();
  if (text.includes(PROXY_RESTART)) {
    devProxy.retries++;
    return realFetch(input, init);
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
      "--var", `ADMIN_TOKEN:${TOKEN}`, "--var", "GEO_FROM_HEADERS:true", "--var", "DEMO_ENABLED:true", "--var", `CTC_SIGNING_KEY:${SIGNING_KEY}`, "--test-scheduled", "--show-interactive-dev-session=false"],
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

/** Admin request helper. */
export async function admin(base, method, path, body, headers = {}) {
  const init = { method, headers: { Authorization: `Bearer ${TOKEN}`, ...headers } };
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

/** A decision request; `now` and `country` map to the test clock and edge geo headers. */
export async function decide(base, body, { now, country, userAgent, explain, headers: extra } = {}) {
  const headers = { "Content-Type": "application/json", ...extra };
  if (now) { headers["X-Test-Now"] = now; headers.Authorization = `Bearer ${TOKEN}`; }
  if (explain) headers.Authorization = `Bearer ${TOKEN}`;
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
