#!/bin/sh
# Every file fdsoak writes is valid for its format, and nothing the target
# names can take over a terminal or a report (issue 24's output rows).
# hostile.py leaks files whose names hold a terminal escape, HTML,
# markdown, a pipe, a backtick, a newline with a fake heading and a byte
# that is not UTF-8; it runs from a folder whose name is not UTF-8, under
# a name of the same kind.
#
#   hostile.sh soak BUILD_DIR OUT   the soaks (a CTest fixture): OUT/direct
#                                   (fdsoak watch, its terminal output), OUT/action
#                                   (the action's soak step and job summary),
#                                   OUT/gate (report.md over a results
#                                   directory with a hostile name)
#   hostile.sh CHECK OUT            utf8 | term | markdown | size | heading
set -u
HERE="$(cd "$(dirname "$0")" && pwd)"
SRC="$(cd "$HERE/../../.." && pwd)"
case_="$1"
shift
T="$(mktemp -d /tmp/fsk-hostile-XXXXXX)"
trap 'rm -rf "$T"' EXIT
. "$HERE/../lib.sh"
SPEC="connect:addr=127.0.0.1,port=27393:do=errno(ECONNREFUSED)"

if [ "$case_" = soak ]; then
  BUILD="$(cd "$1" && pwd)"
  OUT="$2"
  rm -rf "$OUT"
  mkdir -p "$OUT"
  # A folder named café and a byte that is not UTF-8; a program named with
  # an escape sequence and HTML.
  dir="$OUT/$(printf 'caf\303\251-\377')"
  prog="$dir/$(printf 'p\033[31m<b>\377.py')"
  mkdir -p "$dir"
  cp "$HERE/hostile.py" "$prog"
  chmod +x "$prog"
  "$BUILD/bin/fdsoak" watch --inject "$SPEC" --cycles 60 --warmup 10 --out "$OUT/direct" \
    -- "$prog" >"$OUT/terminal.txt" 2>"$OUT/terminal.err"
  echo "direct: exit $?"
  res="$OUT/$(printf 'res-<img src=x onerror=alert(1)>-|`-\377')"
  cp -r "$OUT/direct" "$res"
  "$BUILD/bin/fdsoak" gate --baseline "$SRC/results/baseline.json" --report "$OUT/gate/report.md" \
    "$res" >"$OUT/gate.out" 2>&1
  echo "gate: exit $?"
  "$BUILD/bin/fdsoak" report "$OUT/direct" >"$OUT/report.txt" 2>&1
  echo "report: exit $?"
  (cd "$dir" && env FDSOAK_BUILD_DIR="$BUILD" FDSOAK_VERB=watch \
    FDSOAK_COMMAND="python3 \"$prog\" --noisy" FDSOAK_INJECT="$SPEC" FDSOAK_CYCLES=60 \
    FDSOAK_WARMUP=10 FDSOAK_OUT="$OUT/action" GITHUB_STEP_SUMMARY="$OUT/summary.md" \
    GITHUB_OUTPUT="$OUT/gh_out" "$SRC/ci/action-run" soak >"$OUT/action.log" 2>&1)
  echo "action soak: exit $?"
  [ -s "$OUT/direct/summary.json" ] && [ -s "$OUT/action/summary.json" ] && [ -s "$OUT/summary.md" ]
  exit $?
fi

OUT="$1"
case "$case_" in
utf8)
  # Every file fdsoak wrote decodes as UTF-8 and parses as its format.
  for f in "$OUT"/direct/summary.json "$OUT"/action/summary.json "$OUT"/direct/junit.xml \
    "$OUT"/direct/fd-soak.svg "$OUT"/direct/series.csv "$OUT"/gate/report.md "$OUT"/gate/report.svg \
    "$OUT"/summary.md; do
    python3 - "$f" <<'PY' && ok "$(basename "$f") is valid" || bad "$(basename "$f") is not valid"
import json, sys, xml.etree.ElementTree as E
f = sys.argv[1]
text = open(f, "rb").read().decode("utf-8")  # strict
if f.endswith(".json"):
    json.loads(text)
