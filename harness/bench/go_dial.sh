#!/bin/sh
# The seccomp engine's cost on a static Go dial loop (issue 20): the
# program's own attempt rate (dials per second) plain, and under the
# supervisor (fsk_sup_exec, the engine without fdsoak watch's sampling):
#
#   plain              dials to a listener of its own
#   non-matching       the same under a rule for another port, connects
#                      notified (FDSOAK_BPF=0): every connect is notified,
#                      decided and continued
#     no sync wake-up  the same without SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#     fdsoak's nice    the serving thread at fdsoak's nice (the engine lowers
#                      it by 10 where it may: root or CAP_SYS_NICE)
#     origins on       as fdsoak watch runs by default: socket and open calls
#                      notified too, and each socket's Go stack walked
#   real refusal       dials to a closed port: the real refusal
#   faithful refuse    dials to its listener under do=refuse: each one
#                      refused by the supervisor the faithful way
#                      (FDSOAK_BPF=0)
#   strace --inject    for comparison, where strace is installed
#   bpf non-matching   the non-matching rule decided in the kernel
#                      (the default, FDSOAK_BPF=1: cgroup connect4 program,
#                      no notification)
#   bpf refuse         faithful refuse made by the same program (the dial
#                      pointed at a closed loopback port)
#   bpf origins on     bpf non-matching with origins on: each socket's Go
#                      stack captured in the kernel at the call's exit
#                      (fexit, or the raw sys_exit tracepoint; a
#                      frame-pointer walk in the program) and symbolized by
#                      fdsoak from a ring buffer, no notification (compare
#                      with "origins on")
#
#   A/A (aa)           plain again, as a variant: the noise floor.  On
#                      by default (AA=0 leaves it out; TAGS=aa runs it
#                      alone); a variant whose ratio is within A/A's
#                      quartiles is not measured to cost anything
#   bpf refuse, origins (br) bpf refuse with origins on
#   bpf origins, kernel's walk (bk) bpf origins on with
#                      FSK_BPF_STACK_WALK=kernel: bpf_get_stack instead of
#                      the program's frame-pointer walk
#
# The variants of one round run back to back, with a plain run before and
# after them, in an order rotated each round (so no variant always runs
# right after plain, or after another that heats the caches or the
# scheduler up for it); each variant's ratio is its time per dial over the
# mean of that round's two plain runs, and also over that round's A/A run,
# and the median and quartiles of the rounds' ratios are printed (on a
# shared, loaded machine the load drifts between rounds far more than
# within one).
#
# OTHER=BIN_DIR runs each supervised variant a second time in the same
# rounds with that build's fsk_sup_exec (e.g. main's, built in a worktree
# of its own), suffixed "[other]": before and after measured under the same
# load, not in two runs an hour apart; each such variant's time per dial
# over the other build's, paired within each round, is printed last.
# Also the supervisor's own serving time per
# notification (FSK_SUP_PROFILE), and the CPU time per dial of the program
# and the supervisor together (less sensitive to the load than the rate),
# with the start-up's share taken out: each round also runs every variant
# with one dial, whose CPU time is the fixed cost (the supervisor's set-up,
# the eBPF programs' verification) that a run of N dials spreads over them.
# Asserts nothing but that every variant ran.
#
#   [OTHER=BIN_DIR] [TAGS="..."] [AA=0] go_dial.sh BUILD_BIN_DIR
#                                 (N=4000, RUNS=5 by default)
set -u
BIN="$(cd "$1" && pwd)"
HERE="$(cd "$(dirname "$0")" && pwd)"
N="${N:-4000}"
RUNS="${RUNS:-5}"
T="$(mktemp -d /tmp/fsk-bench-go-XXXXXX)"
trap 'rm -rf "$T"' EXIT
command -v go >/dev/null 2>&1 || { echo "SKIP: go is not installed"; exit 77; }
CGO_ENABLED=0 GOCACHE="$BIN/../go-cache" GOPATH="$BIN/../go-path" GOFLAGS=-buildvcs=false \
  GO111MODULE=off go build -o "$T/dial" "$HERE/../tests/go/dial.go" || exit 1
SUP0="$BIN/fsk_sup_exec"
OSUP=""
if [ -n "${OTHER:-}" ]; then
  OSUP="$(cd "$OTHER" 2>/dev/null && pwd)/fsk_sup_exec"
  [ -x "$OSUP" ] || { echo "go_dial.sh: OTHER=$OTHER: no fsk_sup_exec there" >&2; exit 2; }
