#!/bin/sh
# Issue 24, the process side of `fdsoak watch` under attack: evidence of fd
# exhaustion, the fd limit, big and busy trees, fdsoak's own death, a
# closed output pipe, the terminal and PID namespaces.
# Usage: hostile_proc.sh CASE BUILD_BIN_DIR
set -u
case_="$1"
BIN="$2"
HERE="$(cd "$(dirname "$0")" && pwd)"
T="$(mktemp -d /tmp/fsk-hostile-XXXXXX)"
trap 'rm -rf "$T"' EXIT
FDSOAK="$BIN/fdsoak"
PY=/usr/bin/python3
. "$HERE/lib.sh"

# A flat program: one short-lived fd per 10 ms, for S seconds ($1).
flat_py() {
  cat <<PY
import os, sys, time
end = time.time() + $1
while time.time() < end:
    f = open("/dev/null"); f.close(); time.sleep(0.01)
PY
}

# CASE_proc: the same with the tree tracked by /proc scanning (the fallback
# where no cgroup can be made).
case "$case_" in *_proc) FDSOAK_TREE=proc; export FDSOAK_TREE; case_="${case_%_proc}" ;; esac

case "$case_" in
emfile_word)
  # The word EMFILE in a log line is no evidence: a flat program that says
  # it retries on EMFILE is flat.
  { flat_py 4; echo 'while False: pass'; } >"$T/p.py"
  sed -i 's/f.close(); time.sleep(0.01)/f.close(); time.sleep(0.01); print("we also retry on EMFILE (Too many open files)", file=sys.stderr)/' "$T/p.py"
  expect_rc 0 "a flat program that prints 'EMFILE' is flat" \
    "$FDSOAK" watch --interval 20 --warmup 5 --cycles 60 --timeout 60 --out "$T/r" -q -- $PY "$T/p.py"
  [ "$(json "$T/r/summary.json" "d['target']['fd_exhaustion']")" = None ] && ok "no fd exhaustion claimed" \
    || bad "fd exhaustion claimed: $(json "$T/r/summary.json" "d['target']['fd_exhaustion']")"
  # The real thing is still seen: a program that meets its limit and goes
  # on (it catches EMFILE and holds what it has: flat from there).
  cat >"$T/ex.py" <<'PY'
import resource, time
resource.setrlimit(resource.RLIMIT_NOFILE, (64, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
held = []
time.sleep(0.5)
try:
    while True:
        held.append(open("/dev/null")); time.sleep(0.005)
except OSError as e:
    pass
time.sleep(3)
PY
  expect_rc 1 "a program whose open() really failed with EMFILE is a leak" \
    "$FDSOAK" watch --interval 20 --warmup 5 --cycles 100 --timeout 60 --out "$T/r2" -q -- $PY "$T/ex.py"
  json "$T/r2/summary.json" "d['target']['fd_exhaustion']" | grep -q "failed with EMFILE" \
    && ok "the evidence is the shim's count of calls that failed with EMFILE" \
    || bad "evidence: $(json "$T/r2/summary.json" "d['target']['fd_exhaustion']")"
  ;;
injected_emfile)
  # fdsoak's own injected errno(EMFILE), logged by the program, is no
  # evidence of exhaustion.
  cat >"$T/p.py" <<'PY'
import os, sys, time
end = time.time() + 4
while time.time() < end:
    try:
        open(os.environ["T"] + "/fsk-inj-target").close()
    except OSError as e:
        print("open failed:", e, file=sys.stderr)
    time.sleep(0.01)
PY
  : >"$T/fsk-inj-target"
  T="$T" expect_rc 0 "an injected EMFILE that the program logs is flat" \
    "$FDSOAK" watch --inject 'open:path=*fsk-inj-target:do=errno(EMFILE)' --cycles 80 --warmup 10 \
    --timeout 60 --out "$T/r" -q -- $PY "$T/p.py"
  [ "$(json "$T/r/summary.json" "d['target']['fd_exhaustion']")" = None ] && ok "no fd exhaustion claimed" \
    || bad "fd exhaustion claimed: $(json "$T/r/summary.json" "d['target']['fd_exhaustion']")"
  grep -q "Too many open files" "$T/err" && ok "the program did log the injected error" \
    || bad "the program never logged the injected EMFILE"
  ;;
limit_raised)
  # A process that raises its own limit after it was first seen is judged
  # against its current limit, not the one it started with (64 here, from
  # fdsoak's caller).
  cat >"$T/p.py" <<'PY'
