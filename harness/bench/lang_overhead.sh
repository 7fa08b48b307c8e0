#!/usr/bin/env bash
# Overhead of language origins (issue 15): the attempt rate of a Python and a
# Node reconnect loop that opens (and closes) a file on every attempt, besides
# the attempt's own socket, run
#   plain    without fdsoak (the closed port refuses for real)
#   native   fdsoak watch --origins native  (native frames only)
#   lang     fdsoak watch --origins lang    (Python/Node frames too)
# (--modes can add `off`).  Runs are interleaved (round r runs every program x
# delay x mode once, the mode order rotated per round) and one at a time (the
# rate is what is measured); the table shows the best of --rounds per cell,
# attempts/s, and lang/native and lang/plain as rate ratios (1.00 = no cost;
# 0.67 = 1.5x slower, the issue's limit for on-by-default).
#
#   lang_overhead.sh [--rounds R] [--seconds S] [--delays "5 0"] [--modes "plain native lang"]
#                    [--loop-rounds R] [--loop-n N] [--loop-only]
#                    [--loop-programs "python node"] [--base-lang-dir DIR]
#
#   --seconds  length of each run (default 4); the program stops itself
#   --delays   the programs' --delay-ms between attempts: 5 is the tests'
#              reconnect loop, 0 the worst case (a new fd as fast as it can)
#   --loop-programs  which loops to run (default both)
#   --base-lang-dir  also run the loop under --origins lang with
#              FDSOAK_LANG_DIR=DIR (mode lang0: a copy of harness/lang from
#              before a change, so before and after are measured in one run;
#              Node only, Python's frames come from the shim)
# The loop's table gives medians over --loop-rounds (odd; at least 9 for a
# figure worth quoting) and, beside them, the best run.
# Environment: FDSOAK (default build/bin/fdsoak under the repo root),
# BENCH_OUT (keep each run's output there).  The rate is the program's own
# count ("attempts A seconds S rate R cpu_us_per_attempt C" on stderr at
# exit), the same measure in every mode; summary.json's target.attempts/
# seconds is the fallback.  A second table gives C, the target's own CPU time
# per attempt (its shim and preload included, fdsoak's sampler not): on a
# shared, loaded machine the rate at --delays 0 swings with the load, the CPU
# time much less.
set -u
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
TESTS="$ROOT/harness/tests/lang"
FDSOAK="${FDSOAK:-$ROOT/build/bin/fdsoak}"
ROUNDS=3 SECS=4 DELAYS="5 0" MODES="plain native lang"
LOOP_ROUNDS=7 LOOP_N=2000 LOOP_ONLY=0 LOOP_PROGRAMS="python node" BASE_LANG_DIR=""
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) ROUNDS="$2"; shift 2 ;;
    --seconds) SECS="$2"; shift 2 ;;
    --delays) DELAYS="$2"; shift 2 ;;
    --modes) MODES="$2"; shift 2 ;;
    --loop-rounds) LOOP_ROUNDS="$2"; shift 2 ;;
    --loop-n) LOOP_N="$2"; shift 2 ;;
    --loop-only) LOOP_ONLY=1; shift ;;
    --loop-programs) LOOP_PROGRAMS="$2"; shift 2 ;;
    --base-lang-dir) BASE_LANG_DIR="$2"; shift 2 ;;
    -h|--help) sed -n '2,35p' "$0"; exit 0 ;;
    *) echo "lang_overhead: unknown argument $1" >&2; exit 2 ;;
  esac
done
if [ -n "$BASE_LANG_DIR" ] && [ ! -r "$BASE_LANG_DIR/node/fdsoak-origins.js" ]; then
  echo "lang_overhead: --base-lang-dir: no node/fdsoak-origins.js under '$BASE_LANG_DIR'" >&2
  exit 2
fi
[ -x "$FDSOAK" ] || { echo "lang_overhead: no fdsoak binary at $FDSOAK (set FDSOAK)" >&2; exit 2; }
OUT="${BENCH_OUT:-$(mktemp -d /tmp/fdsoak-langbench-XXXXXX)}"
mkdir -p "$OUT"
RECORDS="$OUT/records.tsv"
: >"$RECORDS"

# program name, interpreter, file (each opens+closes a file per failed attempt)
PROGRAMS="python:python3:py_open.py node:node:node_fs.js"

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

