#!/bin/sh
# Benchmark of libfdsoak-inject.so against plain, libfiu and strace on one
# loop: socket + connect to a closed loopback port + close.
#
#   INJ_SHIM=.../libfdsoak-inject.so INJ_BENCH=.../inj_bench bench/run.sh [ITERS] [ROUNDS]
#
# The machine is shared, so variants are interleaved: each round runs every
# variant once, and a variant's figure is its best round.  Prints µs per
# iteration and the ratio to the plain loop of the same kind (blocking or
# non-blocking).  Exits 1 if an injecting variant did not fail every connect
# (the figure would then measure something else).
set -u
: "${INJ_SHIM:?}" "${INJ_BENCH:?}"
iters=${1:-5000}
rounds=${2:-5}
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
tmp=$(mktemp -d "${TMPDIR:-/tmp}/inj-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
status=0
S=$INJ_SHIM

# id|label|mode(blk/nb)|command prefix (word-split; no spaces inside args)
variants="plain|plain (kernel refuses)|blk|env
norules|shim, no rules|blk|env LD_PRELOAD=$S
otherop|shim, rule on another op (open)|blk|env LD_PRELOAD=$S FDSOAK_INJECT=open:path=*.nothing:do=errno(EIO)
nomatch|shim, connect rule not matching|blk|env LD_PRELOAD=$S FDSOAK_INJECT=connect:addr=10.0.0.0/8,port=1:do=refuse
errno|shim, errno(ENETUNREACH) at once|blk|env LD_PRELOAD=$S FDSOAK_INJECT=connect:port=$port:do=errno(ENETUNREACH)
refuse|shim, faithful refuse (blocking)|blk|env LD_PRELOAD=$S FDSOAK_INJECT=connect:port=$port:do=refuse
fiu|fiu-run -x posix/io/net/connect|blk|fiu-run -x -c enable_name=posix/io/net/connect
nbplain|plain non-blocking (kernel refuses)|nb|env
nbrefuse|shim, faithful refuse (non-blocking)|nb|env LD_PRELOAD=$S FDSOAK_INJECT=connect:port=$port:do=refuse
nbunreach|shim, unreachable(host) (non-blocking)|nb|env LD_PRELOAD=$S FDSOAK_INJECT=connect:port=$port:do=unreachable(host)"

command -v fiu-run >/dev/null || variants=$(echo "$variants" | grep -v '^fiu|')

r=0
while [ $r -lt "$rounds" ]; do
  echo "$variants" | while IFS='|' read -r id label mode cmd; do
    nbarg=; [ "$mode" = nb ] && nbarg=nb
    # fiu-run's -c takes one argument with a space; rebuild it here.
    if [ "$id" = fiu ]; then
      out=$(fiu-run -x -c 'enable name=posix/io/net/connect' "$INJ_BENCH" "$port" "$iters" 1 $nbarg 2>/dev/null | tail -1)
    else
      # shellcheck disable=SC2086
      out=$($cmd "$INJ_BENCH" "$port" "$iters" 1 $nbarg 2>/dev/null | tail -1)
    fi
    [ -n "$out" ] && echo "$out" >>"$tmp/$id"
  done
  r=$((r + 1))
done

best() { sort -n "$tmp/$1" 2>/dev/null | head -1; }
printf 'loop: socket + connect(127.0.0.1:%s, closed) + close; %s iterations x %s interleaved rounds, best round\n\n' "$port" "$iters" "$rounds"
printf '%-40s %9s %9s   %s\n' "variant" "us/iter" "vs plain" "errno x failures"
echo "$variants" | while IFS='|' read -r id label mode cmd; do
  b=$(best $id)
  if [ -z "$b" ]; then printf '%-40s %9s\n' "$label" "n/a"; continue; fi
  set -- $b
  base=$(best plain); [ "$mode" = nb ] && base=$(best nbplain)
  ratio=$(awk -v a="$1" -v b="${base%% *}" 'BEGIN { printf "%.2f", a / b }')
  printf '%-40s %9s %8sx   %s x%s\n' "$label" "$1" "$ratio" "$2" "$3"
  if [ "$3" -ne "$iters" ]; then echo "  ^ expected every connect to fail" >&2; echo 1 >"$tmp/status"; fi
done

if command -v strace >/dev/null; then
  # ptrace costs ~100 us a call: fewer iterations keep the run short.
  siters=$((iters / 5))
  out=$(strace -f -o /dev/null -e trace=connect -e inject=connect:error=ECONNREFUSED \
        "$INJ_BENCH" "$port" "$siters" 1 2>/dev/null | tail -1)
  set -- $out
  base=$(best plain)
  ratio=$(awk -v a="$1" -v b="${base%% *}" 'BEGIN { printf "%.2f", a / b }')
  printf '%-40s %9s %8sx   %s x%s (of %s)\n' "strace -f -e inject=connect:error=..." "$1" "$ratio" "$2" "$3" "$siters"
fi
[ -e "$tmp/status" ] && status=1
exit $status
