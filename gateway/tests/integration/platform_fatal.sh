#!/bin/sh
# A peer that rejects the token: the platform is fatal, nothing else is
# configured, so the gateway stops with exit 1 and says why.
GW=$1 PD=$2
. "$(dirname "$0")/common.inc"

start_peer peer --mode reject
{ echo "platforms:"; platform_yaml chat "$PEER_PORT"; } >"$WORK/gw.yaml"
"$GW" --config "$WORK/gw.yaml" 2>"$WORK/gw.log" &
G=$!
PIDS="$PIDS $G"
wait_exit "$G" 20
[ "$EXIT_CODE" -eq 1 ] || fail "exit code $EXIT_CODE, want 1"
grep -Eq "platform chat: fatal, not retried \(attempt 1\): invalid_token" "$WORK/gw.log" ||
  fail "no fatal line"
grep -Eq "nothing connected and nothing queued|no platform connected and none queued" "$WORK/gw.log" || fail "no stop line"
grep -q "uv_loop_close" "$WORK/gw.log" && fail "loop not closed cleanly"
echo "ok: reject -> fatal -> exit 1"
