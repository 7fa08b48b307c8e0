#!/bin/sh
# A connected platform: the peer's messages are echoed back; the peer
# dropping the link later is a runtime error, retried at once.
GW=$1 PD=$2
. "$(dirname "$0")/common.inc"

start_peer peer --message-every-ms 100 --drop-after-ms 700
{ echo "platforms:"; platform_yaml chat "$PEER_PORT"; } >"$WORK/gw.yaml"
"$GW" --config "$WORK/gw.yaml" 2>"$WORK/gw.log" &
G=$!
PIDS="$PIDS $G"
wait_log "$WORK/gw.log" "platform chat: connected \(attempt 1\)"
wait_log "$WORK/peer.log" "send chat=chat-1 text=echo: ping 2"
wait_log "$WORK/gw.log" "platform chat: runtime error, reconnecting: connection_lost"
# Retried at once (attempts reset to 0), so connected again within seconds.
wait_log "$WORK/gw.log" "platform chat: attempt 1 \(retry\)"
[ "$(grep -c 'platform chat: connected' "$WORK/gw.log")" -ge 2 ] ||
  wait_log "$WORK/gw.log" "platform chat: connected \(attempt 1\).*" 5
kill -TERM "$G"
wait_exit "$G" 20
[ "$EXIT_CODE" -eq 0 ] || fail "exit code $EXIT_CODE after SIGTERM, want 0"
echo "ok: echo round trip, runtime drop -> reconnect, SIGTERM -> exit 0"
