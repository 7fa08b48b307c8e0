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

# rates VARIANT CMD...: RUNS runs; prints "VARIANT best median" (dials/s).
rates() {
  name="$1"; shift
  : > "$T/r"
  i=0
  while [ "$i" -lt "$RUNS" ]; do
    "$@" 2>/dev/null | awk '/^dials\/s/ {print $2}' >> "$T/r"
    i=$((i + 1))
  done
  if [ "$(wc -l < "$T/r")" -ne "$RUNS" ]; then echo "FAIL: $name did not run"; exit 1; fi
  sort -n "$T/r" | awk -v n="$name" '{v[NR]=$1} END {printf "%-20s best %8.0f  median %8.0f dials/s\n", n, v[NR], v[int((NR+1)/2)]}'
}
echo "static Go dial loop, $N dials x $RUNS runs (kernel $(uname -r))"
rates "plain" "$T/dial" -loop "$N" -self | tee "$T/plain"
rates "non-matching" "$SUP" "connect:addr=127.0.0.1,port=1:do=refuse" "$T/dial" -loop "$N" -self | tee "$T/nm"
rates "refuse (plain)" "$T/dial" -loop "$N" 127.0.0.1 "$CLOSED" | tee "$T/rp"
rates "refuse (faithful)" "$SUP" "connect:addr=127.0.0.1:do=refuse" "$T/dial" -loop "$N" -self | tee "$T/rf"
if command -v strace >/dev/null 2>&1; then
  rates "strace --inject" strace -f -qq -o /dev/null -e trace=connect -e inject=connect:error=ECONNREFUSED \
    "$T/dial" -loop "$N" -self | tee "$T/st"
fi
med() { awk '{print $5}' "$1"; }
awk -v p="$(med "$T/plain")" -v nm="$(med "$T/nm")" -v rp="$(med "$T/rp")" -v rf="$(med "$T/rf")" 'BEGIN {
  printf "non-matching rule: %.2fx the plain loop'"'"'s time per dial (target <= 1.10x)\n", p / nm
  printf "faithful refuse: %.1f us per dial, against %.1f us for a real refusal (%.2fx)\n", 1e6 / rf, 1e6 / rp, rp / rf
}'
