#!/usr/bin/env bash
# Builds the worker's wasm as a deploy does (no test features) and fails if it holds any of the
# test faults' names or messages (src/faults.rs): a deploy build must have no way to inject one.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
cargo build --release --target wasm32-unknown-unknown --quiet
wasm=target/wasm32-unknown-unknown/release/edge_engage.wasm
found=0
for s in X-Test-Fault hold-send previous-storage previous-object answer-lost refused-once \
  click-shard new-isolate account-object "test fault" "injected fault"; do
  if grep -q -a -F -- "$s" "$wasm"; then
    echo "deploy wasm holds the test-fault string \"$s\"" >&2
    found=1
  fi
done
[ "$found" = 0 ] && echo "deploy wasm: no test-fault strings"
exit "$found"
