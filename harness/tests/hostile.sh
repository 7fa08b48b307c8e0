#!/bin/sh
# Hostile input and hostile circumstances for fdsoak and its shim (issue
# 24): each case is a CTest test under the `hostile` label, named after
# its first argument.  Usage: hostile.sh CASE BUILD_DIR
# Exit 77 (skipped) where the machine cannot stage the attack (no root for
# a tmpfs, a PID namespace or another user).
set -u
case_="$1"
BUILD="$(cd "$2" && pwd)"
BIN="$BUILD/bin"
SHIM="$BUILD/lib/libfdsoak-inject.so"
HERE="$(cd "$(dirname "$0")" && pwd)"
FDSOAK="$BIN/fdsoak"
T="$(mktemp -d /tmp/fsk-hostile-XXXXXX)"
cleanup() { [ -n "${MNT:-}" ] && umount "$MNT" 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
. "$HERE/lib.sh"

# A reconnect loop that fails N times against a closed loopback port the
# shim refuses: the simplest target with attempts.
PORT=27391
cat > "$T/refuse.py" <<'PY'
import socket, sys, time
for i in range(int(sys.argv[1])):
    s = socket.socket()
    try:
        s.connect(("127.0.0.1", int(sys.argv[2])))
    except OSError:
        pass
    s.close()
    time.sleep(0.005)
PY
RULE="connect:addr=127.0.0.1,port=$PORT:do=refuse"
watch() { # watch OUT N [ARGV0]: a short flat watch of refuse.py into OUT
  "$FDSOAK" watch --inject "$RULE" --cycles 40 --warmup 10 --timeout 60 --out "$1" -q -- \
    ${3:-python3} "$T/refuse.py" "$2" "$PORT"
}

# A git history for bisect: GOOD tracks secret.env, the next commit
# untracks and ignores it (the user keeps a private one); the leak enters
# at LEAKY; every commit's subject says " is the first bad commit"; a
# tracked stamp.txt that a build may rewrite.
mkrepo() {
  R="$T/repo"
  mkdir -p "$R" && cd "$R" || exit 2
  git init -q -b main .
  git config user.email t@example.org
  git config user.name "hostile test"
  git config commit.gpgsign false
  sed -e 's/^forgotten = \[\]/LEAK = False\nforgotten = []/' \
      -e 's/^        if args.leak:/        if args.leak or LEAK:/' "$HERE/reconnect_loop.py" > prog.py
  echo v1 > stamp.txt
  echo "placeholder" > secret.env
  git add prog.py stamp.txt secret.env && git commit -q -m "first version"
  GOOD="$(git rev-parse HEAD)"
  git rm -q --cached secret.env && echo secret.env > .gitignore && git add .gitignore
  git commit -q -m "untrack secret.env (that one is the first bad commit, said nobody)"
  echo 3 > notes.txt && git add notes.txt && git commit -q -m "notes: why abc is the first bad commit"
  sed -i 's/^LEAK = False/LEAK = True/' prog.py
  git commit -q -am "reconnect: keep the store open (this is the first bad commit)"
  LEAKY="$(git rev-parse HEAD)"
  echo 5 >> notes.txt && git commit -q -am "notes: def is the first bad commit"
  echo 6 >> notes.txt && git commit -q -am "notes: 6 is the first bad commit"
  BAD="$(git rev-parse HEAD)"
  echo "the user's own secret" > secret.env
  ANSWER="first leaking commit: $LEAKY reconnect: keep the store open (this is the first bad commit)"
  BPORT=27393
  SOAK="watch --inject connect:addr=127.0.0.1,port=$BPORT:do=refuse --cycles 60 --warmup 10 -q -- python3 prog.py --port $BPORT --sleep 0.01"
}
untouched() { # untouched DESC: the user's repository exactly as before
  if [ "$(git symbolic-ref -q HEAD)" = refs/heads/main ] && [ "$(git rev-parse HEAD)" = "$BAD" ] &&
     [ -z "$(git status --porcelain)" ] && [ ! -e "$(git rev-parse --git-path BISECT_START)" ] &&
     [ "$(cat secret.env 2>/dev/null)" = "the user's own secret" ] && [ "$(cat stamp.txt)" = v1 ] &&
     [ "$(git worktree list | wc -l)" = 1 ] && [ -z "$(ls -d "$TMPDIR"/fdsoak-bisect-tree-* 2>/dev/null)" ]; then
    ok "$1: the repository is as it was"
  else
    bad "$1: repository changed: $(git symbolic-ref -q HEAD || echo detached) $(git rev-parse --short HEAD) [$(git status --porcelain | head -3 | tr '\n' ' ')] secret.env=$(cat secret.env 2>&1) stamp=$(cat stamp.txt) worktrees=$(git worktree list | wc -l)"
  fi
}
export TMPDIR="$T"

case "$case_" in
bisect_repo)
  # One search over the history of mkrepo hits three defects at once: GOOD
  # tracks the user's ignored secret.env (a checkout of it deletes the
  # user's copy), every subject says " is the first bad commit" (a
  # substring match answers with the wrong line), and the build rewrites the
  # tracked stamp.txt (the next checkout refuses).
  mkrepo
  build="date +%s%N > stamp.txt"
  # shellcheck disable=SC2086
  expect_rc 0 "bisect ($case_)" "$FDSOAK" bisect "$GOOD" "$BAD" --build "$build" -- $SOAK
  sed "s/^/  > /" "$T/out" | head -8
  grep -qxF "$ANSWER" "$T/out" && ok "names exactly the leaking commit" || bad "want '$ANSWER'"
  untouched "$case_"
  ;;
