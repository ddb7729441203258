#!/usr/bin/env bash
# Prints the built worker's wasm size (raw and gzip) and fails past the budget in BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
BUDGET_GZIP=${BUDGET_GZIP:-850000}
raw=$(wc -c < build/index_bg.wasm)
gz=$(gzip -9 -c build/index_bg.wasm | wc -c)
echo "wasm size: raw ${raw} bytes, gzip ${gz} bytes (budget ${BUDGET_GZIP} gzip)"
if [ "$gz" -gt "$BUDGET_GZIP" ]; then
  echo "wasm size over budget" >&2
  exit 1
fi
