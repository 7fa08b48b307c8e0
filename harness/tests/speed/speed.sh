#!/bin/sh
# watch --speed: each case is a CTest test (fsk_speed_CASE, label speed).
# Usage: speed.sh CASE BUILD_BIN_DIR
set -u
case_="$1"
BIN="$2"
HERE="$(cd "$(dirname "$0")" && pwd)"
SRC="$(cd "$HERE/../../.." && pwd)"
T="$(mktemp -d /tmp/fsk-speed-XXXXXX)"
trap 'rm -rf "$T"' EXIT
FDSOAK="$BIN/fdsoak"
. "$HERE/../lib.sh"
FT=/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1
if [ ! -r "$FT" ]; then
  [ -n "${CI:-}" ] && fail "libfaketime is not installed, and CI must have it (ci/bootstrap)"
  skip "libfaketime is not installed"
fi
case "$case_" in node) need node ;; esac

# ft_alone CMD...: CMD under libfaketime preloaded by hand.  Its first
# process leaves libfaketime's shared memory behind (named by its pid):
# removed here, as fdsoak removes its target's.
ft_alone() {
  sh -c 'echo $$ > "$0"; exec "$@"' "$T/ft.pid" "$@"
  _rc=$?
  rm -f "/dev/shm/faketime_shm_$(cat "$T/ft.pid")" "/dev/shm/sem.faketime_sem_$(cat "$T/ft.pid")"
  return $_rc
}

# rate_ok DIR TRUTH: the rate per virtual hour in DIR's summary is within
# 15 % of TRUTH (fds per virtual hour of the program's own schedule).
rate_ok() {
  got="$(json "$1/summary.json" "d['virtual_time']['fds_per_virtual_hour']")"
  if python3 -c "import sys; g=float(sys.argv[1]); t=float(sys.argv[2]); sys.exit(abs(g-t) > 0.15*t)" "$got" "$2"; then
    ok "rate $got fds per virtual hour, truth $2"
  else
    bad "rate $got fds per virtual hour, truth $2 (more than 15 % off)"
  fi
}

# soak NAME PORT TRUTH CMD...: the leaky twin at --speed 2000 is a leak at
# TRUTH fds per virtual hour, with the program's own cadence measured.
soak() {
  name="$1"; port="$2"; truth="$3"; shift 3
  expect_rc 1 "$name: the leaky loop leaks under --speed 2000" \
    "$FDSOAK" watch --speed 2000 --inject "connect:addr=127.0.0.1,port=$port:do=refuse" \
    --cycles 20 --warmup 4 --origins native --out "$T/$name" -q -- "$@" --port "$port" --leak
  rate_ok "$T/$name" "$truth"
  per="$(json "$T/$name/summary.json" "round(d['virtual_time']['virtual_s_per_attempt'])")"
  [ "$per" -ge 285 ] && [ "$per" -le 345 ] && ok "$name: one attempt every $per virtual s (300)" \
    || bad "$name: one attempt every $per virtual s, want about 300"
}

case "$case_" in
calls)
  # Every call of the issue's list runs at the virtual speed under fdsoak
  # (libfaketime + the shim, preloaded by watch into the target only).
  expect_rc 0 "watch --speed 100 runs the probe (interval mode, bounded)" \
    "$FDSOAK" watch --speed 100 --duration 6 --interval 100 --warmup 2 --origins off --out "$T/w" -q -- \
    sh -c "\"$BIN/fsk_speed_probe\" 100 > \"$T/probe.txt\"; echo rc=\$? >> \"$T/probe.txt\"; exec sleep 100000"
  sed 's/^/  | /' "$T/probe.txt"
  has "$T/probe.txt" "every call scaled (probe exit 0)" "rc=0"
  [ "$(grep -c ' scaled$' "$T/probe.txt")" -ge 30 ] && ok "30 calls scaled" || bad "fewer than 30 calls scaled"
  # What libfaketime alone leaves in real time: the shim's part (bounded:
  # the calls that hang under libfaketime alone are not asked here).
  ft_alone env LD_PRELOAD="$FT" FAKETIME="+0 x100" "$BIN/fsk_speed_probe" 100 \
    epoll_pwait2 setitimer timer_settime so_rcvtimeo so_sndtimeo futex > "$T/alone.txt"
  [ "$(grep -c ' real$' "$T/alone.txt")" -eq 6 ] && ok "libfaketime alone: those 6 in real time" \
    || { bad "libfaketime alone scaled some of them"; cat "$T/alone.txt"; }
  # fdsoak itself stays in real time: the watch above took its 6 s.
  secs="$(json "$T/w/summary.json" "round(d['target']['seconds'])")"
  [ "$secs" -ge 5 ] && ok "fdsoak's --duration 6 took $secs s of real time" || bad "--duration took $secs s"
  ;;