bisect_signals)
  mkrepo
  for sig in HUP TERM; do
    # shellcheck disable=SC2086
    "$FDSOAK" bisect "$GOOD" "$BAD" -- $SOAK >"$T/out" 2>"$T/err" &
    pid=$!
    n=0
    while [ "$n" -lt 100 ] && ! grep -q "BAD " "$T/out"; do sleep 0.1; n=$((n + 1)); done
    sleep 0.5
    kill -"$sig" "$pid"
    wait "$pid"; rc=$?
    [ "$rc" = 3 ] && ok "SIG$sig: exit 3" || { bad "SIG$sig: exit $rc"; cat "$T/err"; }
    untouched "after SIG$sig"
  done
  # Output into `head`, which leaves after one line: SIGPIPE at the next.
  # shellcheck disable=SC2086
  { "$FDSOAK" bisect "$GOOD" "$BAD" -- $SOAK 2>"$T/err"; echo $? > "$T/rc"; } | head -1 > "$T/out"
  [ "$(cat "$T/rc")" = 3 ] && ok "| head: exit 3" || bad "| head: exit $(cat "$T/rc")"
  untouched "after | head"
  ;;
gate_interrupted)
  # A soak cut short by SIGINT (a cancelled or timed-out CI job) is no pass,
  # and no baseline.
  expect_rc 0 "a whole soak of fatal/api" "$FDSOAK" run --path fatal --adapter api --cycles 60 \
    --warmup 10 --out "$T/full" -q
  expect_rc 0 "its baseline" "$FDSOAK" gate --baseline "$T/base.json" --update-baseline "$T/full"
  # A background job of a non-interactive shell starts with SIGINT ignored,
  # and fdsoak honours an ignored SIGINT as any program does (issue 23): the
  # soak gets SIGINT's default back, as a CI job's foreground soak has it.
  python3 -c 'import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execv(sys.argv[1], sys.argv[1:])' \
    "$FDSOAK" run --path fatal --adapter api --cycles 200000 --warmup 10 --out "$T/cut" -q \
    >"$T/out" 2>"$T/err" &
  pid=$!
  n=0
  while [ "$n" -lt 100 ] && ! grep -q . "$T/err" 2>/dev/null && [ ! -e "$T/cut" ]; do
    sleep 0.1; n=$((n + 1))
  done
  sleep 1
  kill -INT "$pid"
  wait "$pid"
  [ "$(json "$T/cut/summary.json" "d['interrupted']")" = True ] && ok "the cut soak says interrupted" \
    || bad "the cut soak does not say interrupted"
  [ "$(json "$T/cut/summary.json" "d['scenarios'][0]['verdict']")" = flat ] \
    && ok "its scenario reads flat so far" || bad "its scenario is not flat: pointless case"
  # It has the baseline's steady count: only the interruption tells them apart.
  python3 - "$T/cut/summary.json" "$T/full/summary.json" <<'PY'
