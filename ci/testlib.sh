# ci/testlib.sh - the one library every shell test of the tree sources
# (gateway/, fault-injection/, harness/, cmake/).  POSIX sh.
#
#   ok MSG, bad MSG           one line each; bad counts a failure in $fails
#                             and the test goes on
#   fail MSG                  a failure the test cannot go on from: prints
#                             it, runs fail_hook if the test defined one
#                             (to show its logs), and exits 1
#   finish                    "N failed", and the test's exit status
#   need TOOL...              each TOOL is on PATH, else the test is
#                             skipped: exit 77, which CTest reports as
#                             skipped when the test sets SKIP_RETURN_CODE
#                             77.  Under CI (CI set, as hosted CI runners
#                             and ci/test do) a missing tool fails instead:
#                             a CI machine that lacks one must not pass
#                             quietly.
#   skip REASON               skipped for another reason (77; under CI too:
#                             use it only for what CI cannot provide)
#   expect_rc WANT DESC CMD   run CMD (stdout to $T/out, stderr to $T/err)
#                             and check its exit code; on a wrong one, show
#                             the tail of both (needs T, a scratch directory)
#   has FILE DESC STRING      FILE contains STRING (a fixed string)
#   json FILE EXPR            print a Python expression over d, FILE's JSON
fails=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
fail() {
  echo "FAIL: $*" >&2
  if command -v fail_hook >/dev/null 2>&1; then fail_hook >&2 || true; fi
  exit 1
}
finish() {
  echo "$fails failed"
  [ "$fails" -eq 0 ]
}
skip() {
  echo "SKIP: $*"
  exit 77
}
need() {
  for _tool in "$@"; do
    command -v "$_tool" >/dev/null 2>&1 && continue
    if [ -n "${CI:-}" ]; then
      fail "$_tool is not installed, and CI must have it (ci/bootstrap)"
    fi
    skip "$_tool is not installed"
  done
}
expect_rc() { # expect_rc WANT DESC CMD...
  want="$1"; desc="$2"; shift 2
  "$@" >"$T/out" 2>"$T/err"; rc=$?
  if [ "$rc" -eq "$want" ]; then ok "$desc (exit $rc)"; else
    bad "$desc: exit $rc, want $want"; sed 's/^/  | /' "$T/out" "$T/err" | tail -30; fi
}
has() { # has FILE DESC FIXED-STRING
  grep -qF -- "$3" "$1" && ok "$2" || { bad "$2: no '$3' in $1"; sed 's/^/  | /' "$1" | head -40; }
}
json() { # json FILE PYTHON-EXPR-over-d
  python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"
}
