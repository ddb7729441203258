#!/usr/bin/env bash
# Worker benchmarks under `wrangler dev` (BENCHMARKS.md): wrk on 127.0.0.1 against the floor
# route, /v1/decide without and with the visit object, the offsite link and the events route,
# each reported as a ratio to the floor's median latency measured in the same run.
# Usage: bash scripts/bench-worker.sh [seconds per route, default 10] [connections, default 20]
# With EDGE_TEST_CLOCK=1 it measures a test build, and adds a row that drops the visit's record
# after a decision made without the object.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh run
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
export PATH="$HOME/.cargo/bin:$PATH" WRANGLER_SEND_METRICS=false CI=true
SECS=${1:-10}
CONNS=${2:-20}
PORT=${PORT:-8797}
BASE="http://127.0.0.1:$PORT"
ROOT=bench-root-token-0123456789
OUT=test-output/bench-worker.md
mkdir -p test-output
PERSIST=$(mktemp -d)

sh scripts/build.sh
npx wrangler d1 migrations apply MEASURE --local --persist-to "$PERSIST" >/dev/null
EDGE_SKIP_BUILD=1 setsid npx wrangler dev --local --ip 127.0.0.1 --port "$PORT" --persist-to "$PERSIST" \
  --var "ROOT_TOKEN:$ROOT" --var GEO_FROM_HEADERS:true > "$PERSIST/wrangler.log" 2>&1 &
WRANGLER=$!
# wrangler runs workerd as a child: stop the whole process group.
trap 'kill -- -$WRANGLER 2>/dev/null || true; rm -rf "$PERSIST"' EXIT
for _ in $(seq 1 120); do curl -fsS "$BASE/v1/health" >/dev/null 2>&1 && break; sleep 1; done

# Each account's own key, made with the root token (R-S1).
key() {
  curl -fsS -X POST "$BASE/v1/admin/accounts/$1/keys" -H "Authorization: Bearer $ROOT" -H 'Content-Type: application/json' \
    -d '{"name":"bench","scopes":["publish","availability"]}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])'
}
declare -A KEYS=([scale]="$(key scale)" [demo]="$(key demo)")
admin() { curl -fsS -X "$1" "$BASE/v1/admin/accounts/$2" -H "Authorization: Bearer ${KEYS[${2%%/*}]}" -H 'Content-Type: application/json' "${@:3}"; }
cargo run -q --release --features testing --example scale_fixture -- 2000 7 > "$PERSIST/scale.json"
cargo run -q --release --features testing --example scale_fixture -- --availability > "$PERSIST/scale-availability.json"
admin PUT scale/snapshot -H 'If-Match: *' --data-binary @"$PERSIST/scale.json" >/dev/null
admin PUT scale/availability --data-binary @"$PERSIST/scale-availability.json" >/dev/null
admin PUT demo/snapshot -H 'If-Match: *' --data-binary @fixtures/demo/snapshot.json >/dev/null
admin PUT demo/availability --data-binary @fixtures/demo/availability.json >/dev/null

Q="account=scale&visitorId=bench-visitor&url=https%3A%2F%2Fshop.example%2Fcategory-7%2Fboots-42&sections=section-10&zones=left,right,proactive,embedded:slot-3"
# One visit per request for the visit object (a real site's visits are spread over objects).
cat > "$PERSIST/visits.lua" <<LUA
counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", "/v1/decide?$Q&visitId=v" .. math.random(1, 1000000000), spread())
end
LUA
# The same page asking for its buttons only (no proactive zone, so no proactive candidate in
# play), as tag 1.1 asks: with the visit's closed engagements (none), which lets the worker
# decide without waiting for the visit's object.
QB="${Q/zones=left,right,proactive,/zones=left,right,}&declined="
# Realistic visits: five page views each, as a site's visitors make them. Each wrk thread
# keeps 200 visits open and cycles through them, so that one visit's page views are 200
# requests apart (never concurrent); after its fifth page a visit is replaced by a fresh one.
# pages.lua asks as tag 1.0 does, pages-buttons.lua as tag 1.1 on pages without an invite.
for variant in "pages:$Q" "pages-buttons:$QB"; do
  cat > "$PERSIST/${variant%%:*}.lua" <<LUA
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
counter = 0
request = function()
  local k = counter
  counter = counter + 1
  local visit = math.floor(k / 1000) * 200 + k % 200
  local page = math.floor(k / 200) % 5
  return wrk.format("GET", "/v1/decide?${variant#*:}&visitId=${variant%%:*}" .. tid .. "-" .. visit .. "&pageId=p" .. page, spread())
