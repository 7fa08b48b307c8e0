#!/bin/sh
# What `fdsoak watch` must not change in the program it watches (issue 23,
# perturbations 3-7): each case runs one small program plain and under
# watch and compares what the program itself saw.
# Usage: perturb.sh CASE BUILD_BIN_DIR
set -u
case_="$1"
BIN="$2"
HERE="$(cd "$(dirname "$0")" && pwd)"
T="$(mktemp -d /tmp/fsk-compat-XXXXXX)"
chmod 755 "$T"
trap 'rm -rf "$T"' EXIT
FDSOAK="$BIN/fdsoak"
PY=/usr/bin/python3
SRC="$(cd "$HERE/../../.." && pwd)"
. "$HERE/../lib.sh"

# watch CMD...: the program under watch with the default origins, sampled
# often enough that a short program is judged (the verdict is not what
# these cases check), bounded by fdsoak's own --timeout (timeout(1) would
# change the signal dispositions under test).  The programs write what
# they saw to $RES.
RES="$T/res"
export RES
watch() {
  rm -f "$RES"
  "$FDSOAK" watch --interval 20 --warmup 2 --duration 20 --timeout 30 -q --out "$T/r" \
    -- "$@" >"$T/watch.out" 2>"$T/watch.err"
  echo "$?" >"$T/watch.rc"
}
plain() { rm -f "$RES"; "$@" >"$T/plain.out" 2>&1; }

# same DESC FILE1 FILE2: the program saw the same thing both ways.
same() {
  [ -s "$2" ] || { bad "$1: the plain run wrote nothing"; return; }
  if cmp -s "$2" "$3"; then ok "$1: $(head -c 200 "$2" | tr '\n' ' ')"; else
    bad "$1: plain and watched differ"; echo "  plain:"; sed 's/^/  | /' "$2"
    echo "  watched:"; sed 's/^/  | /' "$3"; sed 's/^/  err| /' "$T/watch.err" | tail -5; fi
}

# CASE_proc: the same with the tree tracked by /proc scanning (the fallback
# where no cgroup can be made).
case "$case_" in *_proc) FDSOAK_TREE=proc; export FDSOAK_TREE; case_="${case_%_proc}" ;; esac

case "$case_" in
user)
  # 3: a child that switches user (subprocess.run(user=...), runuser,
  # daemons that drop root) cannot open fdsoak's 0600 page; it must run on
  # (uninstrumented), not die of the shim's _exit(2).
  [ "$(id -u)" -eq 0 ] && id nobody >/dev/null 2>&1 || skip "needs root and a nobody user"
  cat >"$T/user.py" <<'PY'
import subprocess, sys
r = subprocess.run(["/bin/sh", "-c", "id -un; sleep 3"], user="nobody",
                   capture_output=True, text=True)
open(os.environ["RES"], "w").write("rc %d out %s err %s\n" % (r.returncode, r.stdout.strip(), r.stderr.strip()[:200]))
PY
  sed -i '1s/^/import os\n/' "$T/user.py"
  plain $PY "$T/user.py"; cp "$RES" "$T/plain" 2>/dev/null
  watch $PY "$T/user.py"; cp "$RES" "$T/watched" 2>/dev/null
  same "a child that switches user runs as it does alone" "$T/plain" "$T/watched"
  n="$(json "$T/r/summary.json" "d['target'].get('uninstrumented', {}).get('processes', 0)")"
  [ "${n:-0}" -ge 1 ] 2>/dev/null && ok "the report counts $n uninstrumented process(es)" \
    || bad "the report does not count the uninstrumented process (got '${n:-}')"
  ;;
sigign)
  # 4: signals the caller ignores (nohup, `cmd &` in a script) stay ignored
  # in the target.
  cat >"$T/sig.py" <<'PY'
import os, signal
n = {signal.SIG_IGN: "ignored", signal.SIG_DFL: "default"}
open(os.environ["RES"], "w").write(" ".join(
    "%s=%s" % (s.name, n.get(signal.getsignal(s), "handler"))
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)) + "\n")
PY
  (trap '' INT TERM HUP; plain $PY "$T/sig.py"); cp "$RES" "$T/plain" 2>/dev/null
  (trap '' INT TERM HUP; watch $PY "$T/sig.py"); cp "$RES" "$T/watched" 2>/dev/null
  has "$T/plain" "the plain run inherits the ignored SIGINT" "SIGINT=ignored"
  same "ignored SIGINT/SIGTERM/SIGHUP are inherited" "$T/plain" "$T/watched"
  # and handled signals come back as defaults, as they would without fdsoak
  plain $PY "$T/sig.py"; cp "$RES" "$T/plain2" 2>/dev/null
  watch $PY "$T/sig.py"; cp "$RES" "$T/watched2" 2>/dev/null
  same "default dispositions stay default" "$T/plain2" "$T/watched2"
  ;;
stderr)
  # 5: stderr is the caller's: the same open file (not a pipe to fdsoak),
  # so the order of stdout and stderr written to one file is kept.
  cat >"$T/err.py" <<'PY'
import os, sys, time
for i in range(5):
    sys.stdout.write("out %d\n" % i); sys.stdout.flush()
    sys.stderr.write("err %d\n" % i); sys.stderr.flush()