run_one() { # run_one ROUND PROGRAM INTERP FILE DELAY MODE
  round="$1" prog="$2" interp="$3" file="$4" delay="$5" mode="$6"
  id="$prog-d$delay-$mode-r$round"
  port="$(free_port)"
  cmd=("$interp" "$TESTS/$file" --fixed --port "$port" --delay-ms "$delay" --max-seconds "$SECS")
  if [ "$mode" = plain ]; then
    timeout -k 5 $((SECS + 60)) "${cmd[@]}" >"$OUT/$id.stdout" 2>"$OUT/$id.stderr"
  else
    rm -rf "$OUT/$id"
    # --cycles far beyond the run: the program ends it, fdsoak does not.
    timeout -k 5 $((SECS + 90)) "$FDSOAK" watch --inject "connect:addr=127.0.0.1,port=$port:do=refuse" \
      --origins "$mode" --cycles 100000000 --warmup 10 --timeout $((SECS + 60)) --out "$OUT/$id" -q -- \
      "${cmd[@]}" >"$OUT/$id.stdout" 2>"$OUT/$id.stderr"
  fi
  rate="$(sed -n 's/^attempts [0-9]* seconds [0-9.]* rate \([0-9.]*\).*$/\1/p' "$OUT/$id.stderr" | tail -n 1)"
  cpu="$(sed -n 's/^attempts .* cpu_us_per_attempt \([0-9.]*\)$/\1/p' "$OUT/$id.stderr" | tail -n 1)"
  if [ -z "$rate" ] && [ -f "$OUT/$id/summary.json" ]; then
    rate="$(python3 -c 'import json,sys; t=json.load(open(sys.argv[1]))["target"]; print("%.1f" % (t["attempts"]/t["seconds"]))' \
      "$OUT/$id/summary.json" 2>/dev/null)"
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$prog" "$delay" "$mode" "$round" "${rate:-NA}" "${cpu:-NA}" >>"$RECORDS"
  printf '  round %s %-6s delay %s ms %-6s %s attempts/s, %s us CPU per attempt\n' \
    "$round" "$prog" "$delay" "$mode" "${rate:-NA}" "${cpu:-NA}" >&2
}

if [ "$LOOP_ONLY" = 0 ]; then
read -r -a modes <<<"$MODES"
nm=${#modes[@]}
for round in $(seq 1 "$ROUNDS"); do
  for delay in $DELAYS; do
    for p in $PROGRAMS; do
      IFS=: read -r prog interp file <<<"$p"
      for i in $(seq 0 $((nm - 1))); do
        run_one "$round" "$prog" "$interp" "$file" "$delay" "${modes[$(( (i + round - 1) % nm ))]}"
      done
    done
  done
done

python3 - "$RECORDS" "$MODES" "$ROUNDS" <<'PY'
import sys
from collections import defaultdict
records, modes, rounds = sys.argv[1], sys.argv[2].split(), sys.argv[3]
rate = defaultdict(lambda: None)   # best: highest rate
cpu = defaultdict(lambda: None)    # best: least CPU per attempt
rows = []
for line in open(records):
    f = line.rstrip("\n").split("\t")
    prog, delay, mode, rnd, r = f[:5]
    c = f[5] if len(f) > 5 else "NA"
    if (prog, delay) not in rows:
        rows.append((prog, delay))
    k = (prog, delay, mode)
    if r != "NA":
        rate[k] = float(r) if rate[k] is None else max(rate[k], float(r))
    if c != "NA":
        cpu[k] = float(c) if cpu[k] is None else min(cpu[k], float(c))
pairs = [(a + "/" + b, a, b) for a, b in (("lang", "native"), ("lang", "plain"), ("native", "plain"))
         if a in modes and b in modes]
def table(title, best, fmt):
    print(title)
    print("%-8s %6s " % ("program", "delay") + "".join("%10s" % m for m in modes)
          + "".join("%13s" % p[0] for p in pairs))
    for prog, delay in rows:
        line = "%-8s %4sms " % (prog, delay)
        line += "".join("%10s" % ("NA" if best[(prog, delay, m)] is None else fmt % best[(prog, delay, m)])
                        for m in modes)
        for _, a, b in pairs:
            x, y = best[(prog, delay, a)], best[(prog, delay, b)]
            line += "%13s" % ("NA" if x is None or not y else "%.2f" % (x / y))
        print(line)
table("attempts/s, best of %s runs (higher is better; ratios of rates: 0.67 = 1.5x slower)" % rounds, rate, "%.1f")
print()
table("CPU us per attempt of the target process, best of %s (lower is better; ratios of CPU: 1.5 = 1.5x)"
      % rounds, cpu, "%.1f")
PY
echo "records: $RECORDS"
fi

# ---- the open+close loop -------------------------------------------------
LOOPREC="$OUT/loop.tsv"
: >"$LOOPREC"
loop_one() { # loop_one ROUND PROGRAM INTERP FILE MODE
  round="$1" prog="$2" interp="$3" file="$4" mode="$5"
  id="loop-$prog-$mode-r$round"
  res="$OUT/$id.res"
  rm -f "$res"
  if [ "$mode" = plain ]; then
    timeout -k 5 120 "$interp" "$HERE/$file" "$res" "$LOOP_N" >"$OUT/$id.stdout" 2>"$OUT/$id.stderr"
  else
    # lang0: --origins lang with the hooks of --base-lang-dir.
    langdir=()
    [ "$mode" = lang0 ] && langdir=(env "FDSOAK_LANG_DIR=$BASE_LANG_DIR")
    timeout -k 5 120 "${langdir[@]}" "$FDSOAK" watch --origins "${mode%0}" --duration 100 --warmup 1 \
      --out "$OUT/$id" -q -- "$interp" "$HERE/$file" "$res" "$LOOP_N" >"$OUT/$id.stdout" 2>"$OUT/$id.stderr"
  fi
  wall="$(sed -n 's/^loop_s \([0-9.]*\).*/\1/p' "$res" 2>/dev/null)"
  cpu="$(sed -n 's/.* cpu_s \([0-9.]*\).*/\1/p' "$res" 2>/dev/null)"
  pcpu="$(sed -n 's/.* proc_cpu_s \([0-9.]*\).*/\1/p' "$res" 2>/dev/null)"
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$prog" "$mode" "$round" "${wall:-NA}" "${cpu:-NA}" "${pcpu:-NA}" >>"$LOOPREC"
  printf '  loop round %s %-6s %-6s %s s wall, %s s CPU\n' "$round" "$prog" "$mode" "${wall:-NA}" "${cpu:-NA}" >&2
}
LOOP_MODES="plain native lang"
[ -n "$BASE_LANG_DIR" ] && LOOP_MODES="$LOOP_MODES lang0"
read -r -a lmodes <<<"$LOOP_MODES"
nl=${#lmodes[@]}
for round in $(seq 1 "$LOOP_ROUNDS"); do
  for p in python:python3:openloop.py node:node:openloop.js; do
    IFS=: read -r prog interp file <<<"$p"
    case " $LOOP_PROGRAMS " in *" $prog "*) ;; *) continue ;; esac
    for i in $(seq 0 $((nl - 1))); do
      mode="${lmodes[$(( (i + round - 1) % nl ))]}"
      [ "$mode" = lang0 ] && [ "$prog" != node ] && continue
      loop_one "$round" "$prog" "$interp" "$file" "$mode"
    done
  done