import resource, time
time.sleep(0.8)
hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))
held = [open("/dev/null") for _ in range(100)]
end = time.time() + 3
while time.time() < end:
    open("/dev/null").close(); time.sleep(0.01)
PY
  expect_rc 0 "a program that raised its limit from 64 and holds 100 fds is flat" \
    sh -c 'ulimit -Sn 64; exec "$@"' sh "$FDSOAK" watch --interval 20 --warmup 5 --cycles 120 \
    --timeout 60 --out "$T/r" -q -- $PY "$T/p.py"
  [ "$(json "$T/r/summary.json" "d['target']['fd_exhaustion']")" = None ] && ok "no fd exhaustion claimed" \
    || bad "fd exhaustion claimed: $(json "$T/r/summary.json" "d['target']['fd_exhaustion']")"
  ;;
tree_cap)
  # A pre-fork server with 300 idle workers and one more that leaks: the
  # leak in the 301st is found, whatever the tree's size.
  cat >"$T/p.py" <<'PY'
import os, sys, time
for _ in range(300):                 # idle pre-forked workers
    if os.fork() == 0:
        time.sleep(40)
        os._exit(0)
time.sleep(1)
if os.fork() == 0:                   # worker 301 leaks
    held = []
    end = time.time() + 30
    while time.time() < end:
        held.append(open("/dev/null")); time.sleep(0.02)
    os._exit(0)
time.sleep(30)
PY
  # The warm-up (2 s of samples) covers the start of the 300 workers.
  expect_rc 1 "a leak in worker 301 of a 302-process tree is found" \
    "$FDSOAK" watch --interval 50 --warmup 40 --cycles 60 --timeout 90 --out "$T/r" -q -- $PY "$T/p.py"
  [ "$(json "$T/r/summary.json" "d['target'].get('uninstrumented')")" = None ] \
    && ok "no process counted as uninstrumented" || bad "uninstrumented: $(json "$T/r/summary.json" "d['target'].get('uninstrumented')")"
  n="$(json "$T/r/summary.json" "len(d['target']['processes'])")"
  [ "${n:-0}" -ge 302 ] && ok "the report lists $n processes" || bad "the report lists ${n:-no} processes"
  ;;
