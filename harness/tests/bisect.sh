#!/bin/sh
# fdsoak bisect on a real git history: twelve commits of a small Python
# reconnect loop (harness/tests/reconnect_loop.py), the leak entering in
# one of them by flipping a flag.  Checks that bisect names exactly that
# commit with its leak table, that every way out (found, nothing to find,
# usage errors, SIGINT) leaves the checkout as it was, and that a failed
# build is a skip.  Usage: bisect.sh BUILD_BIN_DIR
set -u
BIN="$(cd "$1" && pwd)"
HERE="$(cd "$(dirname "$0")" && pwd)"
FDSOAK="$BIN/fdsoak"
T="$(mktemp -d /tmp/fsk-bisect-XXXXXX)"
trap 'rm -rf "$T"' EXIT
# bisect keeps each step's results in a new dir under TMPDIR: here, $T.
export TMPDIR="$T"
. "$HERE/lib.sh"

PORT=27331
SOAK="watch --inject connect:addr=127.0.0.1,port=$PORT:do=refuse --cycles 60 --warmup 10 -q -- python3 prog.py --port $PORT --sleep 0.01"

# The history: the program, then notes and tweaks; commit 7 flips LEAK.
R="$T/repo"
mkdir -p "$R" && cd "$R" || exit 2
git init -q -b main .
git config user.email t@example.org
git config user.name "bisect test"
git config commit.gpgsign false
sed -e 's/^forgotten = \[\]/LEAK = False\nforgotten = []/' \
    -e 's/^        if args.leak:/        if args.leak or LEAK:/' "$HERE/reconnect_loop.py" > prog.py
grep -q "if args.leak or LEAK:" prog.py || { echo "FAIL: could not make prog.py"; exit 1; }
echo "notes" > notes.txt
git add prog.py notes.txt && git commit -q -m "reconnect loop: first version"
GOOD="$(git rev-parse HEAD)"
for i in 2 3 4 5 6 7 8 9 10 11 12; do
  if [ "$i" -eq 7 ]; then
    sed -i 's/^LEAK = False/LEAK = True/' prog.py
    git commit -q -am "reconnect: keep the store open across attempts"
    LEAKY="$(git rev-parse HEAD)"
  elif [ "$i" -eq 4 ]; then
    echo "broken build $i" >> notes.txt
    git commit -q -am "notes: step $i (does not build)"
  elif [ "$i" -eq 5 ]; then
    sed -i '/broken/d' notes.txt
    git commit -q -am "notes: step $i (builds again)"
  else
    echo "step $i" >> notes.txt
    sed -i "s/^\"\"\"A program nobody here wrote.*/\"\"\"A program nobody here wrote the C for (rev $i): a reconnect loop that opens an/" prog.py
    git commit -q -am "notes: step $i"
  fi
done
BAD="$(git rev-parse HEAD)"
[ "$(git rev-list --count HEAD)" = 12 ] && ok "12 commits" || bad "history has $(git rev-list --count HEAD) commits"

restored() { # restored DESC: on main at BAD, clean, no bisect left
  if [ "$(git symbolic-ref -q HEAD)" = refs/heads/main ] && [ "$(git rev-parse HEAD)" = "$BAD" ] &&
     [ -z "$(git status --porcelain)" ] && [ ! -e "$(git rev-parse --git-path BISECT_START)" ]; then
    ok "$1: checkout restored (main at BAD, clean)"
  else
    bad "$1: checkout not restored: $(git symbolic-ref -q HEAD || echo detached) $(git rev-parse HEAD) $(git status --porcelain | head -3)"
  fi
}

# 1. The answer, with its table; the checkout as it was.
# shellcheck disable=SC2086
expect_rc 0 "bisect finds a commit" "$FDSOAK" bisect "$GOOD" "$BAD" --keep "$T/keep" -- $SOAK
cp "$T/out" "$T/found.out"
sed 's/^/  > /' "$T/found.out"
answer="first leaking commit: $LEAKY reconnect: keep the store open across attempts"
grep -qxF "$answer" "$T/out" && ok "names exactly the leaking commit" || bad "want '$answer'"
[ "$(grep -c '^first leaking commit:' "$T/out")" = 1 ] && ok "one answer" || bad "answer count"
sed -n '/^first leaking commit/,$p' "$T/out" > "$T/table"
grep -q 'responses.db' "$T/table" && ok "the table names the leaked store files" || bad "no store in the table"
grep -q ' x file .*responses.db.*, at .*([^ ]*:[0-9][0-9]*)' "$T/table" && ok "the table groups the leak at its place" || bad "no origins"
grep -q 'projection:' "$T/table" && ok "the table gives the projection" || bad "no projection"
[ -s "$T/keep/$(echo "$LEAKY" | cut -c1-12)/summary.json" ] && ok "the commit's results kept" || bad "no kept results"
grep -q "BAD .*leak" "$T/out" && grep -q "GOOD .*flat" "$T/out" && ok "both ends soaked" || bad "ends"
restored "after finding"

