#!/bin/sh
# layering.sh OBJECT... - the shim's units call down only.
#
# Each unit of libfdsoak-inject.so has a floor; a unit may call a name that
# another unit defines only when that unit stands on a lower floor.  So the
# hooks (the top) call everyone and nobody calls them, and vtime.c and
# spec.c (the ground) call nothing of the shim.  Checked on the compiled objects
# (nm: the names each one defines and the names it leaves undefined), so a
# call hidden behind a macro or an X-macro is still seen.  Seen failing on
# the layout before base.c (control, decide, log and track called up into
# hooks.c for the clock, the page, the hot word and the raw open), and on
# base.c and vtime.c calling each other (base reads the clock through the
# clock_gettime vtime.c defines, on purpose: the shim's own schedules run
# in the program's virtual time; vtime printed through inj__say).  vtime.c
# is the ground now, under base.c, and calls nothing of the shim.
set -eu

floor() {
  case "$(basename "$1" .c.o)" in
  hooks) echo 5 ;;
  control | exec) echo 4 ;;
  decide | faults | log | track) echo 3 ;;
  stats | rules | base | sec | unreach) echo 2 ;;
  spec | vtime | unwind) echo 1 ;;
  *) echo 0 ;;
  esac
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

# defs: "symbol object" for every global name an object defines.
n=0
for o in "$@"; do
  if [ "$(floor "$o")" -eq 0 ]; then
    echo "layering: $o has no floor: give its unit one in $0"
    exit 1
  fi
  nm -g --defined-only "$o" | awk -v o="$o" 'NF == 3 { print $3, o }' >>"$tmp/defs"
  n=$((n + 1))
done
# Nothing checked would pass for the wrong reason: the whole shim is given.
if [ "$n" -lt 7 ] || ! grep -q 'hooks\.c\.o$' "$tmp/defs"; then
  echo "layering: give every object of the shim (got $n)"
  exit 1
fi

fail=0
edges=0
for o in "$@"; do
  fo=$(floor "$o")
  # Every name another unit defines, libc's included: a unit below the top
  # that defines clock_gettime or syscall (vtime.c) is called by whoever
  # calls them.  Only the libc names hooks.c defines (open, connect...) are
  # left out: those are the program's calls, which the shim's units make
  # too, each behind the re-entry guard.
  for s in $(nm -u "$o" | awk '{ print $2 }'); do
    d=$(awk -v s="$s" '$1 == s { print $2; exit }' "$tmp/defs")
    [ -n "$d" ] && [ "$d" != "$o" ] || continue
    case "$(basename "$d"):$s" in hooks.c.o:inj_* | hooks.c.o:real_*) ;; hooks.c.o:*) continue ;; esac
    edges=$((edges + 1))
    if [ "$(floor "$d")" -ge "$fo" ]; then
      echo "layering: $(basename "$o" .o) (floor $fo) calls $s of $(basename "$d" .o) (floor $(floor "$d"))"
      fail=1
    fi
  done
done
[ "$fail" -eq 0 ] && echo "layering: $n objects, $edges calls between them, all going down"
exit "$fail"