shim_timing)
  # The shim's own timing follows the program's clock: the kernel's SYN
  # timeout (127 s) takes 127/N s, a down(T) window lasts T virtual s, and
  # eai(E,T) blocks T virtual s.  The probe reports in its own (virtual) time.
  cat > "$T/t.py" <<'PY'
import errno, select, socket, sys, time
t0 = time.monotonic(); r0 = time.clock_gettime(time.CLOCK_MONOTONIC_RAW)
s = socket.socket(); s.setblocking(False)
try: s.connect(("127.0.0.1", 27399))
except BlockingIOError: pass
p = select.poll(); p.register(s, select.POLLOUT); p.poll(-1)
dt = time.monotonic() - t0
print("timeout", errno.errorcode.get(s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)), 120 <= dt <= 135, round(dt, 1))
t0 = time.monotonic()
try: socket.getaddrinfo("db.invalid", 80)
except socket.gaierror as e:
    dt = time.monotonic() - t0
    print("eai", e.errno == socket.EAI_AGAIN, 59 <= dt <= 66, round(dt, 1))
sys.stdout.flush()
time.sleep(100000)
PY
  start=$(date +%s)
  "$FDSOAK" watch --speed 100 --duration 10 --interval 100 --warmup 2 --origins off --out "$T/w" -q \
    --inject 'connect:port=27399:do=timeout;getaddrinfo:host=*.invalid:do=eai(EAI_AGAIN,60)' -- \
    sh -c "python3 \"$T/t.py\" > \"$T/out.txt\"" > /dev/null 2>&1
  sed 's/^/  | /' "$T/out.txt"
  has "$T/out.txt" "timeout: ETIMEDOUT after about 127 virtual s" "timeout ETIMEDOUT True"
  has "$T/out.txt" "eai(EAI_AGAIN,60): about 60 virtual s" "eai True True"
  end=$(date +%s)
  # Unscaled, the two waits alone would outlast the 10 s run: the lines
  # above would never be printed.
  [ $((end - start)) -lt 30 ] && ok "the 127 s SYN timeout and 60 s resolver wait fit in the $((end - start)) s run" \
    || bad "the run took $((end - start)) s of real time"
  # down(T): refused for the first 60 virtual s after the shim started (3 s
  # real at x20), then let through to the program's own listener.  The
  # program's start-up is real work and eats some of the window.  Had the
  # window been real time, all 120 attempts (6 s) would fail.
  cat > "$T/d.py" <<'PY'
import socket, sys, time
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(64)
port = l.getsockname()[1]
t0 = time.monotonic(); failed = 0
while time.monotonic() - t0 < 120:
    s = socket.socket()
    try: s.connect(("127.0.0.1", port))
    except OSError: failed += 1
    s.close()
    time.sleep(1)
print("down failed", failed); sys.stdout.flush()
time.sleep(100000)
PY
  py=/usr/bin/python3; [ -x "$py" ] || py=python3
  "$FDSOAK" watch --speed 20 --duration 9 --interval 100 --warmup 2 --origins off --out "$T/d" -q \
    --inject 'connect:addr=127.0.0.1:when=down(60):do=refuse' -- \
    "$py" -c "import runpy, sys; sys.stdout = open(sys.argv[2], 'w'); runpy.run_path(sys.argv[1])" \
    "$T/d.py" "$T/down.txt" > /dev/null 2>&1
  sed 's/^/  | /' "$T/down.txt"
  n="$(sed -n 's/^down failed //p' "$T/down.txt")"
  [ -n "$n" ] && [ "$n" -ge 30 ] && [ "$n" -le 62 ] \
    && ok "down(60): the first $n of the one-second attempts were refused (60 less start-up)" \
    || bad "down(60): '$n' attempts refused, want about 60 (60 virtual s)"
  ;;