done
python3 - "$LOOPREC" "$LOOP_N" "$LOOP_ROUNDS" "$LOOP_MODES" <<'PY'
import statistics, sys
from collections import defaultdict
rec, n, rounds, modes = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4].split()
runs = defaultdict(list)
for line in open(rec):
    prog, mode, rnd, wall, cpu, pcpu = line.rstrip("\n").split("\t")
    for kind, v in (("wall", wall), ("cpu", cpu), ("proc", pcpu)):
        if v != "NA":
            runs[(prog, mode, kind)].append(float(v))
ratios = [(a + "/" + b, a, b) for a, b in (("lang", "plain"), ("native", "plain"), ("lang0", "plain"),
                                           ("lang", "lang0")) if a in modes and b in modes]
for title, pick in (("median", statistics.median), ("best", min)):
    print()
    print("open+close loop of %s, %s of %s rounds, ms (ratios of times: 1.50 = 1.5x slower)"
          % (n, title, rounds))
    if title == "median":
        print("wall: the loop's time; cpu: its CPU time; proc: the process's CPU time from its start")
        if "lang0" in modes:
            print("lang0: --origins lang with the hooks of --base-lang-dir (before)")
    print("%-8s %-5s" % ("program", "time") + "".join("%9s" % m for m in modes)
          + "".join("%13s" % r[0] for r in ratios))
    for prog in ("python", "node"):
        for kind in ("wall", "cpu", "proc"):
            v = {m: (pick(runs[(prog, m, kind)]) if runs[(prog, m, kind)] else None) for m in modes}
            if all(x is None for x in v.values()):
                continue
            cells = "".join("%9s" % ("NA" if v[m] is None else "%.1f" % (v[m] * 1000)) for m in modes)
            r = lambda a, b: "NA" if v[a] is None or not v[b] else "%.2f" % (v[a] / v[b])
            print("%-8s %-5s%s" % (prog, kind, cells) + "".join("%13s" % r(a, b) for _, a, b in ratios))
PY
echo "loop records: $LOOPREC"