fi
CLOSED=$((40000 + $$ % 9000))
NM="connect:addr=127.0.0.1,port=1:do=refuse"
TAGS="${TAGS:-nm ns nc tr rp rf bn bf bo}"
command -v strace >/dev/null 2>&1 && [ -z "${NOSTRACE:-}" ] && TAGS="$TAGS st"
case " $TAGS " in *" aa "*) ;; *) [ "${AA:-1}" = 0 ] || TAGS="aa $TAGS" ;; esac
# The other build's variants: those that run fsk_sup_exec (not plain, A/A,
# the real refusal or strace), as TAG.o.
if [ -n "$OSUP" ]; then
  for tag in $TAGS; do
    case $tag in aa | rp | st) ;; *) TAGS="$TAGS $tag.o" ;; esac
  done
fi
NT=$(echo $TAGS | wc -w)
# TAGS rotated left by $1 places
rotated() {
  echo $TAGS | awk -v k="$1" '{for (i = 0; i < NF; i++) printf "%s%s", $((i + k) % NF + 1), i + 1 < NF ? " " : "\n"}'
}

# One run of a variant: its dials/s, to $T/cur.TAG (this round) and
# $T/TAG (all rounds); the supervisor's account to $T/acct.TAG.
# The children's CPU time (user + system) around each run, in seconds: the
# supervisor's threads and the program's, as this shell reaps them (times
# must run in this shell, not in a $(...) subshell).
one() {
  tag="$1"; shift
  times >"$T/times0"
  r=$("$@" 2>"$T/acct.$tag" | awk '/^dials\/s/ {print $2}')
  [ -n "$r" ] || { echo "variant $tag: no rate: $(tail -3 "$T/acct.$tag" | tr '\n' ' ')" >&2; return; }
  times >"$T/times1"
  if [ "$N" -eq 1 ]; then
    # The start-up pass: the whole run's CPU time in ms (one dial).
    cat "$T/times0" "$T/times1" | awk 'NR % 2 == 0 {t = 0; for (i = 1; i <= 2; i++) {split($i, a, "m"); t += a[1] * 60 + a[2]} c[NR / 2] = t}
      END {printf "%.1f\n", (c[2] - c[1]) * 1e3}' >>"$T/cpu0.$tag"
    return
  fi
  cat "$T/times0" "$T/times1" | awk -v n="$N" 'NR % 2 == 0 {t = 0; for (i = 1; i <= 2; i++) {split($i, a, "m"); t += a[1] * 60 + a[2]} c[NR / 2] = t}
    END {printf "%.2f\n", (c[2] - c[1]) * 1e6 / n}' >>"$T/cpu.$tag"
  echo "$r" >"$T/cur.$tag"
  echo "$r" >>"$T/$tag"
  grep -o 'served in [0-9.]* us' "$T/acct.$tag" | awk '{print $3}' >>"$T/serve.$tag"
}
variant() {
  SUP="$SUP0"
  case $1 in *.o) SUP="$OSUP" ;; esac
  case ${1%.o} in
  aa) one "$1" "$T/dial" -loop "$N" -self ;;
  nm) one "$1" env FDSOAK_BPF=0 FSK_SUP_PROFILE=1 FSK_SUP_VERBOSE=1 "$SUP" "$NM" "$T/dial" -loop "$N" -self ;;
  ns) one "$1" env FDSOAK_BPF=0 FSK_SUP_SYNC_WAKE=0 FSK_SUP_PROFILE=1 FSK_SUP_VERBOSE=1 "$SUP" "$NM" "$T/dial" -loop "$N" -self ;;
  nc) one "$1" env FDSOAK_BPF=0 FSK_SUP_NICE=0 FSK_SUP_PROFILE=1 FSK_SUP_VERBOSE=1 "$SUP" "$NM" "$T/dial" -loop "$N" -self ;;
  tr) one "$1" env FDSOAK_BPF=0 FSK_SUP_ORIGINS=1 FSK_SUP_PROFILE=1 FSK_SUP_VERBOSE=1 "$SUP" "$NM" "$T/dial" -loop "$N" -self ;;
  rp) one "$1" "$T/dial" -loop "$N" 127.0.0.1 "$CLOSED" ;;
  rf) one "$1" env FDSOAK_BPF=0 "$SUP" "connect:addr=127.0.0.1:do=refuse" "$T/dial" -loop "$N" -self ;;
  bn) one "$1" env FDSOAK_BPF=1 FSK_SUP_VERBOSE=1 "$SUP" "$NM" "$T/dial" -loop "$N" -self ;;
  bf) one "$1" env FDSOAK_BPF=1 FSK_SUP_VERBOSE=1 "$SUP" "connect:addr=127.0.0.1:do=refuse" "$T/dial" -loop "$N" -self ;;
  bo) one "$1" env FDSOAK_BPF=1 FSK_SUP_ORIGINS=1 FSK_SUP_VERBOSE=1 "$SUP" "$NM" "$T/dial" -loop "$N" -self ;;
  bk) one "$1" env FDSOAK_BPF=1 FSK_SUP_ORIGINS=1 FSK_BPF_STACK_WALK=kernel FSK_SUP_VERBOSE=1 "$SUP" "$NM" "$T/dial" -loop "$N" -self ;;
  br) one "$1" env FDSOAK_BPF=1 FSK_SUP_ORIGINS=1 FSK_SUP_VERBOSE=1 "$SUP" "connect:addr=127.0.0.1:do=refuse" "$T/dial" -loop "$N" -self ;;
  st) one "$1" strace -f -qq -o /dev/null -e trace=connect -e inject=connect:error=ECONNREFUSED \
        "$T/dial" -loop "$N" -self ;;
  esac
}
median() {
  sort -g "$1" | awk '{v[NR]=$1} END {if (NR) printf "%.2f\n", (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2}'
}
# the lower and upper quartile (nearest rank): how far the rounds agree
quartiles() {
  sort -g "$1" | awk '{v[NR]=$1} END {if (NR) printf "%.2f-%.2f\n", v[int((NR+3)/4)], v[NR+1-int((NR+3)/4)]}'
}
echo "static Go dial loop, $N dials x $RUNS rounds (kernel $(uname -r), load $(cut -d' ' -f1 /proc/loadavg) at the start)"
i=0
while [ "$i" -lt "$RUNS" ]; do
  rm -f "$T"/cur.*
  one plain "$T/dial" -loop "$N" -self
  mv "$T/cur.plain" "$T/cur.p0" 2>/dev/null
  for tag in $(rotated "$((i % NT))"); do variant "$tag"; done
  one plain "$T/dial" -loop "$N" -self
  # The start-up pass: each variant once with one dial, for its fixed CPU
  # cost (the supervisor's set-up, loading the eBPF programs: tens of ms,
  # which at N dials shows up as 1e6 * cost / N us per dial).
  NN="$N"
  N=1
  one plain "$T/dial" -loop 1 -self
  for tag in $TAGS; do variant "$tag"; done
  N="$NN"
  if [ -s "$T/cur.p0" ] && [ -s "$T/cur.plain" ]; then
    # time per dial of the variant over the plain runs' mean
    p=$(awk '{s += 1 / $1} END {print s}' "$T/cur.p0" "$T/cur.plain")
    for tag in $TAGS; do
      [ -s "$T/cur.$tag" ] && awk -v p="$p" '{printf "%.4f\n", (1 / $1) / (p / 2)}' "$T/cur.$tag" >>"$T/ratio.$tag"
      # over this round's A/A run: its rate over the variant's
      [ -s "$T/cur.$tag" ] && [ -s "$T/cur.aa" ] && [ "$tag" != aa ] &&
        awk -v a="$(cat "$T/cur.aa")" '{printf "%.4f\n", a / $1}' "$T/cur.$tag" >>"$T/aaratio.$tag"
      # this build over the other, paired within the round: the load
      # drifts between rounds, far less between two runs of one
      [ -s "$T/cur.$tag" ] && [ -s "$T/cur.$tag.o" ] &&
        awk -v o="$(cat "$T/cur.$tag.o")" '{printf "%.4f\n", o / $1}' "$T/cur.$tag" >>"$T/vsother.$tag"
    done
  fi
  i=$((i + 1))
