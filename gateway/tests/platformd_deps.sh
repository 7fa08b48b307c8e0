#!/bin/sh
# platformd_deps.sh BINARY - fdsoak-platformd links the wire codec and
# core/util.c, and nothing else of the gateway (issue 13: it used to link
# all of libgw for the codec).
#
# Passes when the binary's defined gw symbols are exactly the codec's and
# util.c's -- an allowlist, so a new dependency on the core shows up by
# name -- the codec's parser is among them (a stripped binary cannot pass
# for a clean one), and libsqlite3 is neither linked nor needed.
set -u
bin=$1
allowed='gw__plat_(parse|format|linebuf_init|linebuf_feed)|gw__strlcpy|gw__process_guard|gw__grow'

# A compiler's clones of a function (.cold, .part.N, .isra.N, .constprop.N:
# GCC splits them off at -O2 and under the sanitizers) are that function.
defined=$(nm --defined-only "$bin" | awk '{print $3}' | grep -E '^gw_' | sed 's/\..*//' | sort -u)
if ! printf '%s\n' "$defined" | grep -qx 'gw__plat_parse'; then
  echo "FAIL: $bin defines no gw__plat_parse (stripped, or the codec is gone?)"
  exit 1
fi
extra=$(printf '%s\n' "$defined" | grep -Evx "$allowed")
if [ -n "$extra" ]; then
  echo "FAIL: $bin carries gateway symbols beyond the codec and util.c:"
  printf '  %s\n' $extra
  exit 1
fi
if nm "$bin" | grep -qi sqlite3 || { command -v ldd >/dev/null && ldd "$bin" | grep -q sqlite; }; then
  echo "FAIL: $bin needs libsqlite3"
  exit 1
fi
echo "ok: $bin defines only:" $defined
