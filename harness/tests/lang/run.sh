#!/usr/bin/env bash
# Language-origin tests of fdsoak watch (issue 15).  For each program here:
#
#   fdsoak watch --inject 'connect:addr=127.0.0.1,port=P:do=refuse' --origins lang
#       --cycles 60 --warmup 10 --out DIR -q -- python3|node PROGRAM --port P
#
# must exit 1 (leak), and in summary.json scenarios[0].leaked[] at least one
# fd of each expected class must have an origin naming "<program>:<line of
# its LEAK-LINE marker>" (py_sqlite: also a -wal fd naming its WAL-LINE;
# py_class: the chain ResponseStore.__init__ <- Adapter.__init__ <-
# Runner._create_adapter, in that order); then the same with --fixed must
# exit 0 (flat).
#
#   run.sh [NAME...]      (no names: all cases; NAME as in the table below)
#   FDSOAK     fdsoak binary (default build/bin/fdsoak under the repo root)
#   LANG_JOBS  cases in parallel, at most 2 (default 2)
#   LANG_OUT   where each run's --out directory and output go (default a
#              temp dir, kept when a case fails)
# Prints `ok|FAIL case NAME leak|fixed ...` per run and `N passed, M failed`;
# exits 1 if any failed, 2 on a setup error.
set -u
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
FDSOAK="${FDSOAK:-$ROOT/build/bin/fdsoak}"
JOBS="${LANG_JOBS:-2}"
[ "$JOBS" -ge 1 ] 2>/dev/null || JOBS=1
[ "$JOBS" -le 2 ] || JOBS=2
OUT="${LANG_OUT:-$(mktemp -d /tmp/fdsoak-lang-XXXXXX)}"
mkdir -p "$OUT"
[ -x "$FDSOAK" ] || { echo "run.sh: no fdsoak binary at $FDSOAK (set FDSOAK)" >&2; exit 2; }

# name  interpreter  program  expected classes (comma)  extra program args
CASES="
py_open     python3 py_open.py    file
py_socket   python3 py_socket.py  socket
py_sqlite   python3 py_sqlite.py  file
py_pipe     python3 py_pipe.py    pipe
py_thread   python3 py_thread.py  file
py_fork     python3 py_fork.py    file
py_class    python3 py_class.py   file
node_fs     node    node_fs.js    file
node_net    node    node_net.js   socket
node_child  node    node_child.js socket   --n 2
"
# (node_child: libuv makes a child's stdio pipes socketpairs, so /proc and
# fdsoak call them sockets; --n 2 keeps 70 attempts under its 40 children.)

