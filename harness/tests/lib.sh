# lib.sh - the harness's shell tests source this (after setting T, their
# scratch directory, and HERE or SRC); it is the tree's one test library,
# ci/testlib.sh, found from this directory.
_lib=""
for _d in "${HERE:-}" "${SRC:+$SRC/harness/tests}" "$(dirname "$0")"; do
  if [ -n "$_d" ] && [ -r "$_d/../../ci/testlib.sh" ]; then
    _lib="$_d/../../ci/testlib.sh"
    break
  fi
done
[ -n "$_lib" ] || { echo "lib.sh: ci/testlib.sh not found (set HERE or SRC)" >&2; exit 2; }
. "$_lib"