sighup_kill)
  # SIGHUP to fdsoak: a clean stop (exit 3, results written); SIGKILL: the
  # target dies with it.  Neither leaves a process, a scratch file or a
  # cgroup behind.
  mkdir "$T/tmp"
  for sig in HUP KILL; do
    mark="fsk-hostile-$sig-$$"
    TMPDIR="$T/tmp" "$FDSOAK" watch --interval 50 --cycles 100000 --timeout 120 --out "$T/r$sig" -q -- \
      sh -c "sh -c 'sleep 300' $mark & $PY -c 'import time; time.sleep(300)' $mark" >"$T/out" 2>"$T/err" &
    fp=$!
    # fdsoak and its guard carry the mark too: wait for the two of the target.
    i=0; while [ "$(pgrep -f "$mark" | wc -l)" -lt 4 ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
    sleep 1
    kill -$sig "$fp"; wait "$fp"; rc=$?
    if [ $sig = HUP ]; then
      [ "$rc" -eq 3 ] && ok "SIGHUP: exit 3 (interrupted)" || bad "SIGHUP: exit $rc"
      [ "$(json "$T/r$sig/summary.json" "d['interrupted']")" = True ] && ok "SIGHUP: results written, marked interrupted" \
        || bad "SIGHUP: no interrupted summary"
    fi
    i=0; while pgrep -f "$mark" >/dev/null && [ $i -lt 60 ]; do sleep 0.05; i=$((i + 1)); done
    pgrep -f "$mark" >/dev/null && { bad "SIG$sig: the target outlived fdsoak"; ps -o pid,ppid,pgid,stat,comm -p "$(pgrep -f "$mark" | tr '\n' ',' | sed 's/,$//')"; pgrep -f "$mark" | while read -r p; do kill -9 "$p"; done; } \
      || ok "SIG$sig: nothing of the target is left"
    i=0; while [ -n "$(ls -A "$T/tmp")" ] && [ $i -lt 60 ]; do sleep 0.05; i=$((i + 1)); done
    [ -z "$(ls -A "$T/tmp")" ] && ok "SIG$sig: no scratch file left" || bad "SIG$sig: left in TMPDIR: $(ls "$T/tmp")"
    ls -d /sys/fs/cgroup/*/fdsoak-"$fp"-* /sys/fs/cgroup/fdsoak-"$fp"-* 2>/dev/null | grep -q . \
      && bad "SIG$sig: its cgroup is left" || ok "SIG$sig: no cgroup left"
  done
  ;;
sigpipe)
  # `fdsoak watch ... 2>&1 | head`: the reader goes away; fdsoak is not
  # killed by SIGPIPE, and the results are written.
  cat >"$T/p.py" <<'PY'
import sys, time
print("first line", flush=True)
end = time.time() + 3
while time.time() < end:
    open("/dev/null").close(); time.sleep(0.01)
    try:
        print("a line of the program's stderr", file=sys.stderr, flush=True)
    except BrokenPipeError:
        pass
PY
  { "$FDSOAK" watch --interval 20 --warmup 5 --cycles 60 --timeout 60 --out "$T/r" -- $PY "$T/p.py"; echo $? >"$T/rc"; } 2>&1 | head -1 >/dev/null
  rc="$(cat "$T/rc")"
  [ "$rc" -eq 0 ] && ok "fdsoak finished and judged flat (exit 0)" || bad "fdsoak exit $rc (141 is SIGPIPE)"
  [ -s "$T/r/summary.json" ] && ok "results written" || bad "no results"
  ;;
sigttin)
  # A target that reads the terminal is in its foreground: it reads, it is
  # not stopped by SIGTTIN.
  (sleep 1.5; printf 'hello\n'; sleep 3) | timeout 30 script -qec \
    "$FDSOAK watch --interval 20 --warmup 2 --duration 20 --timeout 20 -q --out $T/r -- sh -c 'read x; echo \"read: \$x\"; sleep 0.5'" \
    /dev/null | tr -d '\r' >"$T/out"
  has "$T/out" "the target read the terminal" "read: hello"
  ;;
pidns)
  # A leak in a PID namespace (`unshare --pid`, a container) keeps its
  # origin: the shim recorded the pid the process saw.
  unshare --pid --fork true 2>/dev/null || skip "unshare --pid not permitted"
  cat >"$T/p.py" <<'PY'
import time
held = []
end = time.time() + 30
while time.time() < end:
    held.append(open("/dev/null"))  # the leak
    time.sleep(0.02)
PY
  expect_rc 1 "a leak in a PID namespace is found" \
    "$FDSOAK" watch --interval 20 --warmup 5 --cycles 60 --timeout 60 --out "$T/r" -- \
    unshare --pid --fork $PY "$T/p.py"
  o="$(json "$T/r/summary.json" "d['scenarios'][0]['leaked'][0]['origin']")"
  echo "$o" | grep -q "opened by open" && ok "origin has the shim's frames: $(echo "$o" | cut -c1-160)" \
    || bad "no origin in the PID namespace: $o"
  ;;
*)
  echo "unknown case $case_"; exit 2 ;;
esac
finish
