#!/usr/bin/env bash
# The visit request across the object boundary under V8: examples/message_timing.rs built
# for the Worker's target with the deploy profile, bound for Node by wasm-bindgen, and fed the
# request the scale account's timed decision sends (scale_fixture --visit-request), and the values
# its visit's object stores after five page views (--visit-values).
# `bash scripts/bench-messages.sh [rounds]`
set -euo pipefail
cd "$(dirname "$0")/.."
# The Worker's wasm target and wasm-bindgen-cli at the crate's version.
bash scripts/setup.sh run
export PATH="$HOME/.cargo/bin:$PATH"
ROUNDS=${1:-9}
TARGET_DIR=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
cargo build -q --release --target wasm32-unknown-unknown --example message_timing
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
# wasm-bindgen warns that `strip` removed the target_features section, which matters only to
# wasm-opt; none runs here.
wasm-bindgen --target nodejs --out-dir "$OUT" "$TARGET_DIR/wasm32-unknown-unknown/release/examples/message_timing.wasm" 2> >(grep -v target_features >&2)
cargo run -q --release --features testing --example scale_fixture -- --visit-request > "$OUT/request.json"
cargo run -q --release --features testing --example scale_fixture -- --visit-values > "$OUT/values.json"
node --no-warnings scripts/bench-messages.mjs "$OUT" "$ROUNDS"
