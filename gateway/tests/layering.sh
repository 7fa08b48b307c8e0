#!/bin/sh
# layering.sh OBJECT... - the layers' calls go one way only.
#
# The adapter base (core/adapter.c) reaches whoever runs it through the host
# interface of core/internal.h and never calls the runner: the runner calls
# the base, not the other way round.  infra/ knows nothing of adapters or
# the runner.  Checked on the compiled objects (undefined symbols), so a
# call that hides behind a macro is still seen.  The circle check was seen
# failing on adapter_api.c and routes.c calling each other (gw__api_log one
# way, gw__api_fd_limits the other).
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
# And no circle anywhere in the library: two sources that reach each other
# through their calls (directly or round a longer loop) are one unit in
# two files.  The closure of "calls a name defined in" over all objects.
for o in "$@"; do
  nm -g --defined-only "$o" | awk -v o="$o" 'NF == 3 { print "D", $3, o }'
  nm -u "$o" | awk -v o="$o" '{ print "U", $2, o }'
done | awk '
  $1 == "D" { def[$2] = $3; obj[$3] = 1; next }
  { use[NR] = $2; user[NR] = $3; obj[$3] = 1 }
  END {
    for (k in use)
      if ((use[k] in def) && def[use[k]] != user[k]) {
        r[user[k], def[use[k]]] = 1
        via[user[k], def[use[k]]] = use[k]
      }
    for (m in obj) for (i in obj) if ((i, m) in r) for (j in obj) if ((m, j) in r) r[i, j] = 1
    bad = 0
    for (i in obj) for (j in obj)
      if (i < j && ((i, j) in r) && ((j, i) in r)) {
        printf "layering: circle: %s and %s reach each other", i, j
        if ((i, j) in via && (j, i) in via) printf " (%s, %s)", via[i, j], via[j, i]
        printf "\n"; bad = 1
      }
    exit bad
  }' || fail=1
[ "$fail" -eq 0 ] && echo "layering: $found objects checked, calls go one way, no circle"
exit "$fail"
