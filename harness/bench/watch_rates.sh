#!/usr/bin/env bash
# The false-alarm / detection benchmark of `fdsoak watch` on the realistic
# targets of harness/tests/targets (issue 10), and its rate-accuracy check.
#
#   watch_rates.sh [--runs R] [--mode rates|accuracy|all] [--accuracy-runs K]
#                  [--only NAME[,NAME...]]
#
#   rates     each clean manifest row (expect 0) R times with a fresh seed per
#             run; each leaky program (py_leak, node_leak, wrapper, fork_leak)
#             R times at 1 leak per 100 attempts over 1000 attempts and R times
#             at 1 per 10 over 300 attempts.  Prints per program: runs, leak
#             verdicts, flat, inconclusive, other, rate (false-alarm rate for
#             clean programs, detection rate for leaky ones), then the overall
#             false-alarm % over clean runs and the detection % per leak rate.
#   accuracy  py_leak at 1/10 over 300 attempts at --delay-ms 50, 5 and 1, K
#             runs each (default 3): the true rate (the program's own count of
#             leaked fds / attempts) against the rate in summary.json.
#   all       both (default).
#   --report DIR  only print the tables again from DIR/records.tsv (a
#             BENCH_OUT of an earlier, possibly interrupted, run).
#
# Environment: R (runs, default 30; use 200+ for the issue's targets),
# FDSOAK (binary, default build/bin/fdsoak under the repo root), BENCH_JOBS
# (parallel runs, at most 2), BENCH_OUT (keep every run's output there).
set -u
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
TARGETS="$ROOT/harness/tests/targets"
FDSOAK="${FDSOAK:-$ROOT/build/bin/fdsoak}"
RUNS="${R:-30}"
ACC_RUNS=3
MODE=all
ONLY=""
REPORT=""
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) RUNS="$2"; shift 2 ;;
    --accuracy-runs) ACC_RUNS="$2"; shift 2 ;;
    --mode) MODE="$2"; shift 2 ;;
    --only) ONLY=",$2,"; shift 2 ;;
    --report) REPORT="$2"; shift 2 ;;
    -h|--help) sed -n '2,25p' "$0"; exit 0 ;;
    *) echo "watch_rates: unknown argument $1" >&2; exit 2 ;;
  esac
done
JOBS="${BENCH_JOBS:-2}"
[ "$JOBS" -ge 1 ] 2>/dev/null || JOBS=1
[ "$JOBS" -le 2 ] || JOBS=2
case "$MODE" in rates|accuracy|all) ;; *) echo "watch_rates: --mode rates|accuracy|all" >&2; exit 2 ;; esac
[ -n "$REPORT" ] || [ -x "$FDSOAK" ] || { echo "watch_rates: no fdsoak binary at $FDSOAK (set FDSOAK)" >&2; exit 2; }
if [ -n "$REPORT" ]; then
  OUT="$REPORT"; RECORDS="$OUT/records.tsv"; MODE=report
else
  OUT="${BENCH_OUT:-$(mktemp -d /tmp/fdsoak-bench-XXXXXX)}"
  mkdir -p "$OUT"
  RECORDS="$OUT/records.tsv"
  : >"$RECORDS"
fi

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}
selected() { [ -z "$ONLY" ] || case "$ONLY" in *",$1,"*) return 0 ;; *) return 1 ;; esac; }

# One run.  Appends: program class rc verdict seconds fdsoak_rate rate_unit
# true_rate attempts_per_sample delay  to $RECORDS.
run_one() { # run_one ID PROGRAM CLASS DELAY ARGV INJECT CYCLES WARMUP TIMEOUT
  id="$1" prog="$2" class="$3" delay="$4" argv="$5" inject="$6" cycles="$7" warmup="$8" timeout="$9"
  port="$(free_port)"
  seed=$(( (RANDOM << 15 | RANDOM) % 1000000 ))
  argv="${argv//\{PORT\}/$port}"; argv="${argv//\{TARGETS\}/$TARGETS}"; argv="${argv//\{SEED\}/$seed}"
  inject="${inject//\{PORT\}/$port}"
  dir="$OUT/runs/$id"
  mkdir -p "$dir"
  eval "set -- $argv"
  start=$(date +%s%N)
  FDSOAK_TARGET_RESULT="$dir/target.json" timeout -k 5 $((timeout + 30)) \
    "$FDSOAK" watch --inject "$inject" --cycles "$cycles" --warmup "$warmup" \
    --timeout "$timeout" --out "$dir/out" -q -- "$@" >"$dir/stdout" 2>"$dir/stderr"
  rc=$?
  tenths=$(( ($(date +%s%N) - start) / 100000000 ))
  extra="$(python3 - "$dir" "$warmup" <<'PY'
import collections, json, os, sys
d, warmup = sys.argv[1], int(sys.argv[2])
def load(p):
    try:
        with open(p) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}
