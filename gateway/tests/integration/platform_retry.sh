#!/bin/sh
# A peer that closes during the handshake: the platform is retrying and the
# gateway stays up; a silent peer times out (exception path); SIGTERM then
# shuts everything down with exit 0.
GW=$1 PD=$2
. "$(dirname "$0")/common.inc"

start_peer closer --mode close
CLOSE_PORT=$PEER_PORT
start_peer silent --mode silent
SILENT_PORT=$PEER_PORT
{
  echo "platforms:"
  platform_yaml closing "$CLOSE_PORT"
  platform_yaml quiet "$SILENT_PORT" 1
} >"$WORK/gw.yaml"
"$GW" --config "$WORK/gw.yaml" --log-level debug 2>"$WORK/gw.log" &
G=$!
PIDS="$PIDS $G"
wait_log "$WORK/gw.log" "platform closing: retryable failure \(attempt 1\): connection_closed"
wait_log "$WORK/gw.log" "platform closing.*reconnect in 30 s"
wait_log "$WORK/gw.log" "platform quiet: exception \(attempt 1\)"
kill -0 "$G" 2>/dev/null || fail "gateway exited while a platform is retrying"
kill -TERM "$G"
wait_exit "$G" 20
[ "$EXIT_CODE" -eq 0 ] || fail "exit code $EXIT_CODE after SIGTERM, want 0"
grep -q "clean exit" "$WORK/gw.log" || fail "no clean exit line"
echo "ok: close -> retrying, silent -> exception, SIGTERM -> exit 0"
