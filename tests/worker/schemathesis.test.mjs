// The API contract, probed by Schemathesis (from PyPI, installed into .venv by
// scripts/setup.sh) against the real worker: every operation of docs/openapi.yaml, positive and
// negative inputs, a bounded number of examples with a fixed seed. Zero 5xx responses and zero
// responses that do not match the document (status, content type, body schema).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startWorker, publishDemo, admin, fixture, createKey, keyFor, ROOT, TOKEN } from "./harness.mjs";

const BIN = join(ROOT, ".venv", "bin", "schemathesis");
const EXAMPLES = process.env.SCHEMATHESIS_EXAMPLES ?? "50";
let w;
let demoKey;
let spareKeyId;

before(async () => {
  w = await startWorker();
  await publishDemo(w.base, "0");
  await admin(w.base, "PUT", "demo/availability", JSON.parse(fixture("demo/availability.json")));
  demoKey = await keyFor(w.base, "demo");
  spareKeyId = (await createKey(w.base, "demo", ["reports"], "spare")).split(".").at(-2);
});
after(async () => { await w?.stop(); });

test("every documented operation answers within its contract: no 5xx, no undocumented answer", () => {
  assert.ok(existsSync(BIN), "schemathesis is missing: run bash scripts/setup.sh");
  const out = join(ROOT, "test-output");
  mkdirSync(out, { recursive: true });
  const r = spawnSync(BIN, [
    "--config-file", "tests/api/schemathesis.toml", "run", "docs/openapi.yaml", "--url", w.base,
    "--checks", "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
    "--max-examples", EXAMPLES, "--seed", "1", "--generation-database", "none", "--workers", "1",
    "--no-color", "--report", "junit", "--report-junit-path", join(out, "schemathesis-junit.xml"),
  ], { cwd: ROOT, encoding: "utf8", maxBuffer: 64 << 20, env: {
    ...process.env, ROOT_TOKEN: TOKEN, DEMO_KEY: demoKey, SPARE_KEY_ID: spareKeyId,
    // Each case from its own client address (R-S3 limits per address): tests/api/hooks.py.
    SCHEMATHESIS_HOOKS: "hooks", PYTHONPATH: join(ROOT, "tests", "api"),
  } });
  writeFileSync(join(out, "schemathesis.txt"), r.stdout + r.stderr);
  const cases = /(\d+) generated, (\d+) passed/.exec(r.stdout);
  console.log(`schemathesis: ${cases ? cases[0] : "no summary"} (max ${EXAMPLES} examples per operation, seed 1)`);
  assert.equal(r.status, 0, r.stdout.slice(-6000) + r.stderr.slice(-2000));
  assert.ok(cases && Number(cases[1]) >= 500 && cases[1] === cases[2], r.stdout.slice(-2000));
});
