#!/bin/sh
# layering.sh OBJECT... - the layers' calls go one way only.
#
# The adapter base (core/adapter.c) reaches whoever runs it through the host
# interface of core/internal.h and never calls the runner: the runner calls
# the base, not the other way round.  infra/ knows nothing of adapters or
# the runner.  Checked on the compiled objects (undefined symbols), so a
# call that hides behind a macro is still seen.
set -eu
found=0
fail=0
for o in "$@"; do
  case "$o" in
  */core/adapter.c.o)
    found=$((found + 1))
    if nm -u "$o" | grep -E 'gw_runner_|gw__runner' ; then
      echo "layering: $o calls the runner"; fail=1
    fi ;;
  */infra/*.c.o)
    found=$((found + 1))
    if nm -u "$o" | grep -E 'gw_(runner|adapter)_' ; then
      echo "layering: $o (infrastructure) calls the runner or an adapter"; fail=1
    fi ;;
  esac
done
# Nothing checked would pass for the wrong reason.
if [ "$found" -lt 2 ]; then
  echo "layering: the objects of core/adapter.c and infra/ were not given"; exit 1
fi
[ "$fail" -eq 0 ] && echo "layering: $found objects checked, calls go one way"
exit "$fail"
