#!/bin/sh
# no_scaffolding.sh LIBGW GW_H PRODUCT_OBJECT... - the product carries no
# code and no field that only tests use.
#
# 1. Every internal (gw__) function or variable libgw.a defines is called by
#    some product code: another object of libgw.a, or one of the product's
#    other objects given (the regress core, the daemon, the peer, the
#    harness), or its own source file (a unit-tested helper).  One that only
#    the tests call belongs in the test library (gw_testing), one that
#    nothing calls, nowhere.  nm, so a call behind a macro is still seen.
# 2. The public config (gw_platform_config_t in gw.h) has no field for the
#    test adapter (its script is set through gw_testing.h).
# Seen failing on the tree before the scaffolding left: gw__plat_stats,
# gw__api_adapter_requests and _connections (tests only), gw__ledger_count
# (nothing), and the config's `script`.
set -eu
lib=$1
hdr=$2
srcdir=$(dirname "$(dirname "$hdr")") # gateway/, from gateway/include/gw.h
shift 2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

nm -g --defined-only "$lib" | awk 'NF == 3 && $3 ~ /^gw__/ { print $3 }' | sort -u >"$tmp/defined"
# Who uses what: "symbol object" for the library's members and the others.
nm -u "$lib" "$@" 2>/dev/null | awk '
  /:$/ { obj = $0; next }
  $1 == "U" { print $2, obj }' >"$tmp/uses"
# homes: "symbol member" for each of them.
nm -A -g --defined-only "$lib" | awk 'NF == 3 { split($1, p, ":"); print $3, p[2] }' >"$tmp/homes"
n=$(wc -l <"$tmp/defined")
[ "$n" -gt 20 ] || { echo "no_scaffolding: only $n gw__ symbols in $lib: not libgw?"; exit 1; }
[ "$#" -ge 1 ] || { echo "no_scaffolding: no product objects given besides $lib"; exit 1; }

bad=0
for s in $(cat "$tmp/defined"); do
  # The member that defines s: a use there is the definer's own.
  home=$(awk -v s="$s" '$1 == s { print $2; exit }' "$tmp/homes")
  awk -v s="$s" -v home="$home:" '$1 == s && $2 != home { found = 1 } END { exit !found }' \
    "$tmp/uses" && continue
  # A call inside its own file (maybe inlined, so no symbol is left to see):
  # the source names it more than once.
  src=$(find "$srcdir" -name "${home%.o}" -not -path '*/tests/*' | head -n 1)
  if [ -z "$src" ] || [ "$(grep -c "\b$s\b" "$src")" -lt 2 ]; then
    echo "no_scaffolding: $s ($home) is called by no product code: a test's, or nobody's"
    bad=1
  fi
done
if sed -n '/^typedef struct {/,/} gw_platform_config_t;/p' "$hdr" | grep -q 'script'; then
  echo "no_scaffolding: gw_platform_config_t in gw.h has a 'script' field (the test adapter's)"
  bad=1
fi
[ "$bad" -eq 0 ] && echo "no_scaffolding: $n internal symbols, each used by the product; no test field in the config"
exit "$bad"
