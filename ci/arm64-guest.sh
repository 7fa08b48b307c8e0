#!/bin/sh
# The cases ci/arm64 runs inside its arm64 VM (busybox sh as /init's
# payload, the cross-built fdsoak tree in /fsk).  Each case prints one line
# "ARM64 name pass|fail detail" on the console; ci/arm64 reads them back.
# The expected lines are those of the same commands on x86-64 (the static C
# probe's poll mask, SO_ERROR and exit status; Go's error text), and the
# real refusal is run here too, beside the injected one.
B=/fsk/bin
T=/tmp/t
mkdir -p $T
PORT=61555   # a live listener (busybox nc): a real connect succeeds
CLOSED=61556 # nothing listens: the real refusal

res() { echo "ARM64 $1 $2 $3"; }
# check NAME WANT_RC OUTFILE RC PATTERN...: every pattern (a whole line, as
# grep -x) in the output, and the exit status.
check() {
  n=$1 want=$2 f=$3 rc=$4
  shift 4
  miss=""
  for p in "$@"; do
    grep -qx "$p" "$f" || miss="$miss [$p]"
  done
  if [ "$rc" = "$want" ] && [ -z "$miss" ]; then
    res "$n" pass "rc=$rc"
  else
    res "$n" fail "rc=$rc want $want; missing:$miss; got: $(tr '\n' '|' <"$f" | cut -c1-300)"
  fi
}
listen() { # a fresh listener on $PORT: nc accepts one connection, then exits
  [ -n "${NCPID:-}" ] && kill "$NCPID" 2>/dev/null
  nc -l -p $PORT >/dev/null 2>&1 &
  NCPID=$!
  sleep 0.3
}
run() { # run OUTFILE CMD...: output and stderr to OUTFILE, rc in $rc
  f=$1
  shift
  # A fresh listener for every case: a connect that wrongly went through
  # must not leave the next case without one (a real refusal would pass
  # for an injected one).
  listen
  timeout 60 "$@" >"$f" 2>&1
  rc=$?
}

echo "ARM64 uname $(uname -m) $(uname -r)"

# The kernel itself: a real refusal and a real connect, no supervisor.
run $T/real $B/fsk_sup_probe connect 127.0.0.1 $CLOSED 1000 nb
check real_refused 111 $T/real $rc "connect EINPROGRESS" "poll 1 POLLOUT POLLERR POLLHUP" "SO_ERROR ECONNREFUSED"
run $T/conn $B/fsk_sup_probe connect 127.0.0.1 $PORT 1000 nb
check real_connect 0 $T/conn $rc "connect EINPROGRESS" "poll 1 POLLOUT" "SO_ERROR 0"

# The supervisor on the static C probe and the static Go client against the
# live listener: the same as the real refusal above.  Each case twice: with
# FDSOAK_BPF=0 the connects are notified to the supervisor by the seccomp
# filter (sec.c's arm64 syscall table), with FDSOAK_BPF=1 they are decided
# in the kernel by the cgroup eBPF programs.
R="connect:addr=127.0.0.1,port=$PORT:do=refuse"
H="connect:addr=127.0.0.1,port=$PORT:do=hang"
sup_cases() {
  x=$1
  export FDSOAK_BPF=$2
  run $T/r1 $B/fsk_sup_exec "$R" $B/fsk_sup_probe connect 127.0.0.1 $PORT 1000 nb
  check sup_refuse_nb$x 111 $T/r1 $rc "connect EINPROGRESS" "poll 1 POLLOUT POLLERR POLLHUP" "SO_ERROR ECONNREFUSED"
  run $T/r2 $B/fsk_sup_exec "$R" $B/fsk_sup_probe connect 127.0.0.1 $PORT 1000 block
  check sup_refuse_block$x 111 $T/r2 $rc "connect ECONNREFUSED"
  run $T/h1 $B/fsk_sup_exec "$H" $B/fsk_sup_probe connect 127.0.0.1 $PORT 1000 nb
  check sup_hang_nb$x 110 $T/h1 $rc "connect EINPROGRESS" "poll 0"
  run $T/h2 $B/fsk_sup_exec "$H" $B/fsk_sup_probe connect 127.0.0.1 $PORT 1000 block
  check sup_hang_block$x 115 $T/h2 $rc "connect EINPROGRESS"
  run $T/h3 $B/fsk_sup_exec "$H" $B/fsk_sup_probe alarm 127.0.0.1 $PORT 500
  check sup_hang_alarm$x 4 $T/h3 $rc "connect EINTR"
  # A rule on another port: the call goes through to the listener.
  run $T/p1 $B/fsk_sup_exec "connect:addr=127.0.0.1,port=$CLOSED:do=refuse" \
    $B/fsk_sup_probe connect 127.0.0.1 $PORT 1000 nb
  check sup_other_port$x 0 $T/p1 $rc "connect EINPROGRESS" "poll 1 POLLOUT" "SO_ERROR 0"
  # The static Go client: net.DialTimeout's error text (exit 1 on an error).
  run $T/g1 $B/fsk_sup_exec "$R" $B/dial 127.0.0.1 $PORT 2
  check go_dial_refuse$x 1 $T/g1 $rc "dial tcp 127.0.0.1:$PORT: connect: connection refused"
  run $T/g2 $B/fsk_sup_exec "$H" $B/dial 127.0.0.1 $PORT 1
  check go_dial_hang$x 1 $T/g2 $rc "dial tcp 127.0.0.1:$PORT: i/o timeout"
  # The static probe's socket and open calls, notified by their arm64
  # numbers under errno rules.
  run $T/s1 $B/fsk_sup_exec "socket:do=errno(EMFILE)" $B/fsk_sup_probe socket
  check sup_socket_errno$x 24 $T/s1 $rc "socket EMFILE"
  run $T/o1 $B/fsk_sup_exec "open:path=/env:do=errno(EACCES)" $B/fsk_sup_probe open /env
  check sup_open_errno$x 13 $T/o1 $rc "open EACCES"
  unset FDSOAK_BPF
}
run $T/g0 $B/dial 127.0.0.1 $PORT 2
check go_dial_real 0 $T/g0 $rc "connected"
sup_cases _notif 0
sup_cases _bpf 1
[ -n "${NCPID:-}" ] && kill "$NCPID" 2>/dev/null

