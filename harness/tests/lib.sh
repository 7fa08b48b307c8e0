# lib.sh - what the harness's shell tests share.  Source it after setting T,
# the scratch directory the test made for itself:
#
#   ok MSG, bad MSG           one line each; bad counts in $fails
#   expect_rc WANT DESC CMD   run CMD (stdout to $T/out, stderr to $T/err) and
#                             check its exit code; on a wrong one, show the
#                             tail of both
#   has FILE DESC STRING      FILE contains STRING (a fixed string)
#   json FILE EXPR            print a Python expression over d, FILE's JSON
#   finish                    "N failed", and the test's exit status
fails=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
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
finish() {
  echo "$fails failed"
  [ "$fails" -eq 0 ]
}
