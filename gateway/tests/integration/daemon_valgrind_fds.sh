#!/bin/sh
# valgrind --track-fds=yes: after SIGTERM only the three standard fds may be
# open.  valgrind exits 0 whatever it finds, so its report is read instead.
GW=$1 PD=$2
. "$(dirname "$0")/common.inc"

need valgrind
start_peer peer --message-every-ms 200
start_peer closer --mode close
CLOSE_PORT=$PEER_PORT
start_peer peer2 --message-every-ms 200
{
  echo "platforms:"
  platform_yaml chat "$(cat "$WORK/peer.port")" 10
  platform_yaml closing "$CLOSE_PORT" 10
} >"$WORK/gw.yaml"
# The api section too when this build has it (an ephemeral port).
printf 'api:\n  host: 127.0.0.1\n  port: 0\n  store_path: %s/responses.db\n' "$WORK" >"$WORK/api.yaml"
if "$GW" --config "$WORK/api.yaml" --check >/dev/null 2>&1; then
  cat "$WORK/api.yaml" "$WORK/gw.yaml" >"$WORK/full.yaml"
  mv "$WORK/full.yaml" "$WORK/gw.yaml"
fi

valgrind --track-fds=yes --log-file="$WORK/vg.log" "$GW" --config "$WORK/gw.yaml" \
  2>"$WORK/gw.log" &
G=$!
PIDS="$PIDS $G"
wait_log "$WORK/gw.log" "platform chat: connected" 60
wait_log "$WORK/peer.log" "send chat=chat-1 text=echo: ping 1" 30
wait_log "$WORK/gw.log" "platform closing: retryable failure" 30
kill -TERM "$G"
wait_exit "$G" 60
[ "$EXIT_CODE" -eq 0 ] || fail "exit code $EXIT_CODE after SIGTERM, want 0"
grep -q "FILE DESCRIPTORS:" "$WORK/vg.log" || fail "no fd report from valgrind"
# Whatever the test runner left open is listed as "<inherited from parent>";
# every other descriptor above 2 was opened by the gateway and never closed.
LEAKED=$(awk '
  /Open (file|AF_INET|AF_INET6|AF_UNIX)[^:]* descriptor [0-9]+/ {
    s = $0; sub(/.*descriptor /, "", s); sub(/:.*/, "", s); fd = s + 0; pending = (fd > 2); next
  }
  pending && /<inherited from parent>/ { pending = 0; next }
  pending && /==[0-9]+== *$/ { n++; pending = 0 }
  END { print n + 0 }' "$WORK/vg.log")
[ "$LEAKED" -eq 0 ] || {
  cat "$WORK/vg.log" >&2
  fail "$LEAKED fds opened by the gateway still open at exit"
}
grep -q "ERROR SUMMARY: 0 errors" "$WORK/vg.log" || {
  cat "$WORK/vg.log" >&2
  fail "valgrind reported memory errors"
}
echo "ok: $(grep 'FILE DESCRIPTORS' "$WORK/vg.log" | sed 's/^==[0-9]*== //')"