import json, sys
cut, full = (json.load(open(f)) for f in sys.argv[1:])
cut["scenarios"][0]["fd_last"] = full["scenarios"][0]["fd_last"]
json.dump(cut, open(sys.argv[1], "w"))
PY
  expect_rc 3 "gate: an interrupted soak is inconclusive" "$FDSOAK" gate --baseline "$T/base.json" "$T/cut"
  has "$T/err" "gate says why" "interrupted"
  cp "$T/base.json" "$T/base.before"
  expect_rc 3 "--update-baseline refuses an interrupted soak" "$FDSOAK" gate --baseline "$T/base.json" \
    --update-baseline "$T/cut"
  cmp -s "$T/base.json" "$T/base.before" && ok "the baseline is unchanged" || bad "the baseline was rewritten"
  expect_rc 0 "the whole soak still passes" "$FDSOAK" gate --baseline "$T/base.json" "$T/full"
  # A soak of --cycles N that its --timeout cut short is as partial.
  expect_rc 3 "watch: --timeout before --cycles is inconclusive" "$FDSOAK" watch --inject "$RULE" \
    --cycles 100000 --warmup 10 --timeout 8 -q --out "$T/to" -- python3 "$T/refuse.py" 100000 "$PORT"
  [ "$(json "$T/to/summary.json" "d['interrupted']")" = True ] && ok "the timed-out soak says interrupted" \
    || bad "the timed-out soak does not say interrupted"
  expect_rc 0 "a whole watch" watch "$T/wfull" 400
  expect_rc 0 "its baseline" "$FDSOAK" gate --baseline "$T/wbase.json" --update-baseline "$T/wfull"
  expect_rc 3 "gate: the timed-out watch is inconclusive" "$FDSOAK" gate --baseline "$T/wbase.json" "$T/to"
  ;;
gate_malformed)
  # Summaries fdsoak never writes: missing or mistyped fields, a verdict
  # that contradicts its scenarios, and keys that other JSON readers read
  # differently (duplicates, case variants).  Each is bad input (exit 2).
  expect_rc 0 "a whole soak" "$FDSOAK" run --path fatal --adapter api --cycles 60 --warmup 10 \
    --out "$T/full" -q
  expect_rc 0 "its baseline" "$FDSOAK" gate --baseline "$T/base.json" --update-baseline "$T/full"
  expect_rc 0 "the soak passes as written" "$FDSOAK" gate --baseline "$T/base.json" "$T/full"
  mk() { # mk NAME PYTHON-STATEMENT-over-d: a copy of the run with summary.json edited
    rm -rf "$T/$1"; cp -r "$T/full" "$T/$1"
    python3 - "$T/$1/summary.json" "$2" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
s = d["scenarios"][0]
exec(sys.argv[2])
t = json.dumps(d, indent=1)
# Keys no dict can hold twice are spliced in as text.
t = t.replace('"@dup": "@"', '"verdict": "flat", "verdict": "leak"')
t = t.replace('"@case": "@"', '"Verdict": "flat", "verdict": "leak"')
open(sys.argv[1], "w").write(t)
PY
  }
  mk leaked_str 's["leaked"] = "3 fds"'
  mk top_leak 'd["verdict"] = "leak"'
  mk no_intr 'del d["interrupted"]'
  mk not_ours 'd["tool"] = "other"'
  # The first key wins in cJSON, the last in Python and jq: the scenario
  # reads flat here and leak there.
  mk dup_key 'del s["verdict"]; s["@dup"] = "@"'
  mk case_key 'del s["verdict"]; s["@case"] = "@"'
  [ "$(json "$T/dup_key/summary.json" "d['scenarios'][0]['verdict']")" = leak ] \
    && ok "Python reads the duplicate-key scenario as a leak" || bad "dup_key case not staged"
  [ "$(json "$T/case_key/summary.json" "d['scenarios'][0]['verdict']")" = leak ] \
    && ok "Python reads the case-variant scenario as a leak" || bad "case_key case not staged"
  for c in leaked_str top_leak no_intr not_ours dup_key case_key; do
    expect_rc 2 "gate refuses a summary with $c" "$FDSOAK" gate --baseline "$T/base.json" "$T/$c"
    has "$T/err" "$c: names the file" "$T/$c/summary.json"
  done
  ;;
gate_fifo)
  # A FIFO where a file should be: the gate must not wait for a writer.
  mkdir -p "$T/r"
  mkfifo "$T/r/summary.json"
  expect_rc 2 "a FIFO summary.json is refused at once" timeout 20 "$FDSOAK" gate --baseline "$T/none.json" "$T/r"
  has "$T/err" "says it is no regular file" "not a regular file"
  expect_rc 0 "a whole soak" "$FDSOAK" run --path fatal --adapter api --cycles 60 --warmup 10 \
    --out "$T/full" -q
  expect_rc 0 "its baseline" "$FDSOAK" gate --baseline "$T/base.json" --update-baseline "$T/full"
  rm "$T/full/series.csv" && mkfifo "$T/full/series.csv"
  expect_rc 1 "a FIFO series.csv fails at once" timeout 20 "$FDSOAK" gate --baseline "$T/base.json" "$T/full"
  mkfifo "$T/base2.json"
  expect_rc 2 "a FIFO baseline is refused at once" timeout 20 "$FDSOAK" gate --baseline "$T/base2.json" "$T/full"
  ;;
