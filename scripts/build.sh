#!/bin/sh
# Builds the worker (wrangler runs this as [build] command). worker-build would download
# wasm-bindgen and wasm-opt from GitHub; point it at the local ones instead.
# EDGE_TEST_CLOCK=1 (set only by the test harness) compiles in the test clock override and the
# test faults (cargo features test-clock and test-faults).
set -eu
cd "$(dirname "$0")/.."
# The test harness builds once, then lets wrangler's own build step (run at start, and again
# after it) be a no-op, so the worker is not reloaded while tests run.
if [ "${EDGE_SKIP_BUILD:-0}" = "1" ] && [ -f build/worker/shim.mjs ] && [ -f build/assets/_headers ]; then
  exit 0
fi
features=""
if [ "${EDGE_TEST_CLOCK:-0}" = "1" ]; then
  features="--features test-clock,test-faults"
fi
# Up to date: the last build had the same features and nothing it is built from is newer.
# (wrangler dev builds once at start and again when its file watcher is ready; the second
# one is then a no-op instead of another compile and wasm-opt pass.)
STAMP=build/.edge-build
# Static assets (the web tag, the API documents, the report page's files): build/assets.
if [ ! -f build/assets/_headers ] || [ -n "$(find tag/src tag/build.mjs tag/package.json scripts/assets.mjs docs/openapi.yaml docs/snapshot.schema.json report -newer build/assets/_headers -print 2>/dev/null | head -n 1)" ]; then
  node scripts/assets.mjs
fi
if [ -f build/worker/shim.mjs ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "features=$features" ] &&
  [ -z "$(find src demo docs report migrations Cargo.toml Cargo.lock wrangler.toml -newer "$STAMP" -print 2>/dev/null | head -n 1)" ]; then
  echo "build: up to date (features: ${features:-none})"
  exit 0
fi
export WASM_BINDGEN_BIN="${WASM_BINDGEN_BIN:-$(command -v wasm-bindgen || echo "$HOME/.cargo/bin/wasm-bindgen")}"
export WASM_OPT_BIN="${WASM_OPT_BIN:-$PWD/node_modules/.bin/wasm-opt}"
# shellcheck disable=SC2086
worker-build --release $features
echo "features=$features" > "$STAMP"
