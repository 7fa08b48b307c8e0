#!/bin/sh
# Benchmark of libfdsoak-inject.so against plain, libfiu and strace on one
# loop: socket + connect to a closed loopback port + close.
#
#   INJ_SHIM=.../libfdsoak-inject.so INJ_BENCH=.../inj_bench bench/run.sh [ITERS] [REPEATS]
#
# Prints a table of µs per iteration and the ratio to plain.  Exits 0 even
# when a peer tool is missing (its row says so); exits 1 if an injecting
# row did not actually fail its connects (the measurement would be a lie).
set -u
: "${INJ_SHIM:?}" "${INJ_BENCH:?}"
iters=${1:-20000}
reps=${2:-3}
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
status=0
plain=
nb=

row() {  # row LABEL EXPECT_FAILS CMD...
  label=$1; expect=$2; shift 2
  out=$("$@" "$INJ_BENCH" "$port" "$iters" "$reps" $nb 2>/dev/null | tail -1)
  if [ -z "$out" ]; then
    printf '%-44s %10s\n' "$label" "n/a"
    return
  fi
  set -- $out
  us=$1; err=$2; failed=$3
  [ -z "$plain" ] && plain=$us
  ratio=$(awk -v a="$us" -v b="$plain" 'BEGIN { printf "%.2f", a / b }')
  printf '%-44s %10s %8sx   %s x%s\n' "$label" "$us" "$ratio" "$err" "$failed"
  if [ "$expect" = yes ] && [ "$failed" -ne $((iters)) ]; then
    echo "  ^ expected every connect to fail" >&2; status=1
  fi
}

printf 'loop: socket + connect(127.0.0.1:%s, closed) + close; %s iterations, best of %s\n\n' "$port" "$iters" "$reps"
printf '%-44s %10s %9s   %s\n' "variant" "us/iter" "vs plain" "errno x failures"
row "plain (kernel refuses)"                     yes env
row "shim, no rules"                             yes env LD_PRELOAD="$INJ_SHIM"
row "shim, rule on another op (open)"            yes env LD_PRELOAD="$INJ_SHIM" FDSOAK_INJECT='open:path=*.nothing:do=errno(EIO)'
row "shim, connect rule not matching (port)"     yes env LD_PRELOAD="$INJ_SHIM" FDSOAK_INJECT="connect:addr=10.0.0.0/8,port=1:do=refuse"
row "shim, errno(ENETUNREACH) at once"           yes env LD_PRELOAD="$INJ_SHIM" FDSOAK_INJECT="connect:port=$port:do=errno(ENETUNREACH)"
row "shim, faithful refuse (blocking socket)"    yes env LD_PRELOAD="$INJ_SHIM" FDSOAK_INJECT="connect:port=$port:do=refuse"
row "shim, async(ETIMEDOUT) (blocking socket)"   yes env LD_PRELOAD="$INJ_SHIM" FDSOAK_INJECT="connect:port=$port:do=async(ETIMEDOUT)"
blocking_plain=$plain
# Non-blocking: the event-loop view (EINPROGRESS, poll, SO_ERROR).  Ratios
# in this block are to the plain non-blocking loop.
nb=nb; plain=
row "plain non-blocking (kernel refuses)"        yes env
row "shim, faithful refuse (non-blocking)"       yes env LD_PRELOAD="$INJ_SHIM" FDSOAK_INJECT="connect:port=$port:do=refuse"
row "shim, async(ETIMEDOUT) (non-blocking)"      yes env LD_PRELOAD="$INJ_SHIM" FDSOAK_INJECT="connect:port=$port:do=async(ETIMEDOUT)"
nb=; plain=$blocking_plain
if command -v fiu-run >/dev/null; then
  row "fiu-run -x posix/io/net/connect"          yes fiu-run -x -c 'enable name=posix/io/net/connect'
else
  printf '%-44s %10s\n' "fiu-run (fiu-utils not installed)" "n/a"
fi
if command -v strace >/dev/null; then
  # strace is ~100x slower: fewer iterations keep the run short.
  siters=$((iters / 10))
  out=$(strace -f -o /dev/null -e trace=connect -e inject=connect:error=ECONNREFUSED \
        "$INJ_BENCH" "$port" "$siters" 1 2>/dev/null | tail -1)
  set -- $out
  ratio=$(awk -v a="$1" -v b="$plain" 'BEGIN { printf "%.2f", a / b }')
  printf '%-44s %10s %8sx   %s x%s (of %s)\n' "strace -f -e inject=connect:error=..." "$1" "$ratio" "$2" "$3" "$siters"
fi
exit $status
