#!/bin/sh
# The .debs: `cpack -G DEB` on this build makes fdsoak and libfdsoak-dev;
# their declared dependencies, their contents (dpkg -c: headers and static
# libraries only in -dev, man pages gzipped, the regress worker under
# libexec), lintian with no tag but the overrides of cmake/debian/ (each
# explained there), and the extracted tree (dpkg -x into a scratch root)
# soaking a leaky loop with the shim it carries.  Exit 77 (skipped) without
# dpkg-deb or lintian, outside CI.
#
#   package_deb.sh BUILD_DIR
set -eu
build=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../../ci/testlib.sh"
need dpkg-deb cpack lintian
tmp=$(mktemp -d "${TMPDIR:-/tmp}/fdsoak-deb.XXXXXX")
trap '[ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT INT TERM

cpack -G DEB --config "$build/CPackConfig.cmake" -B "$tmp/out" >"$tmp/cpack.log" 2>&1 \
  || { cat "$tmp/cpack.log" >&2; fail "cpack -G DEB failed"; }
deb=$(ls "$tmp"/out/fdsoak_*.deb)
dev=$(ls "$tmp"/out/libfdsoak-dev_*.deb)
echo "package_deb: $(basename "$deb") $(basename "$dev")"
depends=$(dpkg-deb -f "$deb" Depends)
echo "Depends: $depends"
for p in libc6 libuv1 libsqlite3-0 libcjson1 libyaml-0-2 libdw1; do
  echo "$depends" | grep -q "\\b$p\\b" || fail "Depends lacks $p: $depends"
done
dpkg-deb -f "$dev" Depends | grep -q "fdsoak (= " || fail "libfdsoak-dev does not depend on fdsoak"
dpkg -c "$deb" > "$tmp/contents"
dpkg -c "$dev" > "$tmp/contents-dev"
cat "$tmp/contents" "$tmp/contents-dev"
for f in ./usr/bin/fdsoak ./usr/libexec/fdsoak/fdsoak-regress ./usr/bin/fdsoak-gateway \
         ./usr/bin/fdsoak-platformd ./usr/lib/fdsoak/libfdsoak-inject.so.0 \
         ./usr/share/man/man1/fdsoak.1.gz ./usr/share/man/man7/fdsoak-inject.7.gz \
         ./usr/share/doc/fdsoak/copyright ./usr/share/fdsoak/lang/node/fdsoak-origins.js ./usr/lib/fdsoak/libfdsoak-py311.so; do
  grep -q " $f\\( \\|$\\)" "$tmp/contents" || fail "$f is not in fdsoak"
done
for f in ./usr/include/fdsoak/gw.h ./usr/include/fdsoak/inj.h ./usr/include/fdsoak/inj_lang.h \
         ./usr/lib/libgw.a ./usr/lib/libinj_spec.a ./usr/lib/libfsk.a ./usr/lib/pkgconfig/fdsoak.pc \
         ./usr/lib/cmake/fdsoak/fdsoakConfig.cmake ./usr/share/doc/libfdsoak-dev/copyright; do
  grep -q " $f\\( \\|$\\)" "$tmp/contents-dev" || fail "$f is not in libfdsoak-dev"
done
# Split as Debian splits a library: nothing to build with in the runtime
# package, no program in -dev, no man page left uncompressed.
! grep -E '\.(h|a)$|pkgconfig|/cmake/' "$tmp/contents" || fail "fdsoak carries development files"
! grep -E '/bin/|/libexec/' "$tmp/contents-dev" || fail "libfdsoak-dev carries programs"
! grep -E '/man/man[0-9]/[^ ]*\.[0-9]$' "$tmp/contents" || fail "a man page is not gzipped"
# lintian: no error and no warning, bar the overrides the packages carry
# (cmake/debian/*.lintian-overrides, each with its reason).
lintian --fail-on error,warning "$deb" "$dev" >"$tmp/lintian" 2>&1 ||
  { cat "$tmp/lintian"; fail "lintian found tags"; }
grep -E '^[EW]: ' "$tmp/lintian" && fail "lintian found tags"
echo "lintian: clean (but the overrides in cmake/debian/)"
root=$tmp/root
dpkg -x "$deb" "$root"
dpkg -x "$dev" "$root"
grep -q '^prefix=/usr$' "$root/usr/lib/pkgconfig/fdsoak.pc" || fail "fdsoak.pc's prefix is not /usr"
mkdir "$tmp/work"
cd "$tmp/work"
env -i PATH=/usr/bin:/bin TMPDIR="$tmp" "$root/usr/bin/fdsoak" --version >/dev/null \
  || fail "the packaged fdsoak --version failed"
cat > leaky.py <<'PY'
import socket, sys, time
kept = []
while True:
    s = socket.socket()
    try:
        s.connect(("127.0.0.1", int(sys.argv[1])))
    except OSError:
        kept.append(open("/dev/null"))
    finally:
        s.close()
    time.sleep(0.005)
PY
port=$((47900 + $$ % 90))
set +e
env -i PATH=/usr/bin:/bin TMPDIR="$tmp" "$root/usr/bin/fdsoak" watch \
  --inject "connect:addr=127.0.0.1,port=$port:do=refuse" --cycles 30 --warmup 5 -q \
  --out "$tmp/work/watch" -- python3 leaky.py "$port" >/dev/null 2>"$tmp/watch.err"
rc=$?
set -e
[ "$rc" = 1 ] || { cat "$tmp/watch.err" >&2; fail "the packaged fdsoak watch exited $rc on a leak, not 1"; }
echo "package_deb: ok"