elif f.endswith((".xml", ".svg")):
    E.fromstring(text.encode("utf-8"))
PY
  done
  # The hostile names are there, made valid (U+FFFD), not dropped.
  grep -q 'onerror' "$OUT/direct/summary.json" && grep -q "$(printf '\357\277\275')" "$OUT/direct/summary.json" \
    && ok "the names are kept, the stray byte replaced" || bad "the names are missing"
  ;;
term)
  # fdsoak's terminal output (watch, report) shows escapes as text.
  for f in "$OUT/terminal.txt" "$OUT/report.txt"; do
    python3 - "$f" <<'PY' && ok "$(basename "$f"): no control character or stray byte" || bad "$(basename "$f") sends raw escapes"
import sys
text = open(sys.argv[1], "rb").read()
text.decode("utf-8")  # strict: no stray byte reaches the terminal
bad = [c for c in text if (c < 0x20 and c not in (9, 10)) or c == 0x7f]
if bad:
    print("  control bytes: %r" % sorted(set(bad)), file=sys.stderr)
    sys.exit(1)
if b"\\x1b[2J" not in text:
    print("  the escape is not shown as text", file=sys.stderr)
    sys.exit(1)
PY
  done
  ;;
markdown)
  # No HTML, link, image or broken table from a name in report.md or the
  # job summary.
  for f in "$OUT/gate/report.md" "$OUT/summary.md"; do
    python3 - "$f" <<'PY' && ok "$(basename "$f"): every name escaped" || bad "$(basename "$f"): injection"
import re, sys
text = open(sys.argv[1], "rb").read().decode("utf-8", "replace")
# Outside fenced code blocks (the program's own output is fenced).
out, fence = [], None
for line in text.split("\n"):
    m = re.match(r"^(`{3,}|~{3,})", line)
    if fence is None and m:
        fence = m.group(1)
        continue
    if fence is not None:
        if line.startswith(fence[0] * len(fence)) and line.strip(fence[0]) == "":
            fence = None
        continue
    out.append(line)
body = "\n".join(out)
problems = []
if "<img" in body or "onerror=alert(1)>" in body:
    problems.append("raw HTML")
if "\x1b" in body:
    problems.append("an escape")
if not ("&lt;img" in body):
    problems.append("the hostile name is not shown")
for line in out:
    if line.startswith("|"):
        cells = len(re.findall(r"(?<!\\)\|", line))
        if cells != 7:
            problems.append("a table row with %d pipes: %s" % (cells, line[:200]))
if problems:
    print("  " + "; ".join(problems[:4]), file=sys.stderr)
    sys.exit(1)
PY
  done
  ;;
size)
  n="$(wc -c <"$OUT/summary.md")"
  [ "$n" -le 1048576 ] && ok "job summary: $n bytes, within GitHub's 1 MiB" || bad "job summary: $n bytes"
  grep -q "leaked fds" "$OUT/summary.md" && ok "it still names the leak" || bad "the leak is not in it"
  o="$(wc -c <"$OUT/action/fdsoak.txt")"
  [ "$o" -gt 1048576 ] && ok "(the program printed $o bytes)" || bad "the program printed only $o bytes"
  ;;
heading)
  python3 - "$OUT/summary.md" <<'PY' && ok "one heading, the real one" || bad "the program's output faked a heading"
import re, sys
text = open(sys.argv[1], "rb").read().decode("utf-8", "replace")
heads, fence = [], None
for line in text.split("\n"):
    m = re.match(r"^ {0,3}(`{3,}|~{3,})", line)
    if fence is None and m:
        fence = m.group(1)
        continue
    if fence is not None:
        s = line.strip()
        if s and set(s) == {fence[0]} and len(s) >= len(fence):
            fence = None
        continue
    if re.match(r"^ {0,3}#{1,6} ", line):
        heads.append(line)
print("  headings: %r" % heads, file=sys.stderr)
sys.exit(0 if len(heads) == 1 and "leak" in heads[0] else 1)
PY
  ;;
*)
  echo "usage: hostile.sh soak BUILD OUT | hostile.sh utf8|term|markdown|size|heading OUT" >&2
  exit 2
  ;;
esac
finish