gate_comma)
  # A program whose name has a comma: series.csv quotes it, and the gate
  # must read it back.
  mkdir -p "$T/bin"
  printf '#!/bin/sh\nexec python3 "$@"\n' > "$T/bin/svc,worker"
  chmod +x "$T/bin/svc,worker"
  expect_rc 0 "a flat watch of 'svc,worker'" watch "$T/w" 400 "$T/bin/svc,worker"
  grep -q '"svc,worker"' "$T/w/series.csv" && ok "series.csv quotes the name" || bad "no quoted name in series.csv"
  expect_rc 0 "--update-baseline reads its series" "$FDSOAK" gate --baseline "$T/base.json" \
    --update-baseline "$T/w"
  expect_rc 0 "gate passes it against its own baseline" "$FDSOAK" gate --baseline "$T/base.json" "$T/w"
  ;;
pid_reuse)
  # --pid PID: the target exits while fdsoak is not looking (stopped, as
  # on a loaded machine) and a stranger gets its pid (staged in a PID
  # namespace of our own, with ns_last_pid); the stranger leaks, and must
  # not be sampled nor blamed.
  [ "$(id -u)" = 0 ] || skip "needs root for a PID namespace"
  cat > "$T/target.py" <<'PY'
import time
time.sleep(float(__import__("sys").argv[1]))
PY
  cat > "$T/stranger.py" <<'PY'
import time
held = []
for i in range(400):
    held.append(open("/dev/null"))
    time.sleep(0.02)
PY
  cat > "$T/stage.sh" <<'SH'
T="$1"; FDSOAK="$2"
python3 "$T/target.py" 2 &
victim=$!
"$FDSOAK" watch --pid "$victim" --interval 50 --warmup 5 --duration 8 --out "$T/w" -q \
  >"$T/wout" 2>"$T/werr" &
fd=$!
sleep 1
# fdsoak descheduled (a loaded machine) while the pid changes hands.
kill -STOP "$fd"
wait "$victim"
echo $((victim - 1)) > /proc/sys/kernel/ns_last_pid
python3 "$T/stranger.py" &
echo "$victim $!" > "$T/pids"
sleep 0.5
kill -CONT "$fd"
wait "$fd"; echo $? > "$T/wrc"
SH
  if ! unshare --pid --fork --mount-proc sh "$T/stage.sh" "$T" "$FDSOAK" 2>"$T/err"; then
    skip "cannot stage a PID namespace: $(cat "$T/err")"
  fi
  read -r victim stranger < "$T/pids"
  [ "$victim" = "$stranger" ] && ok "the stranger got the target's pid ($victim)" \
    || skip "pid not reused ($victim, $stranger)"
  rc="$(cat "$T/wrc")"
  [ "$rc" != 1 ] && ok "no leak blamed on the target (exit $rc)" \
    || { bad "the stranger's fds were judged a leak of the target"; sed 's/^/  | /' "$T/wout" "$T/werr" | head; }
  grep -q "leak" "$T/wout" && bad "the output says leak" || ok "the output does not say leak"
  ;;
shim_control)
  # FDSOAK_INJECT_CONTROL names a FIFO or a device: the program must
  # neither hang inside its connect() nor lose its rules without a word.
  CP=27397
  cat > "$T/ctl.py" <<'PY'
import errno, os, socket, sys, time
port, d, secs = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
seen, end = [], time.monotonic() + secs
while time.monotonic() < end and not os.path.exists(d + "/stop"):
    s = socket.socket()
    try:
        s.connect(("127.0.0.1", port)); r = "ok"
    except OSError as e:
        r = errno.errorcode[e.errno]
    s.close()
    if not seen or seen[-1] != r:
        seen.append(r)
    open(d + "/calls", "a").write(r + "\n")
    time.sleep(0.005)