s = load(os.path.join(d, "out", "summary.json"))
sc = (s.get("scenarios") or [{}])[0]
rate, unit = sc.get("rate"), ""
if isinstance(rate, dict):           # {"fds": x, "per": "attempt"}
    unit = rate.get("per", "")
    rate = rate.get("fds", rate.get("value"))
if not isinstance(rate, (int, float)):
    rate, unit = sc.get("slope_fds_per_cycle"), "cycle"
t = load(os.path.join(d, "target.json"))
# The truth two ways: over the program's whole life, and over the attempts
# after fdsoak's warm-up (what fdsoak measures; the program's attempts are
# the shim's: one connect each).
true = t["leaked"] / t["attempts"] if t.get("attempts") else None
win = fit = None
if t.get("attempts", 0) > warmup + 1 and len(t.get("leaks", [])) == t.get("leak_events"):
    win = sum(n for a, n in t["leaks"] if a > warmup) / (t["attempts"] - warmup)
    # ... and as a least-squares slope of the cumulative count over those
    # attempts: what an ideal sampler fitting a line would report.
    xs = list(range(warmup, t["attempts"] + 1))
    at = collections.Counter()
    for a, n in t["leaks"]:
        at[a] += n
    ys, c = [], sum(n for a, n in t["leaks"] if a <= warmup)
    for x in xs:
        c += at[x] if x > warmup else 0
        ys.append(c)
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    fit = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
aps = (s.get("target") or {}).get("attempts_per_sample", sc.get("attempts_per_sample"))
f = lambda x: "-" if x is None else f"{x:.4f}"
print(f(rate), unit or "-", f(true), f(aps), f(win), f(fit), sep="\t")
PY
)"
  verdict="$(head -c 40 "$dir/stdout" | tr -d '\n')"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$prog" "$class" "$rc" "${verdict:--}" \
    "$((tenths / 10)).$((tenths % 10))" "$extra" "$delay" >>"$RECORDS"
}

# The job list: one line per run, fields as run_one takes them.
JOBLIST="$OUT/jobs.tsv"
[ -z "$REPORT" ] || JOBLIST=/dev/null
: >"$JOBLIST"
n=0
add() { n=$((n + 1)); printf '%s' "$n" >>"$JOBLIST"; printf '\t%s' "$@" >>"$JOBLIST"; printf '\n' >>"$JOBLIST"; }
SPEC='connect:addr=127.0.0.1,port={PORT}:do=refuse'

if [ "$MODE" = rates ] || [ "$MODE" = all ]; then
  # Clean programs: the manifest's rows that expect 0, with a fresh seed.
  while IFS=$'\t' read -r name argv inject cycles warmup timeout expect notes; do
    case "$name" in ''|'#'*) continue ;; esac
    [ "$expect" = 0 ] || continue
    selected "$name" || continue
    argv="$(printf '%s' "$argv" | sed 's/--seed [0-9]*/--seed {SEED}/')"
    case "$argv" in *'{SEED}'*) ;; *) argv="$argv --seed {SEED}" ;; esac
    for _ in $(seq "$RUNS"); do add "$name" clean - "$argv" "$inject" "$cycles" "$warmup" "$timeout"; done
  done <"$TARGETS/manifest.tsv"

  # Leaky programs at two rates.
  leaky() { # leaky NAME ARGV
    selected "$1" || return 0
    for _ in $(seq "$RUNS"); do
      add "$1" "1/100" - "${2//\{N\}/100}" "$SPEC" 1000 50 120
      add "$1" "1/10" - "${2//\{N\}/10}" "$SPEC" 300 20 60
    done
  }
  common='--port {PORT} --seed {SEED} --max-seconds 120'
  leaky py_leak "python3 {TARGETS}/py_leak.py --n {N} $common"
  leaky node_leak "node {TARGETS}/node_leak.js --n {N} $common"
  leaky wrapper "sh -c 'python3 {TARGETS}/py_leak.py --n {N} $common; exit \$?'"
  leaky fork_leak "python3 {TARGETS}/fork_leak.py --n {N} $common"
fi

if [ "$MODE" = accuracy ] || [ "$MODE" = all ]; then
  for delay in 50 5 1; do
    for _ in $(seq "$ACC_RUNS"); do
      add py_leak accuracy "$delay" \
        "python3 {TARGETS}/py_leak.py --n 10 --delay-ms $delay --port {PORT} --seed {SEED} --max-seconds 120" \
        "$SPEC" 300 20 90
    done
  done
fi

