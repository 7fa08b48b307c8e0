#!/bin/sh
# The leak report a person reads, end to end: the real fdsoak and shim on
# places.py, a Python reconnect loop with two causes of leak at three
# places that logs the attempt each leaked fd was opened in.
#
#   e2e.sh exact  FDSOAK   the groups (a place each, largest first) and every
#                          leaked fd's attempt, exactly as the program logged it
#   e2e.sh sarif  FDSOAK   --sarif and `fdsoak report --sarif` validate against
#                          the SARIF 2.1.0 schema; locations are relative to the
#                          checkout (a git work tree, or GITHUB_WORKSPACE)
#
# sarif-schema-2.1.0.json beside this script is the official SARIF 2.1.0
# schema (2.1.0-rtm.5) as the npm package @microsoft/jest-sarif 1.0.0-beta.0
# ships it (lib/schemas/sarif-2.1.0-rtm.5.json, MIT); no Debian package ships
# it.  The validator is Debian's python3-jsonschema.
set -u
case_="$1"
FDSOAK="$2"
HERE="$(cd "$(dirname "$0")" && pwd)"
SRC="$(cd "$HERE/../../.." && pwd)"
T="$(mktemp -d /tmp/fsk-report-XXXXXX)"
trap 'rm -rf "$T"' EXIT
. "$HERE/../lib.sh"
PORT=27391 # places.py's
SPEC="connect:addr=127.0.0.1,port=$PORT:do=errno(ECONNREFUSED)"
line_of() { grep -n "# $1\$" "$HERE/places.py" | cut -d: -f1; }

case "$case_" in
exact)
  expect_rc 1 "the leaky loop leaks" "$FDSOAK" watch --inject "$SPEC" --cycles 90 --warmup 10 \
    --out "$T/r" -- python3 "$HERE/places.py" "$T/truth.log"
  cp "$T/out" "$T/terminal"
  # Every leaked fd the program logged: fdsoak names the same attempt, and
  # says it is exact.
  python3 - "$T/r/summary.json" "$T/truth.log" >"$T/cmp" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
truth = {}
for line in open(sys.argv[2]):
    k, pid, fd, target = line.rstrip("\n").split(" ", 3)
    truth[(int(pid), int(fd))] = (int(k), target)
leaked = d["scenarios"][0]["leaked"]
bad = [l for l in leaked if (l["pid"], l["fd"]) not in truth
       or truth[(l["pid"], l["fd"])][0] != l["opened_cycle"] or not l.get("opened_exact")]
print("%d %d %d" % (len(leaked), len(bad), len(truth)))
for l in bad[:5]:
    print("  fd %d: fdsoak says attempt %s (exact %s), the program %s" % (
        l["fd"], l["opened_cycle"], l.get("opened_exact"), truth.get((l["pid"], l["fd"]))), file=sys.stderr)
PY
  read -r nleak nbad ntruth <"$T/cmp"
  [ "$nleak" -ge 30 ] && [ "$nbad" = 0 ] && ok "all $nleak leaked fds have the attempt the program logged" \
    || bad "attempts: $nbad of $nleak differ from the program's log ($ntruth logged)"
  # Two causes, three places: four groups (db, -wal, -shm, trace), each at a
  # marked line of places.py, the largest first; all of them in summary.json.
  got="$(json "$T/r/summary.json" "' '.join('%s:%d:%d' % (g['where']['file'].rsplit('/',1)[-1], g['where']['line'], g['count']) for g in d['scenarios'][0]['groups'])")"
  db="$(line_of PLACE-DB)" wal="$(line_of PLACE-WAL)" tr="$(line_of PLACE-TRACE)"
  python3 - "$got" "$db" "$wal" "$tr" <<'PY' && ok "four groups at three places, largest first: $got" || bad "groups: $got"
