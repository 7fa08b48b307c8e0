#!/bin/sh
# Careless operators (issue 12): both daemons started with stdin, stdout and
# stderr closed still shut down cleanly on SIGTERM (libuv's own fds must not
# land on 0-2); SIGHUP does not kill the gateway; platformd exits 2 when it
# cannot write its --port-file.  Only processes started here are signalled.
GW=$1 PD=$2
. "$(dirname "$0")/../integration/common.inc"

start_peer peer
{
  echo "platforms:"
  platform_yaml chat "$PEER_PORT"
} >"$WORK/gw.yaml"

# --- the gateway with 0, 1 and 2 closed ----------------------------------------
"$GW" --config "$WORK/gw.yaml" <&- >&- 2>&- &
G=$!
PIDS="$PIDS $G"
wait_log "$WORK/peer.log" "client 1: ready" 10
kill -TERM "$G"
wait_exit "$G" 20
[ "$EXIT_CODE" -eq 0 ] || fail "gateway with closed stdio: exit $EXIT_CODE after SIGTERM, want 0"
echo "ok: gateway started with fds 0-2 closed exits 0 on SIGTERM"

# --- platformd with 0, 1 and 2 closed ------------------------------------------
"$PD" --port 0 --port-file "$WORK/closed.port" <&- >&- 2>&- &
P=$!
PIDS="$PIDS $P"
i=0
while [ ! -s "$WORK/closed.port" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
[ -s "$WORK/closed.port" ] || fail "platformd with closed stdio did not start"
python3 -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(b"{\"type\":\"identify\",\"token\":\"t\"}\n")
assert b"ready" in s.recv(4096)
s.close()' "$(cat "$WORK/closed.port")" || fail "platformd with closed stdio does not serve"
kill -TERM "$P"
wait_exit "$P" 20
[ "$EXIT_CODE" -eq 0 ] || fail "platformd with closed stdio: exit $EXIT_CODE after SIGTERM, want 0"
echo "ok: platformd started with fds 0-2 closed serves and exits 0 on SIGTERM"

# --- SIGHUP ------------------------------------------------------------------
"$GW" --config "$WORK/gw.yaml" 2>"$WORK/hup.log" &
G=$!
PIDS="$PIDS $G"
wait_log "$WORK/peer.log" "client 2: ready" 10
kill -HUP "$G"
wait_log "$WORK/hup.log" "SIGHUP\): ignored" 10
kill -0 "$G" 2>/dev/null || fail "the gateway died of SIGHUP"
kill -TERM "$G"
wait_exit "$G" 20
[ "$EXIT_CODE" -eq 0 ] || fail "exit $EXIT_CODE after SIGHUP then SIGTERM, want 0"
echo "ok: SIGHUP is logged and ignored; SIGTERM afterwards exits 0"

# --- platformd: an unwritable --port-file is an environment error ------------
"$PD" --port 0 --port-file "$WORK/no/such/dir/port" >/dev/null 2>"$WORK/pf.err"
rc=$?
[ $rc -eq 2 ] || fail "--port-file in a missing directory: exit $rc, want 2"
grep -q -- "--port-file" "$WORK/pf.err" || fail "no reason on stderr: $(cat "$WORK/pf.err")"
echo "ok: platformd exits 2 when --port-file cannot be written"
