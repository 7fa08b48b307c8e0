#!/bin/sh
# wrk against fdsoak-gateway on loopback: GET /health and POST /v1/responses.
# For each: requests/s, p50/p99 latency, and the daemon's RSS and open fd
# count before and after at least REQUESTS requests (both must come back to
# where they started: nothing per request may stay behind).
#
#   gateway/bench/wrk.sh [BUILD_DIR]       (default: build)
#   env: REQUESTS (100000), THREADS (2), CONNS (32), PORT (18642)
set -eu

here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build}
gw=$build/bin/fdsoak-gateway
requests=${REQUESTS:-100000}
threads=${THREADS:-2}
conns=${CONNS:-32}
port=${PORT:-18642}
tmp=$(mktemp -d /tmp/fdsoak-bench.XXXXXX)

[ -x "$gw" ] || { echo "wrk.sh: $gw not built" >&2; exit 2; }
command -v wrk >/dev/null || { echo "wrk.sh: wrk not installed" >&2; exit 2; }

cat >"$tmp/gw.yaml" <<YAML
log_level: warn
api:
  host: 127.0.0.1
  port: $port
  key: ""
  store_path: $tmp/responses.db
  max_responses: 100
YAML

"$gw" --config "$tmp/gw.yaml" 2>"$tmp/gw.log" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$tmp"' EXIT INT TERM

i=0
until curl -fsS "http://127.0.0.1:$port/health" >/dev/null 2>&1; do
  i=$((i + 1))
  [ $i -lt 100 ] || { echo "wrk.sh: gateway did not come up" >&2; cat "$tmp/gw.log" >&2; exit 2; }
  sleep 0.05
done

rss() { awk '/^VmRSS:/ {print $2}' /proc/$pid/status; }
fds() { ls /proc/$pid/fd | wc -l; }

# Run wrk until at least $requests requests were made: wrk is time-bound,
# so size the duration from a short calibration run.
run() {
  name=$1
  script=$2
  # Warm-up (first-use allocations, SQLite page cache) so before/after
  # compare steady states.
  wrk -t1 -c4 -d1s -s "$script" "http://127.0.0.1:$port$3" >/dev/null
  sleep 0.2
  rss0=$(rss); fd0=$(fds)
  total=0
  out=""
  while [ "$total" -lt "$requests" ]; do
    out=$(wrk -t"$threads" -c"$conns" -d5s --latency -s "$script" "http://127.0.0.1:$port$3")
    n=$(echo "$out" | sed -n 's/^BENCH requests=\([0-9]*\).*/\1/p')
    total=$((total + n))
  done
  # Let keep-alive connections close and the loop settle.
  sleep 0.5
  rss1=$(rss); fd1=$(fds)
  echo "$name: $(echo "$out" | grep '^BENCH' | sed 's/^BENCH //') total_requests=$total" \
       "rss_kb_before=$rss0 rss_kb_after=$rss1 fds_before=$fd0 fds_after=$fd1"
}

echo "wrk -t$threads -c$conns -d5s (repeated to >= $requests requests), loopback, pid $pid"
run "GET /health" "$here/health.lua" /health
run "POST /v1/responses" "$here/post_responses.lua" /v1/responses
# A second round from the first round's end: a leak keeps growing, a cache
# that has reached its size does not.
run "POST /v1/responses (again)" "$here/post_responses.lua" /v1/responses
