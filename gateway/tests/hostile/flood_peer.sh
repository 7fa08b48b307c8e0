#!/bin/sh
# A hostile peer and hostile clients that send without end and never read
# (issue 12): the gateway's memory stays bounded by its per-connection write
# queue cap and read back-pressure, on the platform adapter and on the HTTP
# server.  Bounded: a few seconds of flooding each, loopback only.
GW=$1 PD=$2
. "$(dirname "$0")/../integration/common.inc"
. "$(dirname "$0")/../integration/api.inc"
HERE=$(cd "$(dirname "$0")" && pwd)

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

# Under ASan freed memory sits in a quarantine (256 MiB by default), so RSS
# would measure throughput, not what the gateway holds: no quarantine here.
if ldd "$GW" 2>/dev/null | grep -q libasan; then
  ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0
  export ASAN_OPTIONS
fi

# --- the platform adapter against a flooding peer -----------------------------
python3 "$HERE/flood.py" peer "$WORK/flood.port" 4 >"$WORK/flood.out" 2>&1 &
F=$!
PIDS="$PIDS $F"
i=0
while [ ! -s "$WORK/flood.port" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
[ -s "$WORK/flood.port" ] || fail "the flood peer did not start"
{
  api_yaml "" "$WORK/responses.db"
  echo "platforms:"
  platform_yaml flood "$(cat "$WORK/flood.port")"
} >"$WORK/gw.yaml"
start_gw gw
wait_log "$WORK/gw.log" "platform flood: connected" 10
BEFORE=$(rss_kb "$GW_PID")
# The peak while the flood runs (freed memory may go back when it ends).
AFTER=$BEFORE
while kill -0 "$F" 2>/dev/null; do
  r=$(rss_kb "$GW_PID")
  [ -n "$r" ] || break
  [ "$r" -gt "$AFTER" ] && AFTER=$r
  sleep 0.2
done
wait_exit "$F" 30
# The flood is only a flood if the link stayed up until the peer left: a
# protocol error would have closed it early and proved nothing.
! grep -q "platform flood: runtime error.*protocol" "$WORK/gw.log" || fail "the flood peer broke the protocol"
[ -n "$AFTER" ] || fail "the gateway died under the flood"
GROWTH=$(( (AFTER - BEFORE) / 1024 ))
echo "platform flood: $(cat "$WORK/flood.out") bytes; gateway RSS $((BEFORE / 1024)) -> $((AFTER / 1024)) MiB"
[ "$GROWTH" -lt 32 ] || fail "gateway RSS grew by $GROWTH MiB under a flooding peer (cap: 32)"
echo "ok: a peer flooding messages and never reading costs the gateway $GROWTH MiB"

# --- the HTTP server against pipelining clients that never read ---------------
BEFORE=$(rss_kb "$GW_PID")
python3 "$HERE/flood.py" http "$API_PORT" 3 16 >"$WORK/http.out" 2>&1 &
F=$!
PIDS="$PIDS $F"
AFTER=$BEFORE
while kill -0 "$F" 2>/dev/null; do
  r=$(rss_kb "$GW_PID")
  [ -n "$r" ] || break
  [ "$r" -gt "$AFTER" ] && AFTER=$r
  sleep 0.2
done
wait_exit "$F" 30
[ "$EXIT_CODE" -eq 0 ] || fail "http flood: $(cat "$WORK/http.out")"
[ -n "$AFTER" ] || fail "the gateway died under the HTTP flood"
GROWTH=$(( (AFTER - BEFORE) / 1024 ))
echo "http flood: 16 clients, $(cat "$WORK/http.out") bytes; gateway RSS $((BEFORE / 1024)) -> $((AFTER / 1024)) MiB"
[ "$GROWTH" -lt 16 ] || fail "gateway RSS grew by $GROWTH MiB under 16 non-reading HTTP clients (cap: 16)"
expect_status 200 GET /health
kill -TERM "$GW_PID"
wait_exit "$GW_PID" 20
[ "$EXIT_CODE" -eq 0 ] || fail "exit $EXIT_CODE after SIGTERM, want 0"
echo "ok: 16 pipelining clients that never read cost the gateway $GROWTH MiB; /health still 200"
