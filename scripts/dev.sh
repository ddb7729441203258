#!/usr/bin/env bash
# Starts the worker locally on http://127.0.0.1:8787 with the demo account from fixtures/
# published into local KV and agent availability set. Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PATH" WRANGLER_SEND_METRICS=false
PORT="${PORT:-8787}"
BASE="http://127.0.0.1:$PORT"
TOKEN="$(sed -n 's/^ADMIN_TOKEN=//p' .dev.vars | head -n 1)"

sh scripts/build.sh
npx wrangler dev --local --ip 127.0.0.1 --port "$PORT" &
WRANGLER=$!
trap 'kill $WRANGLER 2>/dev/null || true' EXIT INT TERM

for _ in $(seq 1 180); do
  curl -fsS "$BASE/v1/health" >/dev/null 2>&1 && break
  sleep 1
done
curl -fsS "$BASE/v1/health" >/dev/null

echo "dev: publishing the demo account"
curl -fsS -X PUT "$BASE/v1/admin/accounts/demo/snapshot" \
  -H "Authorization: Bearer $TOKEN" -H "If-Match: *" -H "Content-Type: application/json" \
  --data-binary @fixtures/demo/snapshot.json
echo
echo "dev: setting agent availability"
curl -fsS -X PUT "$BASE/v1/admin/accounts/demo/availability" \
  -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" \
  --data-binary @fixtures/demo/availability.json
echo
cat <<MSG

  Worker ready on $BASE with the demo account (token in .dev.vars). Try:

  curl -s -X POST $BASE/v1/decide -H 'CF-IPCountry: GB' -H 'Content-Type: application/json' \\
    -d '{"account":"demo","visitorId":"visitor-0001","visitId":"visit-1","page":{"url":"https://www.demo-outfitters.example/shop/boots"}}'

MSG
wait $WRANGLER