# 2. Nothing to find: BAD is the commit before the leak.
BEFORE="$(git rev-parse "$LEAKY^")"
# shellcheck disable=SC2086
expect_rc 1 "a flat BAD: nothing leaks" "$FDSOAK" bisect "$GOOD" "$BEFORE" -- $SOAK
grep -q "^no leak: BAD" "$T/out" && ok "says BAD is flat" || bad "flat message"
restored "after a flat BAD"

# 3. A failed build is a skip, and the answer stands.  With --build the
#    soak may start with a program's path (here this fdsoak's own).
# shellcheck disable=SC2086
expect_rc 0 "bisect with --build (one commit does not build)" "$FDSOAK" bisect "$GOOD" "$BAD" \
  --build "echo built >> '$T/builds'; ! grep -q broken notes.txt" -- "$FDSOAK" $SOAK
grep -qxF "$answer" "$T/out" && ok "the same answer with --build" || bad "answer with --build"
[ "$(wc -l < "$T/builds")" -ge 3 ] && ok "the build ran at every step ($(wc -l < "$T/builds"))" || bad "builds: $(cat "$T/builds")"
restored "after --build"
# A branch where every commit between GOOD and BAD fails to build: no answer.
git checkout -q -b leak-early main~9
echo "x" >> notes.txt && git commit -q -am "notes: before the break"
C3="$(git rev-parse HEAD)"
echo "broken" >> notes.txt && git commit -q -am "break the build"
sed -i 's/^LEAK = False/LEAK = True/' prog.py && git commit -q -am "leak, and fix the build notes"
sed -i '/broken/d' notes.txt && git commit -q -am "fix the build"
LE="$(git rev-parse HEAD)"
# shellcheck disable=SC2086
expect_rc 3 "only unbuildable commits left: no answer" "$FDSOAK" bisect "$C3" "$LE" \
  --build "! grep -q broken notes.txt" -- $SOAK
grep -q "it is one of:" "$T/out" && ok "the candidates are listed" || bad "candidates"
[ "$(git symbolic-ref -q HEAD)" = refs/heads/leak-early ] && [ "$(git rev-parse HEAD)" = "$LE" ] \
  && ok "back on leak-early" || bad "not restored to leak-early"
git checkout -q main
restored "back on main"

# 4. Usage errors; none leaves a trace.
expect_rc 2 "no --" "$FDSOAK" bisect "$GOOD" "$BAD"
expect_rc 2 "unknown revision" "$FDSOAK" bisect nosuchrev "$BAD" -- watch -- true
grep -q "nosuchrev" "$T/err" && ok "names the revision" || bad "revision message"
expect_rc 2 "a verb bisect cannot use" "$FDSOAK" bisect "$GOOD" "$BAD" -- gate x
expect_rc 2 "the soak takes --out" "$FDSOAK" bisect "$GOOD" "$BAD" -- watch --out x -- true
expect_rc 2 "a path without --build" "$FDSOAK" bisect "$GOOD" "$BAD" -- ./fdsoak watch -- true
echo "dirty" >> prog.py
expect_rc 2 "a dirty tree" "$FDSOAK" bisect "$GOOD" "$BAD" -- watch -- true
grep -q "uncommitted" "$T/err" && ok "says the tree is dirty" || bad "dirty message"
git diff --quiet && bad "the dirty change was lost" || ok "the dirty change is still there"
git checkout -q prog.py
restored "after usage errors"
(cd "$T" && "$FDSOAK" bisect a b -- watch -- true >"$T/out" 2>"$T/err"); rc=$?
[ "$rc" = 2 ] && grep -q "not in a git work tree" "$T/err" && ok "not a git tree (exit 2)" || bad "not a git tree: exit $rc $(cat "$T/err")"

# 5. SIGINT in the middle: no answer, and the checkout restored.
# shellcheck disable=SC2086
"$FDSOAK" bisect "$GOOD" "$BAD" -- $SOAK >"$T/out" 2>"$T/err" &
pid=$!
n=0
while [ "$n" -lt 100 ] && ! grep -q "BAD " "$T/out"; do sleep 0.1; n=$((n + 1)); done
sleep 1
kill -INT "$pid"
wait "$pid"; rc=$?
[ "$rc" = 3 ] && ok "SIGINT: exit 3" || { bad "SIGINT: exit $rc"; cat "$T/out" "$T/err"; }
grep -q "interrupted" "$T/err" && ok "says it was interrupted" || bad "interrupt message"
restored "after SIGINT"

finish