print(" ".join(seen))
PY
  spec="connect:addr=127.0.0.1,port=$CP:do=errno(ENETUNREACH)"
  mkfifo "$T/fifo"
  # (timeout first: a shim preloaded into timeout itself would hang it too)
  timeout 20 env FDSOAK_INJECT="$spec" FDSOAK_INJECT_CONTROL="$T/fifo" LD_PRELOAD="$SHIM" \
    python3 "$T/ctl.py" "$CP" "$T" 0.2 >"$T/out" 2>"$T/err"; rc=$?
  [ "$rc" = 2 ] && ok "a FIFO control file at start: exit 2" || bad "a FIFO control file at start: exit $rc (124: hung)"
  has "$T/err" "says it is no regular file" "not a regular file"
  timeout 20 env FDSOAK_INJECT="$spec" FDSOAK_INJECT_CONTROL=/dev/zero LD_PRELOAD="$SHIM" \
    python3 "$T/ctl.py" "$CP" "$T" 0.2 >"$T/out" 2>"$T/err"; rc=$?
  [ "$rc" = 2 ] && ok "/dev/zero as the control file: exit 2" \
    || bad "/dev/zero as the control file: exit $rc, the program saw '$(cat "$T/out")'"
  # At runtime: the control file becomes a FIFO, then /dev/zero.
  for what in fifo zero; do
    rm -f "$T/ctl" "$T/stop" "$T/calls"
    timeout 30 env FDSOAK_INJECT="$spec" FDSOAK_INJECT_CONTROL="$T/ctl" FDSOAK_INJECT_CONTROL_MS=10 \
      LD_PRELOAD="$SHIM" python3 "$T/ctl.py" "$CP" "$T" 15 >"$T/out" 2>"$T/err" &
    py=$!
    n=0; while [ ! -s "$T/calls" ] && [ $n -lt 100 ]; do sleep 0.05; n=$((n + 1)); done
    if [ "$what" = fifo ]; then mkfifo "$T/ctl.new"; else ln -s /dev/zero "$T/ctl.new"; fi
    mv "$T/ctl.new" "$T/ctl"
    before=$(wc -l < "$T/calls"); sleep 1; after=$(wc -l < "$T/calls")
    touch "$T/stop"; wait $py; rc=$?
    [ "$after" -gt $((before + 20)) ] && ok "$what at runtime: the program goes on ($before -> $after calls)" \
      || bad "$what at runtime: the program stopped ($before -> $after calls, exit $rc)"
    [ "$(cat "$T/out")" = ENETUNREACH ] && ok "$what at runtime: the rules are kept" \
      || bad "$what at runtime: the program saw '$(cat "$T/out")'"
    has "$T/err" "$what at runtime: reported" "not a regular file"
  done
  ;;
action_bytes|action_inputs)
  # The action's steps (action.yml -> ci/action-run) through the runner
  # model of action_steps.py; FSK_ACTION_DIR may name another checkout's
  # action (to see the test fail on it).
  ACT="${FSK_ACTION_DIR:-$(cd "$HERE/../.." && pwd)}"
  mkdir -p "$T/runner" "$T/work"
  ln -s "$BUILD" "$T/runner/fdsoak-build"
  APORT=27398
  cat > "$T/work/svc.py" <<'PY'
import os, socket, sys, time
port, leak, n = int(sys.argv[1]), sys.argv[2] == "leak", int(sys.argv[3])
if "binary" in sys.argv[4:]:
    sys.stdout.buffer.write(b"binary protocol says \xff\xfe hello\n"); sys.stdout.flush()
os.makedirs(b"data", exist_ok=True)
held = []
for i in range(n):
    s = socket.socket()
    try:
        s.connect(("127.0.0.1", port))
    except OSError:
        pass
    s.close()
    if leak:
        held.append(open((b"data/\xffcache-%d" if "badnames" in sys.argv[4:] else b"data/cache-%d") % i, "wb"))
    time.sleep(0.005)
PY
  act() { # act NAME WANT_RC KEY=VALUE...
    name="$1"; want="$2"; shift 2
    : > "$T/$name.md"
    python3 "$HERE/action_steps.py" "$ACT/action.yml" "$T/runner" "$T/$name.md" \
      working-directory="$T/work" inject="connect:addr=127.0.0.1,port=$APORT:do=refuse" \
      cycles=60 warmup=10 "$@" >"$T/$name.log" 2>&1
    rc=$?
    [ "$rc" = "$want" ] && ok "$name: the job exits $rc" || { bad "$name: the job exits $rc, want $want"; tail -15 "$T/$name.log"; }
  }
  if [ "$case_" = action_bytes ]; then
    # A program whose stdout is not UTF-8.
    act bytes 1 command="python3 svc.py $APORT leak 400 binary" results-dir=res-bytes
    has "$T/bytes.log" "the soak step survives the bytes" "step soak: exit 0"
    has "$T/bytes.log" "the exit-code output is set" "output soak.exit-code='1'"
    has "$T/bytes.log" "the verdict output is leak" "output soak.verdict='leak'"
    has "$T/bytes.md" "the summary has the leak" "## fdsoak: ❌ leak"
    # UTF-8 on stdout, only the leaked files' names are not.
    act path 1 command="python3 svc.py $APORT leak 400 badnames" results-dir=res-path
    has "$T/path.log" "non-UTF-8 names: the verdict output is leak" "output soak.verdict='leak'"
    has "$T/path.md" "non-UTF-8 names: the summary has the leak" "## fdsoak: ❌ leak"
    grep -q "No results were written" "$T/path.md" && bad "the summary says no results were written" \
      || ok "the summary does not deny the results"
  else
    # Quoted args lose their quotes, as in a shell.
    act args 0 command="python3 svc.py $APORT flat 400" results-dir=res-args args='--stall "30" --timeout '"'"'120'"'"
    has "$T/args.log" "quoted args reach fdsoak unquoted" "output soak.exit-code='0'"
    # A results-dir with a newline cannot forge another output.
    act newline 1 command="python3 svc.py $APORT leak 400" "results-dir=res
