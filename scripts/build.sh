#!/bin/sh
# Builds the worker (wrangler runs this as [build] command). worker-build would download
# wasm-bindgen and wasm-opt from GitHub; point it at the local ones instead.
# EDGE_TEST_CLOCK=1 (set only by the test harness) compiles in the test clock override.
set -eu
cd "$(dirname "$0")/.."
# The test harness builds once, then lets wrangler's own build step (run at start, and again
# after it) be a no-op, so the worker is not reloaded while tests run.
if [ "${EDGE_SKIP_BUILD:-0}" = "1" ] && [ -f build/worker/shim.mjs ]; then
  exit 0
fi
features=""
if [ "${EDGE_TEST_CLOCK:-0}" = "1" ]; then
  features="--features test-clock"
fi
export WASM_BINDGEN_BIN="${WASM_BINDGEN_BIN:-$(command -v wasm-bindgen || echo "$HOME/.cargo/bin/wasm-bindgen")}"
export WASM_OPT_BIN="${WASM_OPT_BIN:-$PWD/node_modules/.bin/wasm-opt}"
# shellcheck disable=SC2086
exec worker-build --release $features
