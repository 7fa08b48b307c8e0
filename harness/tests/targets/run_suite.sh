#!/usr/bin/env bash
# Runs every row of manifest.tsv once under `fdsoak watch` and checks the exit
# code.  Usage: run_suite.sh [NAME...]   (no names: all rows)
#   FDSOAK      fdsoak binary (default build/bin/fdsoak under the repo root)
#   SUITE_JOBS  runs in parallel, at most 2 (default 2)
#   SUITE_OUT   where the per-case --out directories go (default a temp dir,
#               kept when a case fails)
# Prints `ok|FAIL name expected X got Y (Ns)` per case, then `N passed, M failed`.
set -u
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
FDSOAK="${FDSOAK:-$ROOT/build/bin/fdsoak}"
JOBS="${SUITE_JOBS:-2}"
[ "$JOBS" -ge 1 ] 2>/dev/null || JOBS=1
[ "$JOBS" -le 2 ] || JOBS=2
OUT="${SUITE_OUT:-$(mktemp -d /tmp/fdsoak-suite-XXXXXX)}"
mkdir -p "$OUT"

if [ ! -x "$FDSOAK" ]; then
  echo "run_suite: no fdsoak binary at $FDSOAK (set FDSOAK)" >&2
  exit 2
fi

free_port() { # a loopback port nobody listens on: bound, read, closed again
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

want_case() { # want_case NAME: true if no names were given or NAME is one
  [ -z "$SELECTED" ] && return 0
  case " $SELECTED " in *" $1 "*) return 0 ;; esac
  return 1
}
SELECTED="$*"

# One case: runs fdsoak, writes the verdict line to $OUT/NAME.line
run_case() { # run_case NAME ARGV INJECT CYCLES WARMUP TIMEOUT EXPECT
  name="$1" argv="$2" inject="$3" cycles="$4" warmup="$5" timeout="$6" expect="$7"
  port="$(free_port)"
  argv="${argv//\{PORT\}/$port}"; argv="${argv//\{TARGETS\}/$HERE}"
  inject="${inject//\{PORT\}/$port}"
  dir="$OUT/$name"
  rm -rf "$dir"
  start=$(date +%s%N)
  eval "set -- $argv"
  # timeout(1) is a backstop only: fdsoak's own --timeout should end the run.
  timeout -k 5 $((timeout + 30)) "$FDSOAK" watch --inject "$inject" --cycles "$cycles" \
    --warmup "$warmup" --timeout "$timeout" --out "$dir" -q -- "$@" \
    >"$OUT/$name.stdout" 2>"$OUT/$name.stderr"
  rc=$?
  tenths=$(( ($(date +%s%N) - start) / 100000000 ))
  secs="$((tenths / 10)).$((tenths % 10))"
  verdict="$(head -c 80 "$OUT/$name.stdout" | tr -d '\n')"
  status=FAIL
  case ",$expect," in *",$rc,"*) status=ok ;; esac
  line="$status $name expected $expect got $rc (${secs}s)"
  if [ "$status" = FAIL ]; then
    why=""
    if [ -f "$dir/summary.json" ]; then
      why="$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
s = (d.get("scenarios") or [{}])[0]
print(d.get("why") or s.get("why") or d.get("reason") or "", "| verdict:", d.get("verdict"))
' "$dir/summary.json" 2>/dev/null)"
    fi
    line="$line [verdict '${verdict}'] ${why}"
    [ -s "$OUT/$name.stderr" ] && line="$line
    stderr: $(tail -n 3 "$OUT/$name.stderr" | tr '\n' ' ' | cut -c1-400)"
  fi
  echo "$line" >"$OUT/$name.line"
}

names=()
running=0
while IFS=$'\t' read -r name argv inject cycles warmup timeout expect notes; do
  case "$name" in ''|'#'*) continue ;; esac
  want_case "$name" || continue
  names+=("$name")
  if [ "$running" -ge "$JOBS" ]; then
    wait -n
    running=$((running - 1))
  fi
  ( run_case "$name" "$argv" "$inject" "$cycles" "$warmup" "$timeout" "$expect"
    cat "$OUT/$name.line" ) &
  running=$((running + 1))
done <"$HERE/manifest.tsv"
wait

passed=0 failed=0
for n in "${names[@]}"; do
  if [ -f "$OUT/$n.line" ] && head -n1 "$OUT/$n.line" | grep -q '^ok '; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
  fi
done
echo "$passed passed, $failed failed"
if [ "$failed" -eq 0 ] && [ -z "${SUITE_OUT:-}" ]; then rm -rf "$OUT"; else echo "results: $OUT" >&2; fi
[ "$failed" -eq 0 ]