exit-code=0"
    has "$T/newline.log" "the exit code stays the soak's" "output soak.exit-code='1'"
    grep -q "output soak.exit-code='0'" "$T/newline.log" && bad "a forged exit-code=0" || ok "no forged exit code"
  fi
  ;;
out_early|proc_denied)
  # As an unprivileged user (nobody), so that permissions bite.
  [ "$(id -u)" = 0 ] || skip "needs root to become nobody"
  need setpriv unshare
  chmod 755 "$T"
  mkdir -p "$T/u" && chown 65534:65534 "$T/u"
  asnobody() { setpriv --reuid=65534 --regid=65534 --clear-groups env TMPDIR="$T/u" "$@"; }
  asnobody "$FDSOAK" --version >/dev/null 2>&1 || skip "nobody cannot run $FDSOAK"
  cat > "$T/leaky.py" <<'PY'
import ctypes, os, socket, sys, time
d, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
open(d + "/started", "w").close()
if "nodump" in sys.argv[4:]:
    ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE 0
held = []
for i in range(n):
    s = socket.socket()
    try:
        s.connect(("127.0.0.1", port))
    except OSError:
        pass
    s.close()
    held.append(open("/dev/null"))
    time.sleep(0.005)
PY
  if [ "$case_" = out_early ]; then
    # A results directory that cannot be written: refused before the soak.
    mkdir -p "$T/ro" && chmod 555 "$T/ro"
    expect_rc 2 "watch --out in a read-only dir" asnobody "$FDSOAK" watch --inject "$RULE" --cycles 40 \
      --warmup 10 -q --out "$T/ro/res" -- python3 "$T/leaky.py" "$T/u" "$PORT" 300
    [ -e "$T/u/started" ] && bad "watch: the target ran before the check" || ok "watch: refused before the target ran"
    expect_rc 2 "run --out in a read-only dir" asnobody "$FDSOAK" run --path fatal --adapter api \
      --cycles 40 --warmup 10 -q --out "$T/ro/res"
    # The directory becomes unwritable during the soak: the leak found is
    # still a leak (exit 1), with a word about the files.
    mkdir -p "$T/u/res" && chown 65534:65534 "$T/u/res"
    asnobody "$FDSOAK" watch --inject "$RULE" --cycles 200 --warmup 10 -q --out "$T/u/res" -- \
      python3 "$T/leaky.py" "$T/u" "$PORT" 2000 >"$T/out" 2>"$T/err" &
    pid=$!
    n=0; while [ ! -e "$T/u/started" ] && [ $n -lt 100 ]; do sleep 0.05; n=$((n + 1)); done
    chmod 555 "$T/u/res"
    wait $pid; rc=$?
    [ "$rc" = 1 ] && ok "a leak with unwritable results still exits 1" || { bad "exit $rc, want 1"; cat "$T/err"; }
    has "$T/err" "says the results were not written" "cannot write results"
  else
    # A target fdsoak may not look into (non-dumpable): say so, not "too early".
    expect_rc 2 "watch of a non-dumpable program as nobody" asnobody "$FDSOAK" watch --inject "$RULE" \
      --cycles 40 --warmup 10 --timeout 20 -q --out "$T/u/res" -- python3 "$T/leaky.py" "$T/u" "$PORT" 300 nodump
    has "$T/err" "names the permission" "permission denied"
    grep -q "too early" "$T/err" && bad "still says too early" || ok "does not say too early"
  fi
  ;;
