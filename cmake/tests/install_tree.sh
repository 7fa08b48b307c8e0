#!/bin/sh
# The install tree works on its own: `cmake --install` of this build into a
# scratch prefix, then, from an unrelated directory and with no FDSOAK_*
# variable and no source tree in reach, the installed fdsoak soaks a leaky
# Python reconnect loop (the shim and the language hooks found through the
# install layout), pkg-config finds the shim, and a project of someone
# else's builds against the installed package with find_package(fdsoak).
#
#   install_tree.sh BUILD_DIR SOURCE_DIR
set -eu
build=$(cd "$1" && pwd)
src=$(cd "$2" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/fdsoak-install.XXXXXX")
trap '[ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT INT TERM
prefix=$tmp/prefix
fail() { echo "install_tree: $*" >&2; exit 1; }

cmake --install "$build" --prefix "$prefix" >/dev/null

for f in bin/fdsoak libexec/fdsoak/fdsoak-regress bin/fdsoak-gateway bin/fdsoak-platformd \
         lib/fdsoak/libfdsoak-inject.so.0 lib/libgw.a lib/libfsk.a lib/libinj_spec.a \
         include/fdsoak/gw.h include/fdsoak/inj.h include/fdsoak/fsk.h \
         include/fdsoak/inj_lang.h \
         lib/pkgconfig/fdsoak.pc lib/cmake/fdsoak/fdsoakConfig.cmake \
         lib/cmake/fdsoak/fdsoakConfigVersion.cmake \
         share/fdsoak/lang/node/fdsoak-origins.js lib/fdsoak/libfdsoak-py311.so \
         share/man/man1/fdsoak.1.gz share/man/man1/fdsoak-gateway.1.gz \
         share/man/man1/fdsoak-platformd.1.gz share/man/man7/fdsoak-inject.7.gz; do
  [ -e "$prefix/$f" ] || fail "$f is not installed"
done
readelf -d "$prefix/lib/fdsoak/libfdsoak-inject.so.0" | grep -q 'SONAME.*\[libfdsoak-inject.so.0\]' \
  || fail "the shim's soname is not libfdsoak-inject.so.0"

# An unrelated directory, a clean environment: nothing points at the build.
work=$tmp/work
mkdir "$work"
cd "$work"
run() { env -i PATH=/usr/bin:/bin HOME="$tmp" TMPDIR="$tmp" "$@"; }

v=$(run "$prefix/bin/fdsoak" --version)
case $v in "fdsoak "[0-9]*) ;; *) fail "fdsoak --version said '$v'" ;; esac
for verb in run watch bench gate; do
  run "$prefix/bin/fdsoak" "$verb" --help >/dev/null || fail "fdsoak $verb --help exited $?"
done

# A reconnect loop that leaks one file per refused connect.
cat > leaky.py <<'PY'
import socket, sys, time
port = int(sys.argv[1])
kept = []
while True:
    s = socket.socket()
    try:
        s.connect(("127.0.0.1", port))
    except OSError:
        kept.append(open("/dev/null"))
    finally:
        s.close()
    time.sleep(0.005)
PY
port=$((47400 + $$ % 500))
set +e
run "$prefix/bin/fdsoak" watch --inject "connect:addr=127.0.0.1,port=$port:do=refuse" \
  --cycles 30 --warmup 5 -q --out "$work/watch" -- python3 leaky.py "$port" >/dev/null 2> watch.err
rc=$?
set -e
[ "$rc" = 1 ] || { cat watch.err >&2; fail "installed fdsoak watch exited $rc on a leak, not 1"; }
grep -q '"verdict":[[:space:]]*"leak"' "$work/watch/summary.json" || fail "summary.json has no leak verdict"
grep -q "leaky.py:[0-9]" "$work/watch/summary.json" \
  || fail "no Python origin in summary.json: the language hooks were not found"

# The in-process soak finds its worker, the regress worker and the peer.
run "$prefix/bin/fdsoak" run --path fatal --adapter platform --cycles 30 --warmup 5 -q \
  --out "$work/run" >/dev/null || fail "installed fdsoak run exited $?"
set +e
run "$prefix/bin/fdsoak" run --regress fatal --path fatal --adapter platform --cycles 30 \
  --warmup 5 -q --out "$work/regress" >/dev/null
rc=$?
set -e
[ "$rc" = 1 ] || fail "installed fdsoak run --regress fatal exited $rc, not 1"

# pkg-config: the shim's path is a variable, and it is the shim.
shim=$(PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --variable=shim fdsoak)
[ "$shim" = "$prefix/lib/fdsoak/libfdsoak-inject.so.0" ] || fail "pkg-config shim is '$shim'"
set +e
run env LD_PRELOAD="$shim" FDSOAK_INJECT='conect:do=refuse' /bin/true 2>/dev/null
rc=$?
set -e
[ "$rc" = 2 ] || fail "LD_PRELOAD=\$(pkg-config --variable=shim fdsoak) did not refuse a bad spec ($rc)"
PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --cflags --libs fdsoak >/dev/null \
  || fail "pkg-config --cflags --libs fdsoak failed"

# find_package(fdsoak) from another project.
cmake -S "$src/cmake/tests/consumer" -B "$tmp/consumer" -DCMAKE_PREFIX_PATH="$prefix" \
  >"$tmp/consumer.log" 2>&1 || { cat "$tmp/consumer.log" >&2; fail "consumer configure failed"; }
cmake --build "$tmp/consumer" >>"$tmp/consumer.log" 2>&1 \
  || { cat "$tmp/consumer.log" >&2; fail "consumer build failed"; }
out=$("$tmp/consumer/consumer")
[ "$out" = "rules=1 class=file shim=$prefix/lib/fdsoak/libfdsoak-inject.so.0" ] \
  || fail "consumer printed '$out'"
echo "install_tree: ok ($prefix)"
