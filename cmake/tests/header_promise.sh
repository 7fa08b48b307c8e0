#!/bin/sh
# header_promise.sh BUILD_DIR - every installed header declares only what
# its own library defines.
#
# `cmake --install` into a scratch prefix, then for each installed header a
# program that takes the address of every function and variable the header
# declares (read with universal-ctags), linked against that header's
# library alone (and the system libraries it needs): a declaration its
# library lacks is an undefined reference.  Seen failing when inj.h still
# declared inj_lang_register, which only the shim defines.
set -eu
build=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../../ci/testlib.sh"
need ctags cc pkg-config
tmp=$(mktemp -d "${TMPDIR:-/tmp}/fdsoak-headers.XXXXXX")
trap '[ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT INT TERM
prefix=$tmp/prefix
cmake --install "$build" --prefix "$prefix" >/dev/null
inc=$prefix/include/fdsoak
lib=$prefix/lib
sys="$(pkg-config --libs libuv sqlite3 libcjson) -lpthread -lm"

# header -> what to link it with (its library; fsk builds on inj_spec).
promise() { # header libs...
  h=$1
  shift
  [ -r "$inc/$h" ] || { bad "$h is not installed"; return; }
  # As a program sees it (preprocessed: what #ifdef GW_REGRESS hides is not
  # declared), its own names only (its prefix, not libc's or libuv's).
  pfx=$(printf '%s' "$h" | sed 's/[_.].*//')
  echo "#include \"$h\"" | cc -std=gnu11 -E -P -I"$inc" - >"$tmp/${h%.h}.i"
  names=$(ctags -x --kinds-C=px --language-force=C --output-format=xref -f - "$tmp/${h%.h}.i" |
    awk -v p="${pfx}_" 'index($1, p) == 1 { print $1 }' | sort -u)
  n=$(printf '%s\n' "$names" | grep -c . || true)
  [ "$n" -gt 0 ] || { bad "$h: no declaration read"; return; }
  {
    echo "#include \"$h\""
    echo "static const void *const refs[] = {"
    for s in $names; do echo "  (const void *)&$s,"; done
    echo "};"
    echo "int main(void) { return refs[0] == 0; }"
  } >"$tmp/${h%.h}.c"
  if cc -std=gnu11 -I"$inc" "$tmp/${h%.h}.c" -o "$tmp/${h%.h}" "$@" $sys 2>"$tmp/${h%.h}.err"; then
    ok "$h: its $n functions and variables link against $*"
  else
    if grep -q "undefined reference" "$tmp/${h%.h}.err"; then
      grep -o "undefined reference to [^ ]*" "$tmp/${h%.h}.err" | sort -u | sed "s|^|  $h: |"
      bad "$h declares what $* does not define"
    else
      sed 's/^/  | /' "$tmp/${h%.h}.err" | head -20
      bad "$h: the program taking every declaration's address did not build"
    fi
  fi
}
promise inj.h "$lib/libinj_spec.a"
promise gw.h "$lib/libgw.a"
promise fsk.h "$lib/libfsk.a" "$lib/libinj_spec.a"
promise inj_lang.h "$lib/fdsoak/libfdsoak-inject.so.0"
finish