install_space)
  # Installed under a prefix with a space: LD_PRELOAD cannot name the shim
  # there, and watch and run must still load it.
  P="$T/my tools"
  cmake --install "$BUILD" --prefix "$P" >/dev/null 2>"$T/err" || { bad "cmake --install: $(tail -3 "$T/err")"; finish; exit; }
  mkdir -p "$T/work" && cd "$T/work" || exit 2
  expect_rc 0 "installed watch under '$P'" env -i PATH=/usr/bin:/bin TMPDIR="$T" "$P/bin/fdsoak" watch \
    --inject "$RULE" --cycles 40 --warmup 10 -q --out "$T/w" -- python3 "$T/refuse.py" 400 "$PORT"
  expect_rc 0 "installed run under '$P'" env -i PATH=/usr/bin:/bin TMPDIR="$T" "$P/bin/fdsoak" run \
    --path fatal --adapter api --cycles 40 --warmup 10 -q --out "$T/r"
  [ -z "$(ls -d "$T"/fdsoak-shim-* 2>/dev/null)" ] && ok "the private link to the shim is gone" \
    || bad "left behind: $(ls -d "$T"/fdsoak-shim-*)"
  ;;
fork_bound)
  # A service that forks short-lived helpers: what fdsoak keeps of ended
  # processes (and lists in summary.json) is bounded; the rest is counted.
  cat > "$T/forker.py" <<'PY'
import os, sys, time
end = time.monotonic() + float(sys.argv[1])
while time.monotonic() < end:
    if os.fork() == 0:
        f = open("/dev/null"); time.sleep(0.1); os._exit(0)
    time.sleep(0.02)
    try:
        while os.waitpid(-1, os.WNOHANG)[0] > 0:
            pass
    except ChildProcessError:
        pass
PY
  expect_rc 0 "watch of a forking service" "$FDSOAK" watch --interval 10 --warmup 5 --duration 15 \
    --timeout 60 -q --out "$T/f" -- python3 "$T/forker.py" 40
  listed=$(json "$T/f/summary.json" "len(d['target']['processes'])")
  folded=$(json "$T/f/summary.json" "d['target'].get('processes_folded', 0)")
  echo "  processes listed $listed, folded $folded; summary.json $(wc -c < "$T/f/summary.json") bytes"
  [ $((listed + folded)) -ge 160 ] && ok "enough helpers seen ($((listed + folded)))" \
    || bad "only $((listed + folded)) processes seen: the case is not staged"
  [ "$listed" -le 140 ] && ok "at most 140 processes listed ($listed)" || bad "$listed processes listed: unbounded"
  ;;
shim_torn)
  # A control swap must never rewrite the rule table a thread is still
  # reading.  Staged without luck: the thread that matched a rule is held
  # inside the shim (its decision log is a FIFO nobody reads yet) while two
  # swaps happen; on release it must act on the rule it matched.
  cat > "$T/torn.py" <<'PY'
import errno, os, socket, sys, threading, time
d, p1, p2, p3, p9 = sys.argv[1], *map(int, sys.argv[2:6])
def connect(port):
    s = socket.socket()
    try:
        s.connect(("127.0.0.1", port)); return "ok"
    except OSError as e:
        return errno.errorcode[e.errno]
    finally:
        s.close()
def swap(spec):
    open(d + "/ctl.tmp", "w").write(spec); os.rename(d + "/ctl.tmp", d + "/ctl")
    end = time.monotonic() + 0.5
    while time.monotonic() < end:  # hooked calls that match nothing: the shim polls
        connect(p9); time.sleep(0.002)
got = []
a = threading.Thread(target=lambda: got.append(connect(p1)))
a.start()
time.sleep(0.3)  # a is inside the shim, in the decision log's open()
swap("connect:addr=127.0.0.1,port=%d:do=errno(EACCES)" % p2)
swap("connect:addr=127.0.0.1,port=%d:do=errno(EHOSTUNREACH)" % p3)
log = []
r = threading.Thread(target=lambda: log.append(open(d + "/log").read()))
r.start(); a.join(10); r.join(10)
print(got[0] if got else "stuck")
PY
  mkfifo "$T/log"
  timeout 30 env FDSOAK_INJECT="connect:addr=127.0.0.1,port=47401:do=errno(ENETUNREACH)" \
    FDSOAK_INJECT_CONTROL="$T/ctl" FDSOAK_INJECT_CONTROL_MS=10 FDSOAK_INJECT_LOG="$T/log" \
    LD_PRELOAD="$SHIM" python3 "$T/torn.py" "$T" 47401 47402 47403 47409 >"$T/out" 2>"$T/err"
  got="$(cat "$T/out")"
  [ "$got" = ENETUNREACH ] && ok "the held thread acts on the rule it matched (ENETUNREACH)" \
    || bad "the held thread got '$got': a rule it never matched (the table was rewritten under it)"
  ;;