end
LUA
done
# R-S3 limits per client address: every request comes from its own, as a site's visitors do.
cat > "$PERSIST/spread.lua" <<'LUA'
function spread()
  return { ["CF-Connecting-IP"] = "10." .. math.random(0, 255) .. "." .. math.random(0, 255) .. "." .. math.random(1, 254),
           ["CF-IPCountry"] = "GB" }
end
request = function() return wrk.format(nil, nil, spread()) end
LUA
# Duplicate impressions, spread over 64 visits: R-S3 allows a visit 100 events per 10 s, and one
# visit alone would measure the limiter's 429 instead of the route.
{
  echo 'wrk.method = "POST"'
  echo 'wrk.headers["Content-Type"] = "text/plain"'
  echo 'bodies = {}'
  for i in $(seq 1 64); do
    ctx=$(curl -fsS "$BASE/v1/decide?$Q&visitId=bench-events-$i" -H 'CF-IPCountry: GB' -H "CF-Connecting-IP: 10.9.0.$i" |
      python3 -c 'import json,sys; print(json.load(sys.stdin)["engagements"][0]["contextId"])')
    echo "bodies[$i] = '{\"account\":\"scale\",\"visitId\":\"bench-events-$i\",\"event\":\"OFFER_IMPRESSION\",\"contextId\":\"$ctx\"}'"
  done
  echo 'n = 0'
  echo 'request = function() n = n + 1; return wrk.format(nil, nil, spread(), bodies[n % 64 + 1]) end'
} > "$PERSIST/events.lua"
for script in visits pages pages-buttons events; do sed -i "1i dofile('$PERSIST/spread.lua')" "$PERSIST/$script.lua"; done

