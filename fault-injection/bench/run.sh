#!/bin/sh
# Benchmark of libfdsoak-inject.so against plain, libfiu and strace on one
# loop: socket + connect to a closed loopback port + close.
#
#   INJ_SHIM=.../libfdsoak-inject.so INJ_BENCH=.../inj_bench bench/run.sh [ITERS] [ROUNDS]
#
# The machine is shared, so variants are interleaved: each round runs every
# variant once.  Prints, per variant, the best round's µs per iteration, its
# ratio to the best plain round of the same kind (blocking or non-blocking),
# and the median over rounds of the ratio to plain *in the same round* (the
# figure to quote: a paired ratio does not care whether the machine was
# busy in that round, and the median drops the rounds another job hit).  Exits 1 if an injecting variant did not fail every connect
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

nvar=$(echo "$variants" | wc -l)
r=0
while [ $r -lt "$rounds" ]; do
  # Each round starts at a different variant, so none always runs first
  # (or always right after plain) while the load drifts.
  k=$((r % nvar))
  { echo "$variants" | tail -n +$((k + 1)); [ $k -gt 0 ] && echo "$variants" | head -n $k; } | while IFS='|' read -r id label mode cmd; do
    nbarg=; [ "$mode" = nb ] && nbarg=nb
    # fiu-run's -c takes one argument with a space; rebuild it here.
    if [ "$id" = fiu ]; then
      out=$(fiu-run -x -c 'enable name=posix/io/net/connect' "$INJ_BENCH" "$port" "$iters" 1 $nbarg 2>/dev/null | tail -1)
    else
      # shellcheck disable=SC2086
      out=$($cmd "$INJ_BENCH" "$port" "$iters" 1 $nbarg 2>/dev/null | tail -1)
    fi
    [ -n "$out" ] && echo "$r $out" >>"$tmp/$id"
  done
  r=$((r + 1))
done

best() { sort -k2 -n "$tmp/$1" 2>/dev/null | head -1 | cut -d' ' -f2-; }
# median over rounds of (variant / plain of the same kind, same round)
medratio() {
  python3 - "$tmp/$1" "$tmp/$2" <<'PY'
import statistics, sys
def load(p):
    with open(p) as f:
        return {l.split()[0]: float(l.split()[1]) for l in f if l.strip()}
v, b = load(sys.argv[1]), load(sys.argv[2])
r = [v[k] / b[k] for k in v if k in b]
print("%.2f" % statistics.median(r) if r else "n/a")
PY
}
printf 'loop: socket + connect(127.0.0.1:%s, closed) + close; %s iterations x %s interleaved rounds\n\n' "$port" "$iters" "$rounds"
printf '%-40s %9s %9s %9s   %s\n' "variant" "best us" "best/pl" "median" "errno x failures"
echo "$variants" | while IFS='|' read -r id label mode cmd; do
  b=$(best $id)
  if [ -z "$b" ]; then printf '%-40s %9s\n' "$label" "n/a"; continue; fi
  set -- $b
  pl=plain; [ "$mode" = nb ] && pl=nbplain
  base=$(best $pl)
  ratio=$(awk -v a="$1" -v b="${base%% *}" 'BEGIN { printf "%.2f", a / b }')
  printf '%-40s %9s %8sx %8sx   %s x%s\n' "$label" "$1" "$ratio" "$(medratio $id $pl)" "$2" "$3"
  if [ "$3" -ne "$iters" ]; then
    echo "  ^ expected every connect to fail" >&2; echo 1 >"$tmp/status"; fi
done

if command -v strace >/dev/null; then
  # ptrace costs ~100 us a call: fewer iterations keep the run short.
  siters=$((iters / 5))
  out=$(strace -f -o /dev/null -e trace=connect -e inject=connect:error=ECONNREFUSED \
        "$INJ_BENCH" "$port" "$siters" 1 2>/dev/null | tail -1)
  set -- $out
  base=$(best plain)
  ratio=$(awk -v a="$1" -v b="${base%% *}" 'BEGIN { printf "%.2f", a / b }')
  printf '%-40s %9s %8sx %9s   %s x%s (of %s)\n' "strace -f -e inject=connect:error=..." "$1" "$ratio" "-" "$2" "$3" "$siters"
fi

# The one figure no other job on the machine can move: user-space
# instructions per iteration (callgrind; the kernel's share, the same
# syscalls in every variant, is not counted).  (Ir at 3N - Ir at N) / 2N.
if command -v valgrind >/dev/null && [ "${INJ_BENCH_IR:-1}" != 0 ]; then
  n=500
  ir() {
    # shellcheck disable=SC2086
    $1 valgrind --tool=callgrind --callgrind-out-file=/dev/null "$INJ_BENCH" "$port" "$2" 1 2>&1 |
      sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
  }
  printf '\nuser-space instructions per iteration (callgrind, exact):\n'
  echo "$variants" | grep -E '^(plain|norules|otherop|nomatch|errno|refuse)\|' |
  while IFS='|' read -r id label mode cmd; do
    a=$(ir "$cmd" $n); b=$(ir "$cmd" $((3 * n)))
    if [ -n "$a" ] && [ -n "$b" ]; then
      printf '%-40s %9d\n' "$label" $(((b - a) / (2 * n)))
    fi
  done
fi
[ -e "$tmp/status" ] && status=1
exit $status