total=$n
[ "$total" -gt 0 ] && echo "watch_rates: $total runs, $JOBS at a time, output in $OUT" >&2
running=0 done_=0
while IFS=$'\t' read -r id prog class delay argv inject cycles warmup timeout; do
  if [ "$running" -ge "$JOBS" ]; then
    wait -n; running=$((running - 1)); done_=$((done_ + 1))
    [ $((done_ % 10)) -eq 0 ] && echo "  $done_/$total done" >&2
  fi
  run_one "$id" "$prog" "$class" "$delay" "$argv" "$inject" "$cycles" "$warmup" "$timeout" &
  running=$((running + 1))
done <"$JOBLIST"
wait

python3 - "$RECORDS" "$MODE" <<'PY'
import collections, sys
recs = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
mode = sys.argv[2]
# program class rc verdict seconds rate unit true aps true_window true_fit delay
rates = [r for r in recs if r[1] != "accuracy"]
if rates:
    first = {}
    for i, r in enumerate(rates):
        first.setdefault(r[0], i)
    rank = {"clean": 0, "1/100": 1, "1/10": 2}
    groups = collections.OrderedDict()
    for r in sorted(rates, key=lambda r: (rank.get(r[1], 9), first[r[0]])):
        groups.setdefault((r[0], r[1]), []).append(r)
    print(f"{'program':<15} {'class':<6} {'runs':>5} {'leak':>5} {'flat':>5} {'incon':>6} {'other':>6} {'rate':>8}  {'mean s':>6}")
    tot = collections.Counter()
    for (prog, cls), rs in groups.items():
        c = collections.Counter({"0": "flat", "1": "leak", "3": "incon"}.get(r[2], "other") for r in rs)
        secs = sum(float(r[4]) for r in rs) / len(rs)
        pct = 100.0 * c["leak"] / len(rs)
        label = "false" if cls == "clean" else "detect"
        print(f"{prog:<15} {cls:<6} {len(rs):>5} {c['leak']:>5} {c['flat']:>5} {c['incon']:>6} {c['other']:>6} {pct:>7.1f}%  {secs:>6.1f}")
        tot[(cls, "runs")] += len(rs)
        tot[(cls, "leak")] += c["leak"]
        if c["other"]:
            others = collections.Counter(r[2] for r in rs if r[2] not in ("0", "1", "3"))
            print(f"{'':<15} other exit codes: {dict(others)}")
    print()
    if tot[("clean", "runs")]:
        n, k = tot[("clean", "runs")], tot[("clean", "leak")]
        print(f"false alarms over clean runs: {k}/{n} = {100.0 * k / n:.2f} %  (target <= 1 % over >= 200 runs)")
    for cls in ("1/100", "1/10"):
        if tot[(cls, "runs")]:
            n, k = tot[(cls, "runs")], tot[(cls, "leak")]
            over = 1000 if cls == "1/100" else 300
            print(f"detection at {cls} over {over} attempts: {k}/{n} = {100.0 * k / n:.2f} %  (target >= 99 %)")
acc = [r for r in recs if r[1] == "accuracy"]
if acc:
    print()
    print("rate accuracy: py_leak, a 3-fd store leaked with p=1/10 per attempt, 300 attempts")
    print("  truth from the program's own leak log: over its life, after the warm-up ('win', what")
    print("  fdsoak measures), and the least-squares slope over those attempts ('fit', what an ideal")
    print("  sampler fitting a line reports); fdsoak's error against 'win' and against 'fit'")
    print(f"{'delay ms':>8} {'true life':>10} {'true win':>9} {'true fit':>9} {'fdsoak':>9} {'per':>8} {'err win':>8} {'err fit':>8} {'att/sample':>10} {'verdict':>8}")
    by = collections.OrderedDict()
    acc.sort(key=lambda r: -float(r[11]))
    def err(r, i):
        if r[5] == "-" or r[i] in ("-", "0.0000"):
            return None
        return (float(r[5]) - float(r[i])) / float(r[i])
    pct = lambda e: "-" if e is None else f"{100.0 * e:+.1f}%"
    for r in acc:
        by.setdefault(r[11], []).append(r)
        print(f"{r[11]:>8} {r[7]:>10} {r[9]:>9} {r[10]:>9} {r[5]:>9} {r[6]:>8} {pct(err(r, 9)):>8} {pct(err(r, 10)):>8} {r[8]:>10} {r[3]:>8}")
    for d, rs in by.items():
        line = f"  delay {d} ms:"
        for i, what in ((9, "win"), (10, "fit")):
            es = [abs(e) for e in (err(r, i) for r in rs) if e is not None]
            if es:
                line += f"  |error| vs {what}: mean {100.0 * sum(es) / len(es):.1f} %, worst {100.0 * max(es):.1f} %"
        print(line + f"  ({len(rs)} runs; target within 10 %)")
PY
[ -n "${BENCH_OUT:-}" ] || echo "records: $RECORDS" >&2