free_port() { # a loopback port nobody listens on: bound, read, closed again
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

marker_line() { # marker_line FILE MARKER: line number of the (first) marked line
  grep -n -- "$2\$" "$1" | head -n 1 | cut -d: -f1
}

# check_origins SUMMARY PROGRAM CLASSES: prints "" if fine, else why not.
check_origins() {
  python3 - "$@" <<'PY'
import json, os, re, sys
summary, prog, classes = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
base = os.path.basename(prog)
src = open(prog).read().splitlines()
def line_of(marker):
    for i, l in enumerate(src, 1):
        if re.search(r"(#|//)\s*%s\s*$" % marker, l):
            return i
    return None
leak = line_of("LEAK-LINE")
wal = line_of("WAL-LINE")
try:
    d = json.load(open(summary))
    leaked = (d.get("scenarios") or [{}])[0].get("leaked") or []
except Exception as e:
    print("no summary.json: %s" % e); sys.exit(0)
problems = []
want = "%s:%d" % (base, leak)
for cls in classes:
    of_cls = [f for f in leaked if f.get("class") == cls]
    if not any(want in (f.get("origin") or "") for f in of_cls):
        sample = of_cls[0] if of_cls else (leaked[0] if leaked else None)
        problems.append("no %s fd with origin %s among %d leaked (%d %s); e.g. %s" % (
            cls, want, len(leaked), len(of_cls), cls,
            json.dumps({k: sample.get(k) for k in ("class", "target", "origin")}) if sample else "none"))
if base == "py_sqlite.py":
    want_wal = "%s:%d" % (base, wal)
    wals = [f for f in leaked if str(f.get("target") or "").endswith("-wal")]
    if not any(want_wal in (f.get("origin") or "") for f in wals):
        problems.append("no -wal fd (of %d) with origin %s; e.g. %s" % (
            len(wals), want_wal, (wals[0].get("origin") if wals else "none")))
if base == "py_class.py":
    chain = ["ResponseStore.__init__", "Adapter.__init__", "Runner._create_adapter"]
    def in_order(o):
        at = 0
        for c in chain:
            i = o.find(c, at)
            if i < 0:
                return False
            at = i + len(c)
        return True
    if not any(in_order(f.get("origin") or "") and want in (f.get("origin") or "") for f in leaked):
        problems.append("no origin with the chain %s" % " <- ".join(chain))
print("; ".join(problems))
PY
}

# run_case NAME INTERP PROGRAM CLASSES [ARGS...]: writes $OUT/NAME.lines
run_case() {
  name="$1" interp="$2" prog="$HERE/$3" classes="$4"; shift 4
  : >"$OUT/$name.lines"
  for mode in leak fixed; do
    port="$(free_port)"
    dir="$OUT/$name-$mode"
    rm -rf "$dir"
    extra=()
    [ "$mode" = fixed ] && extra=(--fixed)
    start=$(date +%s%N)
    timeout -k 5 150 "$FDSOAK" watch --inject "connect:addr=127.0.0.1,port=$port:do=refuse" \
      --origins lang --cycles 60 --warmup 10 --timeout 120 --out "$dir" -q -- \
      "$interp" "$prog" --port "$port" "$@" "${extra[@]}" \
      >"$OUT/$name-$mode.stdout" 2>"$OUT/$name-$mode.stderr"
    rc=$?
    tenths=$(( ($(date +%s%N) - start) / 100000000 ))
    secs="$((tenths / 10)).$((tenths % 10))"
    if [ "$mode" = leak ]; then
      want=1
      why=""
      [ "$rc" = 1 ] || why="exit $rc, expected 1"
      if [ -z "$why" ]; then why="$(check_origins "$dir/summary.json" "$prog" "$classes")"; fi
    else
      want=0
      why=""
      [ "$rc" = 0 ] || why="exit $rc, expected 0"
    fi
    if [ -z "$why" ]; then
      echo "ok case $name $mode (exit $rc, ${secs}s)" >>"$OUT/$name.lines"
    else
      line="FAIL case $name $mode: $why (${secs}s, $dir)"
      [ -s "$OUT/$name-$mode.stderr" ] && line="$line
    stderr: $(tail -n 3 "$OUT/$name-$mode.stderr" | tr '\n' ' ' | cut -c1-400)"
      echo "$line" >>"$OUT/$name.lines"
    fi
  done
}

SELECTED="$*"
names=()
running=0
while read -r name interp prog classes rest; do
  [ -n "$name" ] || continue
  if [ -n "$SELECTED" ]; then
    case " $SELECTED " in *" $name "*) ;; *) continue ;; esac
  fi
  names+=("$name")
  if [ "$running" -ge "$JOBS" ]; then wait -n; running=$((running - 1)); fi
  # shellcheck disable=SC2086
  run_case "$name" "$interp" "$prog" "$classes" $rest &
  running=$((running + 1))
done <<<"$CASES"
wait

pass=0 fail=0
for name in "${names[@]}"; do
  while IFS= read -r l; do
    echo "$l"
    case "$l" in ok\ *) pass=$((pass + 1)) ;; FAIL\ *) fail=$((fail + 1)) ;; esac
  done <"$OUT/$name.lines"
done
echo "$pass passed, $fail failed"
if [ "$fail" -eq 0 ] && [ -z "${LANG_OUT:-}" ]; then rm -rf "$OUT"; fi
[ "$fail" -eq 0 ]