# CPU time used so far by wrangler dev's processes (node, and the two workerd: the one that
# routes requests and the one that runs the worker and its objects), in clock ticks.
ticks() {
  local t=0 p
  for p in $(ps -s "$WRANGLER" -o pid=); do
    t=$((t + $(awk '{ sub(/^[^)]*\) /, ""); print $12 + $13 }' "/proc/$p/stat" 2>/dev/null || echo 0)))
  done
  echo "$t"
}
# run NAME PATH [wrk args…]: prints "name|p50 ms|p99 ms|req/s|errors|CPU ms per request". Each
# route first waits SETTLE seconds (default 20) for the work the previous one left behind (visit
# objects' alarms, the queue's deliveries, D1 writes) to drain, so that a row measures its own
# route only. Its CPU is what wrangler dev's processes used during its wrk run, per request
# served: with the simulator's two cores saturated, p50 follows it.
SETTLE=${SETTLE:-20}
run() {
  local name=$1 path=$2 before
  shift 2
  sleep "$SETTLE"
  before=$(ticks)
  wrk -t2 -c"$CONNS" -d"${SECS}s" --latency -H 'CF-IPCountry: GB' "$@" "$BASE$path" > "$PERSIST/wrk.txt" 2>&1 || true
  python3 - "$name" "$PERSIST/wrk.txt" "$(($(ticks) - before))" "$(getconf CLK_TCK)" <<'PY'
import re, sys
name, text = sys.argv[1], open(sys.argv[2]).read()
ticks, per_second = int(sys.argv[3]), int(sys.argv[4])
def ms(label):
    m = re.search(rf"^\s*{label}\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
    if not m: return float("nan")
    v, u = float(m.group(1)), m.group(2)
    return v / 1000 if u == "us" else v * 1000 if u == "s" else v
rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
errs = re.search(r"Socket errors:.*", text)
served = re.search(r"^\s*(\d+) requests in", text, re.M)
cpu = ticks * 1000 / per_second / int(served.group(1)) if served and int(served.group(1)) else float("nan")
print(f"{name}|{ms('50%'):.2f}|{ms('99%'):.2f}|{float(rps.group(1)) if rps else 0:.0f}|{(int(bad.group(1)) if bad else 0)}{' ' + errs.group(0) if errs else ''}|{cpu:.2f}")
PY
}

# R-O2: an eligible click starts the landing page's visit after the redirect has gone out; an
# ineligible one goes to the survey without it. The demo's offsite campaign runs 08:00-22:00
# London, so which of the two this row measures depends on the hour of the run.
case "$(curl -s -o /dev/null -w '%{redirect_url}' -H 'CF-IPCountry: GB' "$BASE/o/demo/e-offsite-email")" in
  */survey/*) OFFSITE="offsite link /o/demo/e-offsite-email (to the survey at this hour)" ;;
  *) OFFSITE="offsite link /o/demo/e-offsite-email (to the landing page at this hour: its visit starts)" ;;
esac

{
  run "floor: GET /v1/health" "/v1/health"
  run "decide, no visit object (?visit=0), scale account" "/v1/decide?visit=0&$Q&visitId=bench-1" -s "$PERSIST/spread.lua"
  run "decide with the visit object, scale account (a fresh visit per request)" "/v1/decide" -s "$PERSIST/visits.lua"
  run "decide with the visit object, scale account (visits of five page views)" "/v1/decide" -s "$PERSIST/pages.lua"
  run "decide, tag 1.1 on pages without an invite: no object hop (visits of five page views)" "/v1/decide" -s "$PERSIST/pages-buttons.lua"
  if [ "${EDGE_TEST_CLOCK:-0}" = "1" ]; then
    # Test builds only: the same, with the visit's record after the answer dropped (the
    # record-lost fault), to tell what the deferred record costs the simulator's cores.
    run "the same, with the record after the answer dropped (test build: X-Test-Fault record-lost)" "/v1/decide" \
      -s "$PERSIST/pages-buttons.lua" -H 'X-Test-Fault: record-lost' -H "X-Test-Root: $ROOT"
  fi
  run "$OFFSITE" "/o/demo/e-offsite-email" -s "$PERSIST/spread.lua"
  run "events (duplicate impression)" "/v1/events" -s "$PERSIST/events.lua"
} > "$PERSIST/rows.txt"

python3 - "$PERSIST/rows.txt" "$SECS" "$CONNS" > "$OUT" <<'PY'
import sys
rows = [l.rstrip("\n").split("|") for l in open(sys.argv[1]) if l.strip()]
floor = float(rows[0][1])
print(f"wrk, {sys.argv[3]} connections, {sys.argv[2]} s per route, 127.0.0.1, wrangler dev (local workerd)\n")
print("| route | p50 ms | p99 ms | req/s | ratio p50 / floor | non-2xx/3xx | CPU ms per request (wrangler dev's processes) |")
print("|---|---|---|---|---|---|---|")
for name, p50, p99, rps, bad, cpu in rows:
    print(f"| {name} | {p50} | {p99} | {rps} | {float(p50) / floor:.2f} | {bad} | {cpu} |")
PY
# One request at a time, 100 ms apart: an idle worker, where a request does not queue behind the
# work that earlier ones left for after their answer (wait_until). wrk's rows above keep the
# simulator's two cores busy, so they measure each route's whole cost, answered or deferred; these
# measure what one visitor waits. Each request from its own address (R-S3).
python3 - "$BASE" "$Q" "$OFFSITE" "$QB" >> "$OUT" <<'PY'
import http.client, sys, time, urllib.parse
base, q, offsite, qb = urllib.parse.urlparse(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
def spaced(path, n=100):
    conn, times = http.client.HTTPConnection(base.hostname, base.port), []
    for i in range(n):
        headers = {"CF-IPCountry": "GB", "CF-Connecting-IP": f"10.9.{i // 250}.{i % 250 + 1}"}
        start = time.perf_counter()
        conn.request("GET", path.format(i=i), headers=headers)
        conn.getresponse().read()
        times.append((time.perf_counter() - start) * 1000)
        time.sleep(0.1)
    times.sort()
    return times[n // 2], times[n * 9 // 10]
rows = [("floor: GET /v1/health", "/v1/health"),
        ("decide with the visit object, scale account (a fresh visit per request)", f"/v1/decide?{q}&visitId=idle-{{i}}"),
        ("decide, tag 1.1 on a page without an invite: no object hop (a fresh visit per request)", f"/v1/decide?{qb}&visitId=idle-b-{{i}}"),
        (offsite, "/o/demo/e-offsite-email")]
measured = [(name, *spaced(path)) for name, path in rows]
floor = measured[0][1]
print("\nOne request at a time, 100 ms apart (an idle worker: what one visitor waits), 100 requests per route\n")
print("| route | p50 ms | p90 ms | ratio p50 / floor |")
print("|---|---|---|---|")
for name, p50, p90 in measured:
    print(f"| {name} | {p50:.2f} | {p90:.2f} | {p50 / floor:.2f} |")
PY
cat "$OUT"
