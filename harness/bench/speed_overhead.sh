#!/usr/bin/env bash
# What `fdsoak watch --speed` costs and gives (issue 19).  Prints figures;
# asserts nothing (not a timed test).
#
#   speed_overhead.sh [clock|example|max|all]
#
#   clock    ns per clock read (clock_gettime, gettimeofday, time) of a tight
#            loop, best of 5: plain, under the shim alone, under libfaketime
#            alone (its MT build, which --speed used to preload; and its plain
#            build), and as --speed runs it (shim + libfaketime, the shim
#            answering clock reads).  Goal: --speed <= 1.5x plain.
#   example  the README's seed-schedule service (harness/tests/speed/
#            service.py): the virtual hours and attempts of `watch --speed`
#            at x1000, x3000 and x10000 against plain real time for the same
#            wall time, and the rate per virtual hour against the truth (24).
#   max      the idle-skipping prototype (harness/bench/idle_skip_proto.c)
#            on the same service: attempts and virtual hours in 10 s of wall.
#
# Environment: FDSOAK (default build/bin/fdsoak), SHIM (default
# build/lib/libfdsoak-inject.so), FAKETIME_LIB, K (clock reads, 2000000).
set -u
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
FDSOAK="${FDSOAK:-$ROOT/build/bin/fdsoak}"
SHIM="${SHIM:-$ROOT/build/lib/libfdsoak-inject.so}"
FT="${FAKETIME_LIB:-/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1}"
FT1="$(dirname "$FT")/libfaketime.so.1"
K="${K:-2000000}"
W="$(mktemp -d /tmp/fsk-speedbench-XXXXXX)"
trap 'rm -rf "$W"' EXIT
what="${1:-all}"
SVC="$ROOT/harness/tests/speed/service.py"
SPEC='connect:addr=127.0.0.1,port=27310:do=refuse'

best() { # best FIELD CMD...: the smallest ns of 5 runs for that call
  f="$1"; shift
  for i in 1 2 3 4 5; do "$@" | awk -v f="$f" '$2 == f {print $3}'; done | sort -n | head -1
}

if [ "$what" = clock ] || [ "$what" = all ]; then
  cc -O2 -o "$W/clock_loop" "$HERE/clock_loop.c" || exit 2
  echo "clock reads: ns per call, best of 5 runs of $K calls"
  printf '%-14s %10s %10s %10s %10s %10s %8s\n' call plain shim faketimeMT faketime1 --speed ratio
  for f in clock_gettime gettimeofday time; do
    p="$(best $f "$W/clock_loop" "$K")"
    s="$(best $f env LD_PRELOAD="$SHIM" "$W/clock_loop" "$K")"
    m="$(best $f env LD_PRELOAD="$FT" FAKETIME="+0 x1000" "$W/clock_loop" $((K / 100)))"
    o="$(best $f env LD_PRELOAD="$FT1" FAKETIME="+0 x1000" "$W/clock_loop" "$K")"
    v="$(best $f env LD_PRELOAD="$SHIM:$FT" FAKETIME="+0 x1000" FAKETIME_DONT_RESET=1 FDSOAK_SPEED=1000 "$W/clock_loop" "$K")"
    printf '%-14s %10s %10s %10s %10s %10s %8s\n' "$f" "$p" "$s" "$m" "$o" "$v" \
      "$(python3 -c "print('%.2fx' % (float('$v') / max(float('$p'), 0.1)))")"
  done
fi

if [ "$what" = example ] || [ "$what" = all ]; then
  echo
  echo "the README service (leaky twin), --cycles 40 --warmup 8: wall time, virtual hours, attempts, rate per virtual hour (truth 24)"
  printf '%-8s %8s %10s %9s %10s %8s\n' speed wall_s virtual_h attempts fds/vh error
  for x in 1000 3000 10000; do
    s=$(date +%s.%N)
    "$FDSOAK" watch --speed "$x" --inject "$SPEC" --cycles 40 --warmup 8 --origins native \
      --out "$W/ex$x" -q -- python3 "$SVC" --leak > /dev/null 2>&1
    e=$(date +%s.%N)
    python3 - "$W/ex$x/summary.json" "$x" "$s" "$e" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); v = d["virtual_time"]
wall = float(sys.argv[4]) - float(sys.argv[3])
r = v["fds_per_virtual_hour"] or 0
print("%-8s %8.1f %10.2f %9d %10.1f %7.1f%%" % ("x" + sys.argv[2], wall, v["virtual_hours"], d["target"]["attempts"], r, 100 * (r - 24) / 24))
PY
  done
  echo "plain (no --speed), same service, 15 s of wall time:"
  timeout 40 "$FDSOAK" watch --inject "$SPEC" --duration 15 --origins native --out "$W/plain" -q -- \
    python3 "$SVC" --leak > /dev/null 2>&1
  python3 -c "import json; d=json.load(open('$W/plain/summary.json')); print('  %d attempts in 15 s (the schedule: 10 s start, then 30 s backoff)' % d['target']['attempts'])"
  echo "  at the 300 s cap: 12 attempts an hour, 480 attempts (40 hours) for a 1024-fd limit"
fi

if [ "$what" = max ] || [ "$what" = all ]; then
  echo
  cc -O2 -shared -fPIC -o "$W/idle.so" "$HERE/idle_skip_proto.c" -ldl || exit 2
  py=/usr/bin/python3; [ -x "$py" ] || py=python3
  timeout 10 env LD_PRELOAD="$SHIM:$W/idle.so" FDSOAK_INJECT="$SPEC" "$py" "$SVC" --leak --log "$W/max.log" \
    > /dev/null 2>&1
  python3 - "$W/max.log" <<'PY'
import sys
rows = [l.split() for l in open(sys.argv[1])]
t = [float(r[0]) for r in rows]
gaps = sorted(b - a for a, b in zip(t, t[1:]))
print("idle-skip prototype (--speed max), 10 s of wall time: %d attempts, %.1f virtual hours, "
      "median gap %.1f s (the schedule's 300 s cap, real work not amplified)"
      % (len(rows), (t[-1] - t[0]) / 3600, gaps[len(gaps) // 2]))
PY
fi
