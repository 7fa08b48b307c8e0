#!/bin/sh
# ci/lint-workflows: the hosted workflow and action.yml pass; deliberately
# broken copies of each fail, each naming what is wrong.
set -u
SRC="$(cd "$(dirname "$0")/../.." && pwd)"
LINT="$SRC/ci/lint-workflows"
T="$(mktemp -d /tmp/fsk-lint-XXXXXX)"
trap 'rm -rf "$T"' EXIT
. "$SRC/harness/tests/lib.sh"

"$LINT" >"$T/out" 2>&1 && ok "ci/github-workflow.yml and action.yml pass" || { bad "the real files fail"; cat "$T/out"; }

broken() { # broken NAME SOURCE EXPECTED-TEXT PYTHON-EDIT (over the text s)
  python3 - "$2" "$T/$1.yml" "$4" <<'PY'
import sys
s = open(sys.argv[1]).read()
exec(sys.argv[3])
open(sys.argv[2], "w").write(s)
PY
  if "$LINT" "$T/$1.yml" >"$T/out" 2>&1; then
    bad "$1: a broken copy passes"
  elif grep -qF -- "$3" "$T/out"; then
    ok "$1: fails, naming '$3'"
  else
    bad "$1: fails without naming '$3'"; cat "$T/out"
  fi
}
WF="$SRC/ci/github-workflow.yml"
AC="$SRC/action.yml"
broken needs-unknown "$WF" "needs 'soaks', which is not a job" 's = s.replace("needs: soak", "needs: soaks")'
broken run-and-uses "$WF" "exactly one of run: or uses:" 's = s.replace("      - uses: actions/checkout@v4\n", "      - uses: actions/checkout@v4\n        run: echo twice\n", 1)'
broken bad-matrix "$WF" "matrix.adaptor is not in this job's matrix" 's = s.replace("matrix.adapter", "matrix.adaptor", 1)'
broken unpinned "$WF" "is not OWNER/REPO" 's = s.replace("actions/download-artifact@v4", "actions/download-artifact")'
broken no-runs-on "$WF" "no runs-on" 's = s.replace("  gate:\n    # Judge", "  gate:\n    # Judge").replace("    needs: soak\n    if: always()\n    runs-on: ubuntu-latest\n", "    needs: soak\n    if: always()\n")'
broken unclosed "$WF" "unclosed" 's = s.replace("${{ matrix.build }})", "${{ matrix.build })", 1)'
broken yaml-syntax "$WF" "syntax" 's = s.replace("    runs-on: ubuntu-latest\n", "    runs-on: [ubuntu-latest\n", 1)'
broken typo-key "$WF" "unknown step key 'wiht'" 's = s.replace("        with:\n          pattern:", "        wiht:\n          pattern:")'
broken no-shell "$AC" "needs shell:" 's = s.replace("    - name: soak\n      id: soak\n      shell: bash\n", "    - name: soak\n      id: soak\n")'
broken bad-input "$AC" "inputs.cycle is not a declared input" 's = s.replace("${{ inputs.cycles }}", "${{ inputs.cycle }}")'
broken bad-step-id "$AC" "steps.soaked" 's = s.replace("${{ steps.soak.outputs.exit-code }}\n        FDSOAK_FAIL", "${{ steps.soaked.outputs.exit-code }}\n        FDSOAK_FAIL")'
broken not-composite "$AC" "using: must be composite" 's = s.replace("using: composite", "using: node20")'

finish
