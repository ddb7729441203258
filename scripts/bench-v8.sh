#!/usr/bin/env bash
# The engine as the edge runs it: examples/engine_timing.rs built for wasm32-wasip1 with the
# deploy profile (release: opt-level "s", LTO, as the Worker ships) and run by V8 through Node's
# WASI, beside the same program natively at opt-level 3 (the bench profile), back to back on
# one machine. Prints a table with the budgets under V8. `bash scripts/bench-v8.sh [rounds]`
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
ROUNDS=${1:-15}
rustup target list --installed | grep -q '^wasm32-wasip1$' || rustup target add wasm32-wasip1
TARGET_DIR=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
cargo build -q --release --features testing --target wasm32-wasip1 --example engine_timing
cargo build -q --profile bench --features testing --example engine_timing
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
"$TARGET_DIR/release/examples/engine_timing" "$ROUNDS" > "$OUT/native"
node --no-warnings scripts/wasi-run.mjs "$TARGET_DIR/wasm32-wasip1/release/examples/engine_timing.wasm" "$ROUNDS" > "$OUT/v8"
python3 - "$OUT/native" "$OUT/v8" <<'PY'
import json, sys
native = {r["name"]: r["us"] for r in map(json.loads, open(sys.argv[1]))}
v8 = {r["name"]: r["us"] for r in map(json.loads, open(sys.argv[2]))}
budget = {"decide/demo": 3, "decide/scale-2000": 25, "snapshot/load scale-2000": 10_000}
def show(us): return f"{us / 1000:.2f} ms" if us >= 1000 else f"{us:.2f} µs"
print("| operation | native, opt-level 3 | V8 (wasm32-wasip1, deploy profile) | V8 / native | budget under V8 | met |")
print("|---|---|---|---|---|---|")
for name, n in native.items():
    b = budget.get(name)
    met = "" if b is None else ("yes" if v8[name] <= b else "**no**")
    print(f"| {name} | {show(n)} | {show(v8[name])} | {v8[name] / n:.2f} | {show(b) if b else '—'} | {met} |")
PY