# fdsoak watch on the static Go reconnect loop (the seed's shape): leaky is
# a leak with each leaked file named at its os.OpenFile line; fixed is flat.
# Default (connects and origins by eBPF where it loads), then FDSOAK_BPF=0
# (connects notified, origins by the supervisor's own stack walk).
S="connect:addr=127.0.0.1,port=61600:when=every(3):do=refuse"
leak_cases() {
  x=$1
  export FDSOAK_BPF=$2
  run $T/leak $B/fdsoak watch --inject "$S" --cycles 60 --warmup 10 --out $T/leakd$x -- \
    $B/reconnect -leak -port 61600
  grep -q "x file .*/responses.db, .* at main.openStore (reconnect.go:$L_DB)\$" $T/leak \
    && grep -q "x file .*/responses.db-wal, .* at main.openStore (reconnect.go:$L_WAL)\$" $T/leak \
    && o=1 || o=0
  if [ "$rc" = 1 ] && [ $o = 1 ]; then
    res go_leak$x pass "rc=1, origins reconnect.go:$L_DB and :$L_WAL"
  else
    res go_leak$x fail "rc=$rc (want 1) origins=$o"
  fi
  echo "ARM64-LOG go_leak$x (fdsoak watch, as printed):"
  cat $T/leak
  run $T/flat $B/fdsoak watch --inject "$S" --cycles 60 --warmup 10 --out $T/flatd$x -q -- \
    $B/reconnect -port 61600
  if [ "$rc" = 0 ]; then res go_fixed$x pass "rc=0"; else
    res go_fixed$x fail "rc=$rc (want 0): $(tr '\n' '|' <$T/flat | cut -c1-400)"
  fi
  unset FDSOAK_BPF
}
leak_cases "" 1
leak_cases _notif 0

# The shim (LD_PRELOAD) in a dynamic arm64 program: fdsoak run preloads it
# into the soak runner; the release core is flat, the regress one leaks.
run $T/run0 $B/fdsoak run --path retryable --adapter api --cycles 30 --out $T/run0d
if [ "$rc" = 0 ]; then res shim_run_flat pass "rc=0"; else
  res shim_run_flat fail "rc=$rc (want 0): $(tr '\n' '|' <$T/run0 | cut -c1-400)"
  echo "ARM64-LOG shim_run_flat:"
  cat $T/run0
fi
run $T/run1 $B/fdsoak run --path retryable --adapter api --cycles 30 --regress retryable --out $T/run1d -q
if [ "$rc" = 1 ]; then res shim_run_regress pass "rc=1"; else
  res shim_run_regress fail "rc=$rc (want 1): $(tr '\n' '|' <$T/run1 | cut -c1-400)"
fi
echo "ARM64 done"
