#!/bin/sh
# The seccomp engine's documented limits (issue 20), each on the real
# engine: the static C probe (fsk_sup_probe) under fsk_sup_exec, and a
# static Go reconnect loop under the real fdsoak watch.
# Usage: sup_limits.sh CASE BUILD_BIN_DIR
#
#   sup_noptrace  without CAP_SYS_PTRACE: dropped from the bounding set alone,
#                 faults stay faithful (fdsoak supervises its own child: the
#                 ptrace check passes); under a container's seccomp profile
#                 that fails pidfd_getfd and process_vm_readv with EPERM
#                 (Docker's default without CAP_SYS_PTRACE, fsk_noptrace),
#                 rules still fire, errno only, and the report says so (the
#                 profile refuses bpf() too: the connect programs do not
#                 load, and the report says that too)
#   sup_nnp       no_new_privs: set in the supervised tree only when fdsoak
#                 runs without CAP_SYS_ADMIN (as a user), and the report says
#                 so; faults stay faithful there
set -u
case_="$1"
BIN="$2"
HERE="$(cd "$(dirname "$0")" && pwd)"
T="$(mktemp -d /tmp/fsk-suplim-XXXXXX)"
LPID=""
trap '[ -n "$LPID" ] && kill "$LPID" 2>/dev/null; rm -rf "$T"' EXIT
. "$HERE/lib.sh"

export FSK_SUP_VERBOSE=1 # fsk_sup_exec prints the supervisor's account (the report's engine line)
PROBE="$BIN/fsk_sup_probe"
SUP="$BIN/fsk_sup_exec"
# Below the ephemeral range (32768-60999): no port-0 bind of a concurrent
# test can take it, and no connect to it can meet its own source port.
PORT=$((21000 + $$ % 9000))
[ "$(id -u)" = 0 ] || skip "needs root (to drop capabilities, and to run as another user)"
need setpriv python3

# A listener on PORT for 60 s at most: a connect the rule missed succeeds.
listen() {
  python3 -c "import socket,time; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('127.0.0.1', $PORT)); s.listen(64); time.sleep(60)" &
  LPID=$!
  i=0
  while [ "$i" -lt 50 ] && ! "$PROBE" connect 127.0.0.1 "$PORT" 200 nb >/dev/null 2>&1; do
    sleep 0.1
    i=$((i + 1))
  done
}
refuse="connect:addr=127.0.0.1,port=$PORT:do=refuse"

case "$case_" in
sup_noptrace)
  listen
  expect_rc 0 "without a rule the probe connects to the listener" "$PROBE" connect 127.0.0.1 "$PORT" 1000 nb
  # CAP_SYS_PTRACE dropped from the bounding set (gone after exec, for
  # fdsoak and the target): the faithful refusal still, on the notified
  # path (FDSOAK_BPF=0; the kernel's path takes no copy of the socket).
  expect_rc 111 "no CAP_SYS_PTRACE: refused" \
    env FDSOAK_BPF=0 setpriv --inh-caps=-sys_ptrace --bounding-set=-sys_ptrace "$SUP" "$refuse" "$PROBE" connect 127.0.0.1 "$PORT" 1000 nb
  has "$T/out" "no CAP_SYS_PTRACE: the refusal comes as on the network (EINPROGRESS, then SO_ERROR)" "SO_ERROR ECONNREFUSED"
  has "$T/err" "no CAP_SYS_PTRACE: faithful" "1 faults (1 faithful, 0 errno only)"
  # A container's profile: pidfd_getfd and process_vm_readv fail with EPERM.
  # It denies ptrace too, and LeakSanitizer stops the world with ptrace: on
  # the sanitizer build (ci/sanitize) leak checking is off from here on, as
  # it would have to be in such a container; memory errors are still caught.
  ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
  export ASAN_OPTIONS
  "$BIN/fsk_noptrace" sh -c 'grep -q "^Seccomp:[[:space:]]*2" /proc/self/status' \
    && ok "fsk_noptrace installs its filter" || bad "fsk_noptrace did not install a filter"
  expect_rc 111 "container profile: the rule still fires" \
    "$BIN/fsk_noptrace" "$SUP" "$refuse" "$PROBE" connect 127.0.0.1 "$PORT" 1000 nb
  has "$T/out" "container profile: errno only (connect fails at once)" "connect ECONNREFUSED"
  has "$T/err" "container profile: counted errno only" "1 faults (0 faithful, 1 errno only)"
  has "$T/err" "container profile: the reason is named" "pidfd_getfd was refused 1 times (no CAP_SYS_PTRACE over the target?)"
  has "$T/err" "container profile: the /proc/PID/mem fallback is named" "arguments read through /proc/PID/mem"
  has "$T/err" "container profile: bpf() refused, connects notified, named" \
    "connect notified (no eBPF: the kernel refused the BPF programs: Operation not permitted)"
  expect_rc 13 "container profile: errno rules by path" \
    "$BIN/fsk_noptrace" "$SUP" "open:path=*-nope-*:do=errno(EACCES)" "$PROBE" open /etc/fsk-x-nope-hostname
  # The real fdsoak on a static Go reconnect loop in the same profile: the
  # leak is found, origins named, the report says errno only.
  if command -v go >/dev/null 2>&1; then
    kill "$LPID" 2>/dev/null
    wait "$LPID" 2>/dev/null
    LPID=""
    CGO_ENABLED=0 GOCACHE="$BIN/../go-cache" GOPATH="$BIN/../go-path" GOFLAGS=-buildvcs=false \
      GO111MODULE=off go build -o "$T/reconnect" "$HERE/go/reconnect.go" || bad "go build reconnect"
    expect_rc 1 "container profile: fdsoak watch finds the Go leak" \
      "$BIN/fsk_noptrace" "$BIN/fdsoak" watch --inject "connect:addr=127.0.0.1,port=$PORT:when=every(3):do=refuse" \
      --cycles 40 --warmup 10 --out "$T/np" -- "$T/reconnect" -leak -port "$PORT"
    has "$T/out" "container profile: the report says errno only and why" "errno only); pidfd_getfd was refused"
    grep -q "at main.openStore (reconnect.go:" "$T/out" && ok "container profile: origins named" \
      || bad "container profile: no Go origin in the report"
  else
    echo "note: go is not installed; the fdsoak watch part is left out"
  fi
  ;;
sup_nnp)
  listen
  expect_rc 0 "as root (CAP_SYS_ADMIN): no_new_privs left unset" "$SUP" "socket:do=pass" "$PROBE" nnp
  ! grep -q "no_new_privs" "$T/err" && ok "as root: no no_new_privs note" || bad "as root: a no_new_privs note"
  asuser="setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --bounding-set=-all"
  expect_rc 1 "as a user: no_new_privs set in the tree" $asuser "$SUP" "socket:do=pass" "$PROBE" nnp
  has "$T/err" "as a user: the report says so" "no_new_privs set in the tree"
  # Through exec: a shell in the tree, then the probe.
  expect_rc 1 "as a user: inherited through fork and exec" \
    $asuser "$SUP" "socket:do=pass" sh -c "'$PROBE' nnp"
  expect_rc 111 "as a user: refuse is faithful" \
    $asuser "$SUP" "$refuse" "$PROBE" connect 127.0.0.1 "$PORT" 1000 nb
  has "$T/out" "as a user: SO_ERROR as on the network" "SO_ERROR ECONNREFUSED"
  has "$T/err" "as a user: counted faithful" "1 faults (1 faithful, 0 errno only)"
  ;;
*)
  bad "unknown case $case_"
  ;;
esac
finish
