#!/bin/sh
# The seccomp engine's DNS stub on a static Go lookup loop (issue 20):
# lookups per second of net.LookupHost against a real nameserver (a small
# Python one on 127.0.0.1:53 of a network and mount namespace of its own,
# named by a bind-mounted /etc/resolv.conf), plain and under the supervisor
# (fsk_sup_exec):
#
#   plain NXDOMAIN     the real server answers NXDOMAIN
#   stub NXDOMAIN      a name the server resolves, failed by
#                      getaddrinfo:do=eai(EAI_NONAME): the stub answers
#   plain resolved     the real server resolves the name
#   relayed            the same under a rule for another name: every query
#                      goes through the stub to the real server and back
#
# Prints one line per variant (best and median of RUNS runs of N lookups);
# asserts nothing but that every variant ran.  Needs root (unshare -n -m).
#
#   go_dns.sh BUILD_BIN_DIR      (N=500, RUNS=3 by default)
set -u
BIN="$1"
HERE="$(cd "$(dirname "$0")" && pwd)"
N="${N:-500}"
RUNS="${RUNS:-3}"
command -v go >/dev/null 2>&1 || { echo "SKIP: go is not installed"; exit 77; }
[ "$(id -u)" = 0 ] && unshare -n -m true 2>/dev/null || { echo "SKIP: needs root (unshare -n -m)"; exit 77; }
if [ -z "${FSK_BENCH_INSIDE:-}" ]; then
  T="$(mktemp -d /tmp/fsk-bench-dns-XXXXXX)"
  trap 'rm -rf "$T"' EXIT
  CGO_ENABLED=0 GOCACHE="$BIN/../go-cache" GOPATH="$BIN/../go-path" GOFLAGS=-buildvcs=false \
    GO111MODULE=off go build -o "$T/dial" "$HERE/../tests/go/dial.go" || exit 1
  FSK_BENCH_INSIDE="$T" unshare -n -m sh "$0" "$BIN"
  exit $?
fi
T="$FSK_BENCH_INSIDE"
ip link set lo up
printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n' > "$T/resolv.conf"
mount --bind "$T/resolv.conf" /etc/resolv.conf
# The real nameserver: nx.fsk.test NXDOMAIN, other *.fsk.test 127.0.0.1.
python3 - <<'PY' &
import socket, struct
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 53))
while True:
    q, peer = s.recvfrom(4096)
    off, labels = 12, []
    while off < len(q) and q[off]:
        labels.append(q[off + 1:off + 1 + q[off]].decode("ascii", "replace").lower())
        off += q[off] + 1
    name, qtype = ".".join(labels), struct.unpack("!H", q[off + 1:off + 3])[0]
    nx = name == "nx.fsk.test" or not name.endswith(".fsk.test")
    rr = b"" if nx or qtype != 1 else b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + socket.inet_aton("127.0.0.1")
    s.sendto(q[:2] + struct.pack("!BBHHHH", 0x81, 0x83 if nx else 0x80, 1, 1 if rr else 0, 0, 0)
             + q[12:off + 5] + rr, peer)
PY
srv=$!
sleep 0.5
SUP="$BIN/fsk_sup_exec"
one() {
  tag="$1"; shift
  "$@" 2>/dev/null | awk '/^lookups\/s/ {print $2}' >> "$T/$tag"
}
stat() {
  sort -n "$T/$1" | awk '{v[NR]=$1} END {if (NR) printf "%.0f %.0f\n", v[NR], v[int((NR+1)/2)]}'
}
echo "static Go net.LookupHost loop, $N lookups x $RUNS runs (kernel $(uname -r), load $(cut -d' ' -f1 /proc/loadavg))"
i=0
while [ "$i" -lt "$RUNS" ]; do
  one pnx "$T/dial" -loop "$N" -lookup nx.fsk.test
  one snx "$SUP" "getaddrinfo:host=ok.fsk.test:do=eai(EAI_NONAME)" "$T/dial" -loop "$N" -lookup ok.fsk.test
  one pok "$T/dial" -loop "$N" -lookup ok.fsk.test
  one rel "$SUP" "getaddrinfo:host=other.fsk.test:do=eai(EAI_NONAME)" "$T/dial" -loop "$N" -lookup ok.fsk.test
  i=$((i + 1))
done
kill "$srv" 2>/dev/null
rc=0
for tag in pnx snx pok rel; do
  case $tag in
    pnx) name="plain NXDOMAIN" ;; snx) name="stub NXDOMAIN" ;; pok) name="plain resolved" ;;
    rel) name="relayed (rule for another name)" ;;
  esac
  [ -s "$T/$tag" ] && [ "$(wc -l < "$T/$tag")" -eq "$RUNS" ] || { echo "FAIL: variant $name did not run"; rc=1; continue; }
  set -- $(stat "$tag")
  printf "%-34s best %6s  median %6s lookups/s\n" "$name" "$1" "$2"
done
exit $rc
