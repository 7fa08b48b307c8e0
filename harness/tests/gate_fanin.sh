#!/bin/sh
# fdsoak gate over a soak spread over machines: complementary, overlapping,
# leaking and incomplete sets of run directories, each judged as a whole,
# with the merged report.md (a row per baseline scenario) and the SVG of
# every scenario's series.  Usage: gate_fanin.sh BUILD_BIN_DIR
set -u
BIN="$(cd "$1" && pwd)"
SRC="$(cd "$(dirname "$0")/../.." && pwd)"
FDSOAK="$BIN/fdsoak"
BASE="$SRC/results/baseline.json"
T="$(mktemp -d /tmp/fsk-fanin-XXXXXX)"
trap 'rm -rf "$T"' EXIT
. "$SRC/harness/tests/lib.sh"
polylines() { grep -c "<polyline" "$1"; }

# Three "machines": the api scenarios, the platform ones, and a leaking one.
"$FDSOAK" run --adapter api --cycles 200 --warmup 20 --out "$T/job-api" -q >/dev/null
"$FDSOAK" run --adapter platform --cycles 200 --warmup 20 --out "$T/job-platform" -q >/dev/null
"$FDSOAK" run --adapter platform --path retryable --cycles 100 --warmup 10 --out "$T/job-retry" -q >/dev/null
"$FDSOAK" run --regress retryable --path retryable --adapter platform --cycles 100 --warmup 10 \
  --out "$T/job-leak" -q >/dev/null
"$FDSOAK" run --adapter platform --path fatal --cycles 100 --warmup 10 --out "$T/job-fatal" -q >/dev/null
"$FDSOAK" run --adapter platform --path exception --cycles 100 --warmup 10 --out "$T/job-exc" -q >/dev/null

# Complementary: passes, one report, a pass row for each of the six.
expect_rc 0 "complementary directories pass" \
  "$FDSOAK" gate --baseline "$BASE" --report "$T/c/report.md" "$T/job-api" "$T/job-platform"
has "$T/c/report.md" "report verdict PASS" "# fdsoak gate: PASS"
[ "$(grep -c '| pass |$' "$T/c/report.md")" = 6 ] && ok "six pass rows" || bad "pass rows: $(cat "$T/c/report.md")"
has "$T/c/report.md" "a row names its directory" "| retryable/platform | <code>$T/job-platform</code> | flat | 7 (7) | 0 | pass |"
has "$T/c/report.md" "the report shows the SVG" "](report.svg)"
[ "$(polylines "$T/c/report.svg")" = 6 ] && ok "one SVG with six series" || bad "SVG series: $(polylines "$T/c/report.svg")"
python3 -c 'import sys, xml.dom.minidom; xml.dom.minidom.parse(sys.argv[1])' "$T/c/report.svg" \
  && ok "the SVG is well-formed XML" || bad "SVG not XML"

# Three platform jobs, one per path, and the api job: still complete.
expect_rc 0 "four jobs, complementary" "$FDSOAK" gate --baseline "$BASE" --report "$T/c4.md" \
  "$T/job-api" "$T/job-fatal" "$T/job-retry" "$T/job-exc"
[ "$(polylines "$T/c4.svg")" = 6 ] && ok "SVG beside c4.md with six series" || bad "c4 SVG"

# Overlapping: a scenario in two jobs fails the whole, and its row says so.
expect_rc 1 "overlapping directories fail" \
  "$FDSOAK" gate --baseline "$BASE" --report "$T/o.md" "$T/job-api" "$T/job-platform" "$T/job-retry"
has "$T/err" "stderr names the overlap" "FAIL retryable/platform: in the results twice"
has "$T/o.md" "report verdict FAIL" "# fdsoak gate: FAIL"
has "$T/o.md" "the overlapping row" "FAIL: also in $T/job-retry: which one counts?"

# Leaking: one leaking part fails the whole; the row has the leak.
expect_rc 1 "a leak in one job fails the whole" "$FDSOAK" gate --baseline "$BASE" --report "$T/l.md" \
  --sarif "$T/l.sarif" "$T/job-api" "$T/job-fatal" "$T/job-leak" "$T/job-exc"
has "$T/l.md" "the leak's groups in the report" "### Leaked fds of retryable/platform"
has "$T/l.md" "a group line" " x file "
json "$T/l.sarif" "sum(' x file ' in r['message']['text'] for r in d['runs'][0]['results'])" | grep -qv '^0$' \
  && ok "gate --sarif: the leak's groups as results" || bad "gate --sarif has no results"
has "$T/l.md" "report verdict FAIL" "# fdsoak gate: FAIL"
grep '^| retryable/platform ' "$T/l.md" > "$T/row"
has "$T/row" "the leaking row: directory and verdict" "| <code>$T/job-leak</code> | leak |"
has "$T/row" "the leaking row: steady count differs" "**differs**"
has "$T/row" "the leaking row: a leaked store file" "platform-retryable.db"
[ "$(grep -c '| pass |$' "$T/l.md")" = 5 ] && ok "the five others pass" || bad "other rows"
grep -q 'font-weight="bold">retryable/platform (leak)' "$T/l.svg" && ok "the SVG marks the leak" || bad "SVG leak legend"

# Incomplete: the missing scenarios are rows of their own.
expect_rc 1 "an incomplete set fails" "$FDSOAK" gate --baseline "$BASE" --report "$T/i.md" \
  "$T/job-api" "$T/job-fatal"
[ "$(grep -c '| missing | - | - (7) | - | FAIL: not in the results' "$T/i.md")" = 2 ] \
  && ok "two missing rows" || bad "missing rows: $(cat "$T/i.md")"
[ "$(polylines "$T/i.svg")" = 4 ] && ok "the SVG has the four that ran" || bad "incomplete SVG"

# A result the baseline does not list is named in the report.
python3 - "$BASE" "$T/five.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); d["scenarios"] = d["scenarios"][:5]; json.dump(d, open(sys.argv[2], "w"))
PY
expect_rc 1 "a result not in the baseline fails" "$FDSOAK" gate --baseline "$T/five.json" --report "$T/u.md" \
  "$T/job-api" "$T/job-platform"
has "$T/u.md" "the unlisted result is named" "- exception/platform in <code>$T/job-platform</code>"
expect_rc 2 "--report needs a file" "$FDSOAK" gate --baseline "$BASE" "$T/job-api" --report

finish