import sys
got = [g.split(":") for g in sys.argv[1].split()]
lines = sorted(int(l) for _, l, _ in got)
counts = [int(c) for _, _, c in got]
db, wal, tr = map(int, sys.argv[2:5])
assert all(f == "places.py" for f, _, _ in got), got
assert lines == sorted([db, wal, wal, tr]), (lines, db, wal, tr)
assert counts == sorted(counts, reverse=True), counts
PY
  grep -q ' x file [^ ]*/store-\*\.db, opened in attempts [0-9]* to [0-9]*, at Store.__init__ (' "$T/terminal" \
    && ok "the terminal groups the store" || bad "no store group in the terminal"
  has "$T/terminal" "groups and places counted" "leaked fds in 4 groups from 3 places:"
  has "$T/terminal" "the terminal names the place" "at Store.__init__ ("
  n="$(grep -c '^    [0-9]) ' "$T/terminal")"
  [ "$n" = 4 ] && ok "one line per group" || bad "group lines: $n"
  # `fdsoak report` re-renders the same groups, without running anything.
  expect_rc 1 "report re-renders a results directory" "$FDSOAK" report --svg "$T/again.svg" "$T/r"
  grep '^    [0-9]) ' "$T/terminal" >"$T/g1"
  grep '^    [0-9]) ' "$T/out" >"$T/g2"
  cmp -s "$T/g1" "$T/g2" && ok "the same groups as after the soak" || bad "report's groups differ: $(diff "$T/g1" "$T/g2")"
  has "$T/again.svg" "the SVG's axis is attempts" ">attempts</text>"
  python3 -c "import sys, xml.etree.ElementTree as E; E.parse(sys.argv[1])" "$T/again.svg" \
    && ok "the SVG parses" || bad "the SVG does not parse"
  # Bad input: a clear message and exit 2, never a hang on a FIFO.
  expect_rc 2 "report: no directory" "$FDSOAK" report
  expect_rc 2 "report: a missing directory" "$FDSOAK" report "$T/nope"
  mkdir "$T/fifo" && mkfifo "$T/fifo/summary.json"
  expect_rc 2 "report: a FIFO for summary.json" timeout 10 "$FDSOAK" report "$T/fifo"
  mkdir "$T/junk" && echo '{"verdict": [' >"$T/junk/summary.json"
  expect_rc 2 "report: not JSON" "$FDSOAK" report "$T/junk"
  has "$T/err" "says what is wrong" "not a summary fdsoak wrote"
  expect_rc 2 "report: a bad --max-bytes" "$FDSOAK" report --max-bytes 12 "$T/r"
  ;;
sarif)
  if ! python3 -c "import jsonschema" 2>/dev/null; then
    [ -n "${CI:-}" ] && fail "python3-jsonschema is not installed, and CI must have it (ci/bootstrap)"
    skip "python3-jsonschema is not installed"
  fi
  need git
  # The program in a git checkout, soaked from inside it.
  mkdir -p "$T/repo/svc"
  cp "$HERE/places.py" "$T/repo/svc/places.py"
  git -C "$T/repo" init -q
  cd "$T/repo/svc" || exit 1
  expect_rc 1 "watch --sarif" env -u GITHUB_WORKSPACE "$FDSOAK" watch --inject "$SPEC" --cycles 60 \
    --warmup 10 --out "$T/r" --sarif "$T/w.sarif" -q -- python3 places.py "$T/truth.log"
  cd "$T" || exit 1
  # From outside the checkout, GITHUB_WORKSPACE names it.
  expect_rc 1 "report --sarif (GITHUB_WORKSPACE)" env GITHUB_WORKSPACE="$T/repo" "$FDSOAK" report -q \
    --sarif "$T/r.sarif" "$T/r"
  expect_rc 1 "report --sarif outside any checkout" env -u GITHUB_WORKSPACE "$FDSOAK" report -q \
    --sarif "$T/abs.sarif" "$T/r"
  for f in w r abs; do
    python3 - "$HERE/sarif-schema-2.1.0.json" "$T/$f.sarif" <<'PY' && ok "$f.sarif is valid SARIF 2.1.0" || bad "$f.sarif is not valid SARIF"
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
doc = json.load(open(sys.argv[2], encoding="utf-8"))
jsonschema.Draft4Validator.check_schema(schema)
errors = list(jsonschema.Draft4Validator(schema).iter_errors(doc))
for e in errors[:5]:
    print("  %s at %s" % (e.message, list(e.path)), file=sys.stderr)
sys.exit(1 if errors else 0)
PY
  done
  db="$(line_of PLACE-DB)" wal="$(line_of PLACE-WAL)" tr="$(line_of PLACE-TRACE)"
  for f in w r; do
    python3 - "$T/$f.sarif" "$db" "$wal" "$tr" "$T/repo" <<'PY' && ok "$f.sarif: one result per group at svc/places.py, relative to the checkout" || bad "$f.sarif locations"
import json, sys
d = json.load(open(sys.argv[1]))
lines = set(map(int, sys.argv[2:5]))
run = d["runs"][0]
res = run["results"]
assert len(res) == 4, len(res)
for r in res:
    loc = r["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"]["uri"] == "svc/places.py", loc
    assert loc["artifactLocation"]["uriBaseId"] == "SRCROOT", loc
    assert loc["region"]["startLine"] in lines, loc
    assert " x file " in r["message"]["text"], r["message"]
    flow = r["codeFlows"][0]["threadFlows"][0]["locations"]
    assert flow[-1]["location"]["physicalLocation"]["region"]["startLine"] == loc["region"]["startLine"]
assert run["originalUriBaseIds"]["SRCROOT"]["uri"] == "file://" + sys.argv[5] + "/", run["originalUriBaseIds"]
PY
  done
  has "$T/abs.sarif" "outside a checkout: an absolute file URI" "\"uri\":	\"file://$T/repo/svc/places.py\""
  ;;
*)
  echo "usage: e2e.sh exact|sarif FDSOAK" >&2
  exit 2
  ;;
esac
finish