done
echo "load $(cut -d' ' -f1 /proc/loadavg) at the end"
[ "$(wc -l <"$T/plain")" -eq $((2 * RUNS)) ] || { echo "FAIL: the plain loop did not run"; exit 1; }
printf "%-34s %9s %9s %8s %11s %8s %11s %9s %9s %9s %s\n" variant "dials/s" "us/dial" "x plain" "(quartiles)" "x A/A" "(quartiles)" "CPU us/dial" "start ms" "net us" "(medians; serving time per notification)"
for tag in plain $TAGS; do
  [ -s "$T/$tag" ] || continue
  [ "$tag" = plain ] || [ "$(wc -l <"$T/$tag")" -eq "$RUNS" ] || { echo "FAIL: variant $tag did not run"; exit 1; }
  case ${tag%.o} in
  plain) name="plain (connects)" ;; aa) name="A/A (plain again)" ;; bk) name="  bpf origins, kernel's walk" ;; br) name="  bpf refuse, origins on" ;; nm) name="non-matching rule" ;; ns) name="  no sync wake-up" ;;
  nc) name="  serving at fdsoak's nice" ;; tr) name="  origins on" ;; rp) name="real refusal" ;;
  rf) name="faithful refuse" ;; st) name="strace --inject" ;;
  bn) name="bpf non-matching" ;; bf) name="bpf refuse" ;; bo) name="  bpf origins on" ;;
  esac
  case $tag in *.o) name="$name [other]" ;; esac
  m=$(median "$T/$tag")
  x=$([ -s "$T/ratio.$tag" ] && median "$T/ratio.$tag" || echo 1.00)
  q=$([ -s "$T/ratio.$tag" ] && quartiles "$T/ratio.$tag" || echo "")
  xa=$([ -s "$T/aaratio.$tag" ] && echo "$(median "$T/aaratio.$tag")x" || echo "-")
  qa=$([ -s "$T/aaratio.$tag" ] && quartiles "$T/aaratio.$tag" || echo "")
  s=$([ -s "$T/serve.$tag" ] && echo "; served in $(median "$T/serve.$tag") us" || echo "")
  c=$(median "$T/cpu.$tag")
  c0=$([ -s "$T/cpu0.$tag" ] && median "$T/cpu0.$tag" || echo 0)
  printf "%-34s %9.0f %9.1f %7sx %11s %8s %11s %11s %9.1f %9.1f %s\n" "$name" "$m" "$(awk -v m="$m" 'BEGIN {print 1e6 / m}')" "$x" "$q" "$xa" "$qa" \
    "$c" "$c0" "$(awk -v c="$c" -v c0="$c0" -v n="$N" 'BEGIN {print c - c0 * 1e3 / n}')" "$s"
