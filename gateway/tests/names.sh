#!/bin/sh
# names.sh LIBGW GW_H - gw_ means public and gw__ means internal.
#
# Every global symbol libgw.a defines is either declared in gw.h (and named
# gw_), or named gw__ (internal to the gateway), or belongs to the vendored
# llhttp (names starting __ are the compiler's).  A new function that forgot its prefix, or a gw_ one that gw.h does
# not declare, fails here.
set -eu
lib=$1
hdr=$2
syms=$(nm -g --defined-only "$lib" | awk 'NF == 3 { print $3 }' | sort -u)
n=0
bad=0
for s in $syms; do
  n=$((n + 1))
  case "$s" in
  gw__*) ;;
  llhttp_* | llhttp__*) ;;
  __*) ;; # reserved names: the compiler's and the sanitizers' own (__odr_asan...)
  gw_*)
    if ! grep -qw "$s" "$hdr"; then
      echo "names: $s is gw_ (public) but gw.h does not declare it"
      bad=1
    fi ;;
  *)
    echo "names: $s has neither prefix (gw_ in gw.h, gw__ internal)"
    bad=1 ;;
  esac
done
[ "$n" -gt 50 ] || { echo "names: only $n symbols in $lib: not the gateway library?"; exit 1; }
[ "$bad" -eq 0 ] && echo "names: $n symbols, each gw_ in gw.h or gw__"
exit "$bad"
