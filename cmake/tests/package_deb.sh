#!/bin/sh
# The .deb: `cpack -G DEB` on this build, its declared dependencies, its
# contents (dpkg -c), and the extracted tree (dpkg -x into a scratch root)
# soaking a leaky loop with the shim it carries.  Exit 77 (skipped) without
# dpkg-deb, outside CI.
#
#   package_deb.sh BUILD_DIR
set -eu
build=$(cd "$1" && pwd)
. "$(cd "$(dirname "$0")" && pwd)/../../ci/testlib.sh"
need dpkg-deb cpack
tmp=$(mktemp -d "${TMPDIR:-/tmp}/fdsoak-deb.XXXXXX")
trap '[ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT INT TERM

cpack -G DEB --config "$build/CPackConfig.cmake" -B "$tmp/out" >"$tmp/cpack.log" 2>&1 \
  || { cat "$tmp/cpack.log" >&2; fail "cpack -G DEB failed"; }
deb=$(ls "$tmp"/out/fdsoak_*.deb)
echo "package_deb: $(basename "$deb")"
depends=$(dpkg-deb -f "$deb" Depends)
echo "Depends: $depends"
for p in libc6 libuv1 libsqlite3-0 libcjson1 libyaml-0-2 libdw1; do
  echo "$depends" | grep -q "\\b$p\\b" || fail "Depends lacks $p: $depends"
done
dpkg -c "$deb" > "$tmp/contents"
cat "$tmp/contents"
for f in ./usr/bin/fdsoak ./usr/bin/fdsoak-regress ./usr/bin/fdsoak-gateway \
         ./usr/bin/fdsoak-platformd ./usr/lib/libfdsoak-inject.so.0 \
         ./usr/lib/pkgconfig/fdsoak.pc ./usr/share/man/man7/fdsoak-inject.7 \
         ./usr/share/fdsoak/lang/node/fdsoak-origins.js ./usr/lib/libfdsoak-py311.so; do
  grep -q " $f\\( \\|$\\)" "$tmp/contents" || fail "$f is not in the package"
done

root=$tmp/root
dpkg -x "$deb" "$root"
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