s1, s2 = os.fstat(1), os.fstat(2)
print("fd 2 is fd 1's file:", (s1.st_dev, s1.st_ino) == (s2.st_dev, s2.st_ino))
time.sleep(0.5)
PY
  $PY "$T/err.py" >"$T/plain" 2>&1
  "$FDSOAK" watch --interval 20 --warmup 2 --duration 20 --timeout 30 -q --out "$T/r" \
    -- $PY "$T/err.py" >"$T/both" 2>&1
  # fdsoak's own last line (-q: the verdict, or a message) is not the program's.
  grep -E '^(out|err|fd 2)' "$T/both" >"$T/watched"
  same "stdout and stderr interleave as they do alone" "$T/plain" "$T/watched"
  # isatty(2) on a terminal: under script(1)'s pseudo-terminal.
  printf 'import os\nprint("isatty", os.isatty(0), os.isatty(1), os.isatty(2))\n' >"$T/tty.py"
  timeout 30 script -qec "$PY $T/tty.py" /dev/null </dev/null | tr -d '\r' | grep isatty >"$T/plain"
  timeout 60 script -qec "$FDSOAK watch --interval 20 --warmup 2 --duration 20 --timeout 30 -q --out $T/r2 -- $PY $T/tty.py" \
    /dev/null </dev/null | tr -d '\r' | grep isatty >"$T/watched"
  same "isatty(2) stays true on a terminal" "$T/plain" "$T/watched"
  ;;
pgrp)
  # 6: the target stays in the caller's process group (the terminal's
  # foreground group when fdsoak is in it).
  cat >"$T/pg.py" <<'PY'
import os
open(os.environ["RES"], "w").write(
    "same group as its caller's: %s\n" % (os.getpgrp() == int(os.environ["CALLER_PGRP"])))
PY
  pg="$(ps -o pgid= -p $$ | tr -d ' ')"
  export CALLER_PGRP="$pg"
  plain $PY "$T/pg.py"; cp "$RES" "$T/plain" 2>/dev/null
  watch $PY "$T/pg.py"; cp "$RES" "$T/watched" 2>/dev/null
  same "same process group as the caller" "$T/plain" "$T/watched"
  # On a terminal: foreground, and Ctrl-C arrives as SIGINT (not SIGTERM).
  cat >"$T/fg.py" <<'PY'
import os, signal, sys, time
got = []
signal.signal(signal.SIGINT, lambda s, f: got.append("SIGINT"))
signal.signal(signal.SIGTERM, lambda s, f: got.append("SIGTERM"))
print("foreground:", os.tcgetpgrp(0) == os.getpgrp(), flush=True)
line = sys.stdin.readline()          # a terminal read: SIGTTIN if not foreground
print("read:", line.strip(), flush=True)
for _ in range(300):
    if got: break
    time.sleep(0.01)
print("signal:", got[:1], flush=True)
PY
  # Feed a line, then a Ctrl-C (\003), through script(1)'s pseudo-terminal.
  drive() { (sleep 1.5; printf 'hello\n'; sleep 1; printf '\003'; sleep 3) | timeout 40 script -qec "$1" /dev/null | tr -d '\r' | grep -oE '(foreground|read|signal): .*'; }
  drive "$PY $T/fg.py" >"$T/plain"
  drive "$FDSOAK watch --interval 20 --warmup 2 --duration 20 --timeout 30 -q --out $T/r3 -- $PY $T/fg.py" >"$T/watched"
  has "$T/plain" "plain: Ctrl-C arrives as SIGINT" "signal: ['SIGINT']"
  same "terminal read and Ctrl-C as without fdsoak" "$T/plain" "$T/watched"
  ;;
orphan)
  # 7: an orphan sees its parent die: getppid() becomes what it is without
  # fdsoak (init, or the nearest subreaper), never fdsoak.
  cat >"$T/orph.py" <<'PY'
import os, sys, time
r, w = os.pipe()
if os.fork() == 0:                 # the parent-to-be-lost
    if os.fork() == 0:             # the orphan
        first = os.getppid()
        os.write(w, b"x")          # now its parent may go
        for _ in range(300):
            if os.getppid() != first: break
            time.sleep(0.01)
        p = os.getppid()
        caller = int(os.environ["CALLER_PID"])
        open(os.environ["RES"], "w").write("parent changed: %s; new parent is %s\n" % (
            p != first, "init" if p == 1 else "the caller" if p == caller else
            "fdsoak" if p == int(os.environ.get("FDSOAK_PID", "-1")) else "another"))
        os._exit(0)
    os.read(r, 1)
    os._exit(0)
os.wait()
time.sleep(3.2)
PY
  CALLER_PID=$$ plain $PY "$T/orph.py"; cp "$RES" "$T/plain" 2>/dev/null
  CALLER_PID=$$ watch sh -c 'FDSOAK_PID=$PPID exec "$0" "$1"' $PY "$T/orph.py"; cp "$RES" "$T/watched" 2>/dev/null
  same "the orphan is reparented as it is alone" "$T/plain" "$T/watched"
  tt="$(json "$T/r/summary.json" "d['target'].get('tree_tracking')")"
  case "${FDSOAK_TREE:-}:$tt" in
    proc:/proc*|:cgroup|:/proc*) ok "tree tracking: $tt" ;;
    *) bad "tree tracking '$tt' (FDSOAK_TREE=${FDSOAK_TREE:-})" ;;
  esac
  # The whole tree is still watched and stopped: a daemonised grandchild
  # that outlives the root is stopped at the end.
  mark="fsk-compat-orphan-$$"
  timeout 60 "$FDSOAK" watch --interval 20 --warmup 2 --duration 1.5 -q --out "$T/r4" -- \
    sh -c "(sh -c 'exec sleep 300 $mark' &) ; sleep 30" >/dev/null 2>&1
  sleep 0.3
  pgrep -f "sleep 300 $mark" >/dev/null && { bad "a daemonised grandchild outlived the run"; pkill -f "sleep 300 $mark"; } \
    || ok "the daemonised grandchild was stopped with the tree"
  ;;
*)
  echo "unknown case $case_"; exit 2 ;;
esac
finish
