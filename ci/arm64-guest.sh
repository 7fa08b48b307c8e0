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
run() { # run OUTFILE CMD...: output and stderr to OUTFILE, rc in $rc
  f=$1
  shift
  timeout 60 "$@" >"$f" 2>&1
  rc=$?
}
listen() { # a fresh listener on $PORT: nc accepts one connection, then exits
  [ -n "${NCPID:-}" ] && kill "$NCPID" 2>/dev/null
  nc -l -p $PORT >/dev/null 2>&1 &
  NCPID=$!
  sleep 0.3
}

echo "ARM64 uname $(uname -m) $(uname -r)"

# The kernel itself: a real refusal and a real connect, no supervisor.
run $T/real $B/fsk_sup_probe connect 127.0.0.1 $CLOSED 1000 nb
check real_refused 111 $T/real $rc "connect EINPROGRESS" "poll 1 POLLOUT POLLERR POLLHUP" "SO_ERROR ECONNREFUSED"
listen
run $T/conn $B/fsk_sup_probe connect 127.0.0.1 $PORT 1000 nb
check real_connect 0 $T/conn $rc "connect EINPROGRESS" "poll 1 POLLOUT" "SO_ERROR 0"

# The supervisor (seccomp user notification, pidfd_getfd) on the static C
# probe against the live listener: the same as the real refusal above.
R="connect:addr=127.0.0.1,port=$PORT:do=refuse"
H="connect:addr=127.0.0.1,port=$PORT:do=hang"
listen
run $T/r1 $B/fsk_sup_exec "$R" $B/fsk_sup_probe connect 127.0.0.1 $PORT 1000 nb
check sup_refuse_nb 111 $T/r1 $rc "connect EINPROGRESS" "poll 1 POLLOUT POLLERR POLLHUP" "SO_ERROR ECONNREFUSED"
run $T/r2 $B/fsk_sup_exec "$R" $B/fsk_sup_probe connect 127.0.0.1 $PORT 1000 block
check sup_refuse_block 111 $T/r2 $rc "connect ECONNREFUSED"
run $T/h1 $B/fsk_sup_exec "$H" $B/fsk_sup_probe connect 127.0.0.1 $PORT 1000 nb
check sup_hang_nb 110 $T/h1 $rc "connect EINPROGRESS" "poll 0"
run $T/h2 $B/fsk_sup_exec "$H" $B/fsk_sup_probe connect 127.0.0.1 $PORT 1000 block
check sup_hang_block 115 $T/h2 $rc "connect EINPROGRESS"
run $T/h3 $B/fsk_sup_exec "$H" $B/fsk_sup_probe alarm 127.0.0.1 $PORT 500
check sup_hang_alarm 4 $T/h3 $rc "connect EINTR"
# A rule on another port: the call goes through to the listener.
run $T/p1 $B/fsk_sup_exec "connect:addr=127.0.0.1,port=$CLOSED:do=refuse" \
  $B/fsk_sup_probe connect 127.0.0.1 $PORT 1000 nb
check sup_other_port 0 $T/p1 $rc "connect EINPROGRESS" "poll 1 POLLOUT" "SO_ERROR 0"

# The static Go client: net.DialTimeout's error text.
listen
run $T/g0 $B/dial 127.0.0.1 $PORT 2
check go_dial_real 0 $T/g0 $rc "connected"
listen
run $T/g1 $B/fsk_sup_exec "$R" $B/dial 127.0.0.1 $PORT 2
check go_dial_refuse 1 $T/g1 $rc "dial tcp 127.0.0.1:$PORT: connect: connection refused"
run $T/g2 $B/fsk_sup_exec "$H" $B/dial 127.0.0.1 $PORT 1
check go_dial_hang 1 $T/g2 $rc "dial tcp 127.0.0.1:$PORT: i/o timeout"
[ -n "${NCPID:-}" ] && kill "$NCPID" 2>/dev/null

# fdsoak watch on the static Go reconnect loop (the seed's shape): leaky is
# a leak with each leaked file named at its os.OpenFile line; fixed is flat.
S="connect:addr=127.0.0.1,port=61600:when=every(3):do=refuse"
run $T/leak $B/fdsoak watch --inject "$S" --cycles 60 --warmup 10 --out $T/leakd -- \
  $B/reconnect -leak -port 61600
cp $T/leak /tmp/leak.txt
grep -q "x file .*/responses.db, .* at main.openStore (reconnect.go:$L_DB)\$" $T/leak \
  && grep -q "x file .*/responses.db-wal, .* at main.openStore (reconnect.go:$L_WAL)\$" $T/leak \
  && o=1 || o=0
if [ "$rc" = 1 ] && [ $o = 1 ]; then
  res go_leak pass "rc=1, origins reconnect.go:$L_DB and :$L_WAL; $(grep -m1 -i 'origins' $T/leak | cut -c1-120)"
else
  res go_leak fail "rc=$rc (want 1) origins=$o: $(tr '\n' '|' <$T/leak | cut -c1-600)"
fi
run $T/flat $B/fdsoak watch --inject "$S" --cycles 60 --warmup 10 --out $T/flatd -q -- \
  $B/reconnect -port 61600
if [ "$rc" = 0 ]; then res go_fixed pass "rc=0"; else
  res go_fixed fail "rc=$rc (want 0): $(tr '\n' '|' <$T/flat | cut -c1-400)"
fi

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
