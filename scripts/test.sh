#!/usr/bin/env bash
# Runs every test: formatting and lints, the native engine tests, the web tag's unit tests,
# then the worker tests against the real worker under `wrangler dev` (workerd with local KV,
# Durable Objects, D1, Queues and static assets) and in Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PATH" WRANGLER_SEND_METRICS=false CI=true

echo "== cargo fmt --check"
cargo fmt --check
echo "== cargo clippy (native, all targets; wasm worker)"
cargo clippy --all-targets --features testing -- -D warnings
cargo clippy --target wasm32-unknown-unknown --features test-clock,test-faults -- -D warnings
cargo clippy --target wasm32-unknown-unknown -- -D warnings
echo "== native tests (the R-M3 statistics against scipy's figures, regenerated first)"
.venv/bin/python scripts/stats_reference.py --check
cargo test --features testing
# The test faults' own tests (src/faults.rs); the rest is built without them, as the worker
# tests' helpers (cargo run --features testing) build it.
cargo test --features testing,test-faults --lib faults
echo "== build the worker (with the test clock, test faults and the web tag), check their sizes and that a deploy build has no test faults"
EDGE_TEST_CLOCK=1 sh scripts/build.sh
bash scripts/wasm-size.sh
bash scripts/no-test-faults.sh
echo "== the web tag's unit tests (R-T1..R-T5; happy-dom)"
node --test tag/test/
echo "== worker tests against wrangler dev"
EDGE_PREBUILT=1 node --test --test-concurrency=1 tests/worker/
echo "== soak: one minute of mixed load (node scripts/soak.mjs 600 runs the full ten)"
EDGE_PREBUILT=1 node scripts/soak.mjs 60