bad_input)
  for v in 0 -5 abc 1e7 max 1 ""; do
    expect_rc 2 "--speed '$v' is refused" "$FDSOAK" watch --speed "$v" -- true
    has "$T/err" "the message names --speed" "--speed"
  done
  expect_rc 2 "--speed with --pid" "$FDSOAK" watch --speed 100 --pid $$
  has "$T/err" "says why" "a running process's clock cannot be changed"
  expect_rc 2 "a static target" "$FDSOAK" watch --speed 100 -- "$BIN/fsk_static_probe"
  has "$T/err" "one line naming the static binary" "is statically linked"
  # An ASan build of fdsoak (ci/sanitize) must find its runtime first in
  # LD_PRELOAD or it aborts before reading a flag.
  asan_rt="$(ldd "$FDSOAK" 2>/dev/null | awk '/libasan/ { print $3 }')"
  expect_rc 2 "fdsoak itself under libfaketime" ft_alone env LD_PRELOAD="${asan_rt:+$asan_rt:}$FT" FAKETIME="+0 x10" \
    "$FDSOAK" watch --speed 100 -- true
  has "$T/err" "says to use --speed" "use --speed N"
  ;;
asyncio)
  # The README's service: 2 fds a failed attempt, 12 attempts an hour.
  soak asyncio 27310 24 python3 "$HERE/service.py"
  expect_rc 0 "asyncio: the fixed twin is flat" \
    "$FDSOAK" watch --speed 2000 --inject 'connect:addr=127.0.0.1,port=27310:do=refuse' \
    --cycles 20 --warmup 4 --origins native --out "$T/fixed" -q -- python3 "$HERE/service.py" --port 27310
  has "$T/fixed/series.csv" "series.csv has the virtual-time column" "virtual_s"
  has "$T/asyncio/fd-soak.svg" "the SVG's x axis is in virtual hours" "virtual hours"
  json "$T/asyncio/summary.json" "d['projection']['text']" | grep -q "virtual hours" \
    && ok "projection in virtual hours" || bad "projection not in virtual hours"
  ;;
threads) soak threads 27311 12 python3 "$HERE/loop_threads.py" ;;
node) soak node 27312 12 node "$HERE/loop_node.js" ;;
sleep) soak sleep 27313 12 "$BIN/fsk_speed_sleep_loop" ;;
libuv) soak libuv 27314 12 "$BIN/fsk_speed_uv_loop" ;;
exhaustion)
  # With a 256-fd limit the leaky service dies of it; the report names the
  # virtual hour.  The truth is the program's own clock: it logs its
  # (virtual) time.time() at each failed attempt, and its virtual clock
  # started at the real time the run began ("+0": no offset).
  t0="$(date +%s.%N)"
  ( ulimit -n 256
    expect_rc 1 "the service runs out of its 256 fds" \
      "$FDSOAK" watch --speed 3000 --inject 'connect:addr=127.0.0.1,port=27310:do=refuse' \
      --cycles 400 --warmup 8 --origins native --out "$T/x" -- \
      python3 "$HERE/service.py" --leak --log "$T/svc.log"
    has "$T/out" "the terminal names the virtual hour" "ran out of its 256 fds at virtual hour"
    has "$T/x/summary.json" "summary.json says it too" "ran out of its 256 fds at virtual hour"
    vh="$(json "$T/x/summary.json" "d['virtual_time']['exhausted_virtual_hour']")"
    n="$(json "$T/x/summary.json" "d['virtual_time']['exhausted_after_attempts']")"
    last="$(tail -1 "$T/svc.log")"
    # It died on the attempt after its last logged one: between that one
    # and the next (300 s of backoff and the attempt's own work).
    python3 - "$vh" "$t0" $last "$n" <<'PY' && ok "virtual hour $vh, after $n attempts: the program's own clock agrees" || bad "virtual hour $vh disagrees with the program's clock ($last)"
import sys
vh, t0, t_last, k, n = float(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
lo, hi = (t_last - t0) / 3600, (t_last - t0 + 400) / 3600
print("  | program: attempt %d failed at virtual hour %.2f; fdsoak: out of fds at %.2f after %d" % (k, lo, vh, n))
sys.exit(not (lo - 0.05 <= vh <= hi + 0.05 and k <= n <= k + 1))
PY
    exit $fails ) || fails=$((fails + 1))
  ;;
*)
  echo "unknown case $case_"; exit 2 ;;
esac
finish