stats_existing)
  # FDSOAK_INJECT_STATS names a file that is not a stats page: the shim
  # must not write a byte of it.
  printf 'precious data\n' > "$T/precious"
  cp "$T/precious" "$T/precious.orig"
  FDSOAK_INJECT_STATS="$T/precious" LD_PRELOAD="$SHIM" /bin/true >"$T/out" 2>"$T/err"; rc=$?
  [ "$rc" = 2 ] && ok "the shim refuses it (exit 2)" || bad "exit $rc, want 2"
  cmp -s "$T/precious" "$T/precious.orig" && ok "the file is intact" || bad "the file was overwritten ($(wc -c < "$T/precious") bytes)"
  has "$T/err" "says why" "not an fdsoak stats page"
  mkfifo "$T/fifo"
  timeout 10 env FDSOAK_INJECT_STATS="$T/fifo" LD_PRELOAD="$SHIM" /bin/true >"$T/out" 2>"$T/err"; rc=$?
  [ "$rc" = 2 ] && ok "a FIFO is refused, not waited on (exit 2)" || bad "FIFO: exit $rc, want 2"
  ln -s "$T/precious" "$T/link"
  FDSOAK_INJECT_STATS="$T/link" LD_PRELOAD="$SHIM" /bin/true >"$T/out" 2>"$T/err"; rc=$?
  [ "$rc" = 2 ] && cmp -s "$T/precious" "$T/precious.orig" && ok "a symlink is refused" || bad "symlink: exit $rc"
  # What it does write: a new file, then that same page again (a tree).
  FDSOAK_INJECT_STATS="$T/new" LD_PRELOAD="$SHIM" /bin/true; rc1=$?
  FDSOAK_INJECT_STATS="$T/new" LD_PRELOAD="$SHIM" /bin/true; rc2=$?
  [ "$rc1$rc2" = 00 ] && [ -s "$T/new" ] && ok "a new file, then its page again" || bad "new file: exit $rc1 $rc2"
  : > "$T/empty"
  FDSOAK_INJECT_STATS="$T/empty" LD_PRELOAD="$SHIM" /bin/true && [ -s "$T/empty" ] \
    && ok "an empty file becomes the page" || bad "empty file refused"
  # Somebody's data of exactly the page's size is not a page either.
  head -c "$(wc -c < "$T/new")" /dev/urandom > "$T/same_size"
  cp "$T/same_size" "$T/same_size.orig"
  FDSOAK_INJECT_STATS="$T/same_size" LD_PRELOAD="$SHIM" /bin/true >"$T/out" 2>"$T/err"; rc=$?
  [ "$rc" = 2 ] && cmp -s "$T/same_size" "$T/same_size.orig" && ok "page-sized data is refused, intact" \
    || bad "page-sized data: exit $rc, $(cmp -s "$T/same_size" "$T/same_size.orig" && echo intact || echo overwritten)"
  ;;
full_tmpdir)
  # A TMPDIR with no room: a clear message and exit 2, never SIGBUS.
  [ "$(id -u)" = 0 ] || skip "needs root to mount a tmpfs"
  MNT="$T/full"
  mkdir -p "$MNT"
  mount -t tmpfs -o size=64k tmpfs "$MNT" || skip "cannot mount a tmpfs"
  dd if=/dev/zero of="$MNT/fill" bs=4k count=64 2>/dev/null
  export TMPDIR="$MNT"
  expect_rc 2 "watch with a full TMPDIR" watch "$T/w" 200
  has "$T/err" "watch names the cause" "No space left"
  expect_rc 2 "run with a full TMPDIR" "$FDSOAK" run --path fatal --adapter api --cycles 40 \
    --warmup 10 --out "$T/r" -q
  has "$T/err" "run names the cause" "No space left"
  rm -f "$T/page"
  : > "$MNT/page" 2>/dev/null
  FDSOAK_INJECT_STATS="$MNT/page" LD_PRELOAD="$SHIM" /bin/true >"$T/out" 2>"$T/err"; rc=$?
  [ "$rc" = 2 ] && ok "the shim alone: exit 2 on a full file system" || bad "the shim alone: exit $rc"
  unset TMPDIR
  ;;
*)
  echo "unknown case $case_"; exit 2 ;;
esac
finish
