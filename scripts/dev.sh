#!/usr/bin/env bash
# Starts the worker locally on http://127.0.0.1:8787 with the demo account from fixtures/
# published into local KV and agent availability set. Ctrl-C stops it.
# Installs only what running needs (setup.sh run: no Chromium, no Schemathesis). The first
# start on a fresh clone compiles the worker (a few minutes); later starts take seconds.
# EDGE_TEST_CLOCK=1 builds with the test clock (docs/api.md, "Running on the test clock").
set -euo pipefail
cd "$(dirname "$0")/.."
STARTED=$(date +%s)
bash scripts/setup.sh run
export PATH="$HOME/.cargo/bin:$PATH" WRANGLER_SEND_METRICS=false
PORT="${PORT:-8787}"
BASE="http://127.0.0.1:$PORT"
ROOT="$(sed -n 's/^ROOT_TOKEN=//p' .dev.vars | head -n 1)"
# The demo account's own key (R-S1), made with the root token on first start and kept here.
KEY_FILE=.dev.demo-key

echo "dev: applying the measurement database's migrations (local D1)"
npx wrangler d1 migrations apply MEASURE --local >/dev/null
# A real demo: the report page shows two weeks of simulated visits (once per local state),
# written as the D1 database of earlier releases held them and moved into the measurement
# objects by the migration once the worker runs (below), as a deployment's are.
FILL_DEMO=0
if npx wrangler d1 execute MEASURE --local --json \
  --command "SELECT COUNT(*) AS n FROM touch WHERE account = 'demo' AND visitor LIKE 'sim-%'" 2>/dev/null |
  grep -q '"n": 0'; then
  echo "dev: filling the demo account with two weeks of simulated visits (scripts/demo-data.mjs)"
  mkdir -p build
  node scripts/demo-data.mjs > build/demo-data.sql
  npx wrangler d1 execute MEASURE --local --file build/demo-data.sql >/dev/null
  FILL_DEMO=1
fi
# The static assets wrangler serves (the web tag, the API documents) must exist before it starts.
[ -f build/assets/_headers ] || node scripts/assets.mjs >/dev/null
if [ ! -f build/worker/shim.mjs ]; then
  echo "dev: first start: compiling the worker to wasm (a few minutes, once)"
fi
# wrangler builds at start ([build] in wrangler.toml) and again when src/, demo/ or docs/
# change (watch_dir). It also reruns the build once its file watcher is ready ("The file …
# changed, restarting build"): scripts/build.sh sees nothing changed and returns at once.
npx wrangler dev --local --ip 127.0.0.1 --port "$PORT" &
WRANGLER=$!
trap 'kill $WRANGLER 2>/dev/null || true' EXIT INT TERM

for _ in $(seq 1 900); do
  curl -fsS "$BASE/v1/health" >/dev/null 2>&1 && break
  sleep 1
done
curl -fsS "$BASE/v1/health" >/dev/null

# A key that still works answers 403 on the root-only key list; a missing or revoked one, 401.
KEY="$(cat "$KEY_FILE" 2>/dev/null || true)"
if [ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $KEY" "$BASE/v1/admin/accounts/demo/keys")" != 403 ]; then
  echo "dev: making the demo account's key (root token from .dev.vars)"
  curl -fsS -X POST "$BASE/v1/admin/accounts/demo/keys" \
    -H "Authorization: Bearer $ROOT" -H "Content-Type: application/json" \
    -d '{"name":"local development","scopes":["publish","availability","reports","conversions","explain","erase","agent","calls","identity"]}' |
    node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>process.stdout.write(JSON.parse(s).key))' > "$KEY_FILE"
  KEY="$(cat "$KEY_FILE")"
fi
echo "dev: publishing the demo account"
curl -fsS -X PUT "$BASE/v1/admin/accounts/demo/snapshot" \
  -H "Authorization: Bearer $KEY" -H "If-Match: *" -H "Content-Type: application/json" \
  --data-binary @fixtures/demo/snapshot.json
echo
echo "dev: setting agent availability"
curl -fsS -X PUT "$BASE/v1/admin/accounts/demo/availability" \
  -H "Authorization: Bearer $KEY" -H "Content-Type: application/json" \
  --data-binary @fixtures/demo/availability.json
echo
if [ "$FILL_DEMO" = 1 ] || [ ! -f .dev.demo-migrated ]; then
  echo "dev: moving the simulated weeks into the measurement objects (scripts/migrate-measure.mjs)"
  node scripts/migrate-measure.mjs "$BASE" demo "$KEY" && touch .dev.demo-migrated
fi
cat <<MSG

  Worker ready on $BASE with the demo account, $(( $(date +%s) - STARTED )) s after start.
  The demo account's key (every scope) is in $KEY_FILE: $KEY
  Try:

  curl -s -X POST $BASE/v1/decide -H 'CF-IPCountry: GB' -H 'Content-Type: application/json' \\
    -d '{"account":"demo","visitorId":"visitor-0001","visitId":"visit-1","page":{"url":"https://www.demo-outfitters.example/shop/boots"}}'

  The report: open $BASE/report/demo and enter the demo account's key.

MSG
wait $WRANGLER