done
for tag in $TAGS; do
  [ -s "$T/vsother.$tag" ] || continue
  echo "$tag: time per dial of this build over OTHER's ($OTHER), paired in each round: $(median "$T/vsother.$tag")x (quartiles $(quartiles "$T/vsother.$tag"))"
done
echo "(x A/A: the time per dial over the same round's A/A run; A/A's own line against plain is the noise floor)"
echo "(CPU us/dial: the program's and the supervisor's CPU time over the dials, start-up included;"
echo " start ms: a one-dial run's CPU time; net us: CPU us/dial less the start-up spread over N dials)"
for tag in bn bf bo br bk bn.o bf.o bo.o br.o; do
  case " $TAGS " in *" $tag "*) ;; *) continue ;; esac
  grep -q "decided in the kernel" "$T/acct.$tag" 2>/dev/null || echo "NOTE: variant $tag did not run through eBPF: $(cat "$T/acct.$tag" 2>/dev/null | tail -1)"
done
case " $TAGS " in *" bo "*) ;; *) false ;; esac && ! grep -q "eBPF stack capture" "$T/acct.bo" 2>/dev/null && echo "NOTE: variant bo did not capture stacks in the kernel: $(grep -o 'origins: .*' "$T/acct.bo" 2>/dev/null | tail -1)"
[ -s "$T/ratio.bn" ] && awk -v x="$(median "$T/ratio.bn")" 'BEGIN {
  printf "bpf non-matching rule: %.2fx the plain loop'"'"'s time per dial (issue 20'"'"'s target: <= 1.10x): %s in this run\n", x, x <= 1.10 ? "met" : "NOT met"
}'
[ -s "$T/ratio.nm" ] && awk -v x="$(median "$T/ratio.nm")" 'BEGIN {
  printf "non-matching rule: %.2fx the plain loop'"'"'s time per dial (issue 20'"'"'s target: <= 1.10x): %s in this run\n", x, x <= 1.10 ? "met" : "NOT met"
}'
exit 0
