#!/bin/sh
# fdsoak-platformd under valgrind with many clients (issue 12): every client
# close must free the client only after the last of its three handles
# (tcp, drop and tick timers) has closed.  The clients connect, identify
# and then never read, while the peer sends a message every millisecond;
# half of them vanish with a reset.  Both in accept mode and in reject mode
# (what `fdsoak run` uses for fatal/platform).  Bounded: 200 clients per
# mode, a few seconds each, loopback only; the peer is ended by its pid.
GW=$1 PD=$2
. "$(dirname "$0")/../integration/common.inc"
HERE=$(cd "$(dirname "$0")" && pwd)

need valgrind

run_mode() { # NAME PLATFORMD-ARGS...
  name=$1; shift
  valgrind --error-exitcode=99 --log-file="$WORK/$name.vg" \
    "$PD" --port 0 --port-file "$WORK/$name.port" -q "$@" >/dev/null 2>"$WORK/$name.log" &
  p=$!
  PIDS="$PIDS $p"
  i=0
  while [ ! -s "$WORK/$name.port" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
  [ -s "$WORK/$name.port" ] || fail "$name: peer did not start under valgrind"
  python3 "$HERE/clients.py" "$(cat "$WORK/$name.port")" 200 ||
    fail "$name: the clients could not run"
  kill -0 "$p" 2>/dev/null || { cat "$WORK/$name.vg" >&2; fail "$name: the peer died"; }
  kill -TERM "$p"
  wait_exit "$p" 60
  [ "$EXIT_CODE" -eq 0 ] || { cat "$WORK/$name.vg" >&2; fail "$name: exit $EXIT_CODE, want 0"; }
  grep -q "ERROR SUMMARY: 0 errors" "$WORK/$name.vg" || {
    grep -m 40 -A12 "Invalid" "$WORK/$name.vg" >&2
    fail "$name: valgrind reported memory errors"
  }
  echo "ok: $name: 200 clients, $(grep 'ERROR SUMMARY' "$WORK/$name.vg" | sed 's/^==[0-9]*== //')"
}
run_mode accept --message-every-ms 1
run_mode reject --mode reject
