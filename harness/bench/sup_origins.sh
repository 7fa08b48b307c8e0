#!/bin/sh
# What origins cost under the seccomp engine (issue 20): a static C loop
# (-O2 -g, no frame pointers) and a static Go loop that open and close one
# file N times, timed
#
#   plain        no supervisor
#   notified     under the supervisor, a rule on open that never matches:
#                every open is notified, decided and continued
#   origins      the same with origins on (fsk_sup_exec FSK_SUP_ORIGINS=1,
#                as fdsoak watch runs): each open's attempt, fd (the lowest
#                free, from /proc/PID/fd) and stack (C: DWARF CFI with
#                libdwfl; Go: .gopclntab) are noted before it continues
#
# Prints best and median opens/s of RUNS runs per variant, the cost per
# open of notification and of origins, and the supervisor's own account
# of the time it spent on origins.  Asserts nothing but that every variant
# ran.
#
#   sup_origins.sh BUILD_BIN_DIR      (N=3000, RUNS=5 by default)
set -u
BIN="$(cd "$1" && pwd)"
HERE="$(cd "$(dirname "$0")" && pwd)"
N="${N:-3000}"
RUNS="${RUNS:-5}"
T="$(mktemp -d /tmp/fsk-bench-orig-XXXXXX)"
trap 'rm -rf "$T"' EXIT
SUP="$BIN/fsk_sup_exec"
RULE="open:path=/nonexistent-fsk-bench/*:do=errno(EACCES)"
${CC:-cc} -static -O2 -g -fomit-frame-pointer -o "$T/c_loop" "$HERE/open_loop.c" || exit 1
progs="c"
if command -v go >/dev/null 2>&1; then
  CGO_ENABLED=0 GOCACHE="$BIN/../go-cache" GOPATH="$BIN/../go-path" GOFLAGS=-buildvcs=false \
    GO111MODULE=off go build -o "$T/go_loop" "$HERE/open_loop.go" || exit 1
  progs="c go"
fi

one() {
  tag="$1"; shift
  "$@" 2>>"$T/$tag.err" | awk '/^opens\/s/ {print $2}' >> "$T/$tag"
}
stat() {
  sort -n "$T/$1" | awk '{v[NR]=$1} END {if (NR) printf "%.0f %.0f\n", v[NR], v[int((NR+1)/2)]}'
}
echo "open loops, $N opens x $RUNS runs, variants interleaved (kernel $(uname -r), $(nproc) cpus, load $(cut -d' ' -f1 /proc/loadavg))"
i=0
while [ "$i" -lt "$RUNS" ]; do
  for p in $progs; do
    one "${p}_plain" "$T/${p}_loop" "$T/f" "$N"
    one "${p}_nt" "$SUP" "$RULE" "$T/${p}_loop" "$T/f" "$N"
    FSK_SUP_ORIGINS=1 FSK_SUP_VERBOSE=1 one "${p}_or" "$SUP" "$RULE" "$T/${p}_loop" "$T/f" "$N"
  done
  i=$((i + 1))
done
for p in $progs; do
  for v in plain nt or; do
    tag="${p}_$v"
    [ "$(wc -l < "$T/$tag")" -eq "$RUNS" ] || { echo "FAIL: variant $tag did not run"; cat "$T/$tag.err"; exit 1; }
    set -- $(stat "$tag")
    case $v in plain) name="plain" ;; nt) name="notified" ;; or) name="notified + origins" ;; esac
    printf "%-3s %-20s best %7s  median %7s opens/s  (%.1f us per open)\n" "$p" "$name" "$1" "$2" \
      "$(awk -v m="$2" 'BEGIN {print 1e6 / m}')"
    eval "med_$v=$2"
  done
  awk -v p="$med_plain" -v nt="$med_nt" -v o="$med_or" -v w="$p" 'BEGIN {
    printf "%-3s per open (medians): notification +%.1f us, origins +%.1f us more\n", w, 1e6 / nt - 1e6 / p, 1e6 / o - 1e6 / nt
  }'
  echo "$p supervisor's account (last run): $(grep -o 'origins: .*' "$T/${p}_or.err" | tail -1)"
done
