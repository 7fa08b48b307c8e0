#!/bin/sh
# The seccomp engine's cost on a static Go dial loop (issue 20): the
# program's own attempt rate (dials per second) plain, and under the
# supervisor (fsk_sup_exec, the engine without fdsoak watch's sampling):
#
#   plain            dials to a listener of its own
#   non-matching     the same under a rule for another port: every connect
#                    is notified, decided and continued
#   refuse (plain)   dials to a closed port: the real refusal
#   refuse (faithful) dials to its listener under do=refuse: each one
#                    refused by the supervisor the faithful way
#   strace --inject  for comparison, where strace is installed
#
# Prints one line per variant (best and median of RUNS runs of N dials) and
# the ratios; asserts nothing but that every variant ran.
#
#   go_dial.sh BUILD_BIN_DIR      (N=4000, RUNS=5 by default)
set -u
BIN="$1"
HERE="$(cd "$(dirname "$0")" && pwd)"
N="${N:-4000}"
RUNS="${RUNS:-5}"
T="$(mktemp -d /tmp/fsk-bench-go-XXXXXX)"
trap 'rm -rf "$T"' EXIT
command -v go >/dev/null 2>&1 || { echo "SKIP: go is not installed"; exit 77; }
CGO_ENABLED=0 GOCACHE="$BIN/../go-cache" GOPATH="$BIN/../go-path" GOFLAGS=-buildvcs=false \
  GO111MODULE=off go build -o "$T/dial" "$HERE/../tests/go/dial.go" || exit 1
SUP="$BIN/fsk_sup_exec"
CLOSED=$((40000 + $$ % 9000))

# One run of a variant: its dials/s, appended to $T/TAG.
one() {
  tag="$1"; shift
  "$@" 2>/dev/null | awk '/^dials\/s/ {print $2}' >> "$T/$tag"
}
# best and median of $T/TAG
stat() {
  sort -n "$T/$1" | awk '{v[NR]=$1} END {if (NR) printf "%.0f %.0f\n", v[NR], v[int((NR+1)/2)]}'
}
echo "static Go dial loop, $N dials x $RUNS runs, variants interleaved (kernel $(uname -r), load $(cut -d' ' -f1 /proc/loadavg))"
i=0
while [ "$i" -lt "$RUNS" ]; do
  one plain "$T/dial" -loop "$N" -self
  one nm "$SUP" "connect:addr=127.0.0.1,port=1:do=refuse" "$T/dial" -loop "$N" -self
  one rp "$T/dial" -loop "$N" 127.0.0.1 "$CLOSED"
  one rf "$SUP" "connect:addr=127.0.0.1:do=refuse" "$T/dial" -loop "$N" -self
  if command -v strace >/dev/null 2>&1; then
    one st strace -f -qq -o /dev/null -e trace=connect -e inject=connect:error=ECONNREFUSED \
      "$T/dial" -loop "$N" -self
  fi
  i=$((i + 1))
done
for tag in plain nm rp rf st; do
  [ -s "$T/$tag" ] || continue
  [ "$(wc -l < "$T/$tag")" -eq "$RUNS" ] || { echo "FAIL: variant $tag did not run"; exit 1; }
  set -- $(stat "$tag")
  case $tag in
    plain) name="plain (connects)" ;; nm) name="non-matching rule" ;; rp) name="real refusal" ;;
    rf) name="faithful refuse" ;; st) name="strace --inject" ;;
  esac
  printf "%-20s best %7s  median %7s dials/s  (%.1f us per dial)\n" "$name" "$1" "$2" "$(awk -v m="$2" 'BEGIN {print 1e6 / m}')"
  eval "med_$tag=$2"
done
awk -v p="$med_plain" -v nm="$med_nm" -v rf="$med_rf" -v rp="$med_rp" 'BEGIN {
  printf "non-matching rule: %.2fx the plain loop'"'"'s time per dial (issue 20'"'"'s target: <= 1.10x)\n", p / nm
  printf "faithful refuse: %.1f us per dial; a real refusal: %.1f us\n", 1e6 / rf, 1e6 / rp
}'
