#!/bin/sh
# The seccomp engine end to end: static Go programs (built here from go/,
# standard library only, CGO_ENABLED=0) and a static C program under the
# real fdsoak.  Each case is a CTest test.  Usage: go.sh CASE BUILD_BIN_DIR
#
#   go_leak      the seed's reconnect loop in Go (a store of two files dropped
#                on one failed dial in three) under --engine auto: leak; fixed:
#                flat; the report names the engine
#   go_sh        the same behind sh -c: --engine seccomp serves the tree;
#                --engine preload (the shim alone) says which process it missed
#   go_exec      --engine auto through exec: the shim in a dynamic program
#                hands each static or Go program it execs (sh -c, posix_spawn)
#                over to the supervisor; faults faithful, leaks and Go origins
#                found, and no call handled twice (a dynamic child below a
#                supervised static parent, a failed exec after the filter)
#   go_counting  no rules: interval mode and --pid count a Go program that no
#                shim reaches, and the origin messages are true
#   go_fidelity  every client x event against the real event, in a network
#                namespace of its own (root; skips with the reason elsewhere),
#                connects notified (FDSOAK_BPF=0)
#   go_bpf       connects decided in the kernel (the default): refused,
#                timeout and errno(E) against the real event, FDSOAK_BPF=0
#                named, exact attempts under fdsoak watch, and the non-root
#                fallback
#   go_bpf_origins  origins by eBPF stack capture (root, the default where
#                it loads): fdsoak watch on the leaky loop names each leaked
#                fd at its os.OpenFile line with the attempt the program
#                logged, with 0 calls notified, and without rules; FDSOAK_BPF=0
#                and a rule set the kernel cannot count take the notified
#                walk, named
#   c_origins    the same loop as a static C program at -O2 without frame
#                pointers (fsk_c_store): each leaked fd named by its C frames
#                with file:line (DWARF CFI unwinding), by function without
#                -g, by address when stripped; exact attempts
#   sup_rules    the static C probe under fsk_sup_exec: a datagram socket's
#                connect under hang, unreachable and reset goes on as it does
#                on the real event (getpeername names the peer); a rule the
#                engine cannot carry out is refused as fdsoak watch refuses it;
#                with the decisions in the kernel (root), datagram connects and
#                errno(E) print, exit and count as on the notified path;
#                FDSOAK_BPF other than 0 or 1 is refused with exit 2;
#                a dynamic child below a handed-over static program, gone
#                before the report, is listed as served by seccomp
#   go_dns       getaddrinfo rules on resolvers that make their own queries
#                (Go, static glibc) against a real nameserver answering
#                NXDOMAIN, SERVFAIL or nothing, in a network and
#                mount namespace of its own (root); and fdsoak watch on it
set -u
case_="$1"
BIN="$2"
HERE="$(cd "$(dirname "$0")" && pwd)"
T="$(mktemp -d /tmp/fsk-go-XXXXXX)"
trap 'rm -rf "$T"' EXIT
FDSOAK="$BIN/fdsoak"
. "$HERE/lib.sh"

# Build at test time, into this test's directory; the cache is the build
# tree's, so a second build is quick.  No network: standard library only.
gobuild() {
  need go # ci/bootstrap installs golang-go
  CGO_ENABLED=0 GOCACHE="$BIN/../go-cache" GOPATH="$BIN/../go-path" GOFLAGS=-buildvcs=false \
    GO111MODULE=off go build -o "$T/$1" "$HERE/go/$1.go" || { bad "go build $1"; finish; exit 1; }
}
# A port on loopback for this run (the program listens on it itself),
# above the ephemeral range (32768-60999 by default): a busy machine's
# outgoing connections hold ports in that range, and a listener there may
# find its port taken ("address already in use").
lo_eph=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
hi_eph=$(cut -f2 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 60999)
if [ "$hi_eph" -lt 61000 ]; then
  PORT=$((61000 + $$ % 4000))
else
  PORT=$((lo_eph - 5000 + $$ % 4000))
fi

case "$case_" in
go_leak)
  gobuild reconnect
  spec="connect:addr=127.0.0.1,port=$PORT:when=every(3):do=refuse"
  expect_rc 1 "auto: the leaky Go loop leaks" \
    "$FDSOAK" watch --inject "$spec" --cycles 60 --warmup 10 --out "$T/leak" -- \
    "$T/reconnect" -leak -port "$PORT" -log "$T/attempts.log"
  cat "$T/out"
  # Exact attempts: the supervisor notes the attempt counter when it lets
  # each open through, as the shim's fd record does; the program logs the
  # attempt (its failed dial's number) of each store it dropped.
  ! grep -q "sampled, not exact" "$T/out" && ok "attempts exact under the supervisor" \
    || bad "sampled attempts: $(grep -m1 'sampled, not exact' "$T/out")"
  json "$T/leak/summary.json" "all(l['opened_exact'] for s in d['scenarios'] for l in s['leaked'])" \
    | grep -q True && ok "every leaked fd: opened_exact" || bad "a leaked fd without an exact attempt"
  # One store per dropped attempt: each file's leaked fds have distinct
  # attempts, and they are every logged attempt between the first and the
  # last (a sample's attempt would repeat or skip).
  python3 - "$T/leak/summary.json" "$T/attempts.log" >"$T/cmp" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
logged = [int(x) for x in open(sys.argv[2]).read().split()]
bad = []
for name in ("responses.db", "responses.db-wal"):
    got = sorted(int(l["opened_cycle"]) for s in d["scenarios"] for l in s["leaked"]
                 if l["target"].rsplit("/", 1)[-1] == name)
    want = [k for k in logged if got and got[0] <= k <= got[-1]]
    if len(got) < 10 or got != want:
        bad.append("%s: %s, logged %s" % (name, got, want))
print("; ".join(bad) if bad else "same")
PY
  [ "$(cat "$T/cmp")" = same ] && ok "each leaked fd's attempt is the one the program logged" \
    || bad "attempts differ: $(cat "$T/cmp")"
  has "$T/out" "engine named" "engine: seccomp"
  [ "$(json "$T/leak/summary.json" "d['target']['engine']")" = seccomp ] && ok "summary: engine seccomp" \
    || bad "summary engine $(json "$T/leak/summary.json" "d['target'].get('engine')")"
  [ "$(json "$T/leak/summary.json" "sorted(set(p['engine'] for p in d['target']['processes']))")" = "['seccomp']" ] \
    && ok "every process: seccomp" || bad "per-process engines"
  [ "$(json "$T/leak/summary.json" "' '.join(sorted(set(l['target'].rsplit('/',1)[-1] for s in d['scenarios'] for l in s['leaked'])))")" \
    = "responses.db responses.db-wal" ] && ok "the store's two files leaked" || bad "leaked targets"
  json "$T/leak/summary.json" "abs(d['scenarios'][0]['rate']['fds'] - 2.0) < 0.2" | grep -q True \
    && ok "2 fds per injected failure" || bad "rate $(json "$T/leak/summary.json" "d['scenarios'][0]['rate']")"
  # Origins: the Go frames of each leaked file, from .gopclntab, with the
  # lines of reconnect.go that call os.OpenFile.
  l_db=$(grep -n 'os.OpenFile(filepath.Join(dir, "responses.db")' "$HERE/go/reconnect.go" | cut -d: -f1)
  l_wal=$(grep -n 'os.OpenFile(filepath.Join(dir, "responses.db-wal")' "$HERE/go/reconnect.go" | cut -d: -f1)
  grep -q "x file .*/responses.db, .* at main.openStore (reconnect.go:$l_db)\$" "$T/out" \
    && ok "terminal: the db's group at its os.OpenFile line" || bad "terminal: no group for the db at reconnect.go:$l_db"
  json "$T/leak/summary.json" "'\n'.join(l['target'].rsplit('/',1)[-1] + ' ' + l['origin'] for s in d['scenarios'] for l in s['leaked'])" >"$T/origins"
  grep "^responses.db " "$T/origins" | grep -q "by main.openStore (reconnect.go:$l_db) <- main.main" \
    && ok "db named at reconnect.go:$l_db" || bad "db origin: $(grep -m1 '^responses.db ' "$T/origins")"
  grep "^responses.db-wal " "$T/origins" | grep -q "by main.openStore (reconnect.go:$l_wal) <- main.main" \
    && ok "-wal named at reconnect.go:$l_wal" || bad "wal origin: $(grep -m1 '^responses.db-wal ' "$T/origins")"
  # Stripped (no symbols, no DWARF): .gopclntab still names them.
  CGO_ENABLED=0 GOCACHE="$BIN/../go-cache" GOPATH="$BIN/../go-path" GOFLAGS=-buildvcs=false \
    GO111MODULE=off go build -ldflags=-s\ -w -o "$T/stripped" "$HERE/go/reconnect.go" || bad "go build stripped"
  expect_rc 1 "auto: the stripped leaky Go loop leaks" \
    "$FDSOAK" watch --inject "$spec" --cycles 40 --warmup 10 --out "$T/strip" -q -- \
    "$T/stripped" -leak -port "$PORT"
  json "$T/strip/summary.json" "d['scenarios'][0]['leaked'][0]['origin']" | grep -q "by main.openStore (reconnect.go:\($l_db\|$l_wal\))" \
    && ok "stripped binary: origins named" || bad "stripped origin: $(json "$T/strip/summary.json" "d['scenarios'][0]['leaked'][0]['origin']")"
  expect_rc 0 "auto: the fixed Go loop is flat" \
    "$FDSOAK" watch --inject "$spec" --cycles 60 --warmup 10 --out "$T/fixed" -q -- \
    "$T/reconnect" -port "$PORT"
  # The same binary under the shim: it never loads, and says so.
  expect_rc 2 "preload: a static Go program is refused" \
    "$FDSOAK" watch --engine preload --inject "$spec" --cycles 5 -- "$T/reconnect" -port "$PORT"
  has "$T/err" "preload refusal names Go and the way out" "a Go program): no fault can be injected or counted by it (--engine seccomp can)"
  ;;
go_sh)
  gobuild reconnect
  spec="connect:addr=127.0.0.1,port=$PORT:when=every(3):do=hang"
  expect_rc 1 "seccomp: a leak behind sh -c is caught (hang)" \
    "$FDSOAK" watch --engine seccomp --inject "$spec" --cycles 40 --warmup 10 --out "$T/sh" -q -- \
    sh -c "'$T/reconnect' -leak -port $PORT -timeout 50ms >'$T/sh.log'; true"
  [ "$(json "$T/sh/summary.json" "sorted(p['comm'] for p in d['target']['processes'])")" = "['reconnect', 'sh']" ] \
    && ok "tree: sh and reconnect" || bad "tree $(json "$T/sh/summary.json" "[p['comm'] for p in d['target']['processes']]")"
  # sh's child opened the redirection's file before it became the Go
  # program (same pid, same start time): the Go frames are still found.
  l_db=$(grep -n 'os.OpenFile(filepath.Join(dir, "responses.db")' "$HERE/go/reconnect.go" | cut -d: -f1)
  json "$T/sh/summary.json" "'\n'.join(l['target'].rsplit('/',1)[-1] + ' ' + l['origin'] for s in d['scenarios'] for l in s['leaked'])" >"$T/origins"
  grep "^responses.db " "$T/origins" | grep -q "by main.openStore (reconnect.go:$l_db) <- main.main" \
    && ok "behind sh -c with a redirection: Go origins" || bad "sh -c origin: $(grep -m1 '^responses.db ' "$T/origins")"
  [ "$(json "$T/sh/summary.json" "sorted(set(p['engine'] for p in d['target']['processes']))")" = "['seccomp']" ] \
    && ok "both served by the supervisor (the filter is inherited through fork and exec)" || bad "engines"
  expect_rc 2 "preload behind sh -c: the shim cannot reach the Go child" \
    "$FDSOAK" watch --engine preload --inject "$spec" --cycles 20 --warmup 5 --stall 1 --timeout 4 --out "$T/auto" -q -- \
    sh -c "'$T/reconnect' -leak -port $PORT -timeout 50ms -attempts 100; true"
  has "$T/err" "the message names the process the shim missed" "reconnect: a static or Go program?): the rules did not reach it; --engine seccomp serves the whole tree"
  ;;
go_exec)
  gobuild reconnect
  gobuild dial
  PROBE="$BIN/fsk_sup_probe"
  # The interpreter itself, not a wrapper script (pyenv's shims are bash
  # scripts that start several processes first).
  PY=$(python3 -c 'import sys; print(sys.executable)')
  # Free ports now, from the kernel (other tests on this loopback pick
  # theirs by pid): one for the loop and the listener, one left closed.
  free_port() { "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
  PORT=$(free_port)
  # The seed's loop behind sh -c, default engine: sh gets the shim, and the
  # Go child is handed over when sh execs it.
  spec="connect:addr=127.0.0.1,port=$PORT:when=every(3):do=refuse"
  expect_rc 1 "auto: a Go leak behind sh -c is caught (refuse)" \
    "$FDSOAK" watch --inject "$spec" --cycles 40 --warmup 10 --out "$T/sh" -- \
    sh -c "'$T/reconnect' -leak -port $PORT; true"
  has "$T/out" "the report names the hand-over" "1 static or Go program handed over through exec"
  [ "$(json "$T/sh/summary.json" "d['target']['engine']")" = auto ] && ok "summary: engine auto" \
    || bad "summary engine $(json "$T/sh/summary.json" "d['target'].get('engine')")"
  [ "$(json "$T/sh/summary.json" "sorted((p['comm'], p['engine']) for p in d['target']['processes'])")" \
    = "[('reconnect', 'seccomp'), ('sh', 'shim')]" ] && ok "sh: shim, reconnect: seccomp" \
    || bad "engines $(json "$T/sh/summary.json" "[(p['comm'], p['engine']) for p in d['target']['processes']]")"
  json "$T/sh/summary.json" "abs(d['scenarios'][0]['rate']['fds'] - 2.0) < 0.2" | grep -q True \
    && ok "2 fds per injected failure" || bad "rate $(json "$T/sh/summary.json" "d['scenarios'][0]['rate']")"
  l_db=$(grep -n 'os.OpenFile(filepath.Join(dir, "responses.db")' "$HERE/go/reconnect.go" | cut -d: -f1)
  json "$T/sh/summary.json" "'\n'.join(l['target'].rsplit('/',1)[-1] + ' ' + l['origin'] for s in d['scenarios'] for l in s['leaked'])" >"$T/origins"
  grep "^responses.db " "$T/origins" | grep -q "(reconnect); by main.openStore (reconnect.go:$l_db) <- main.main" \
    && ok "Go origin through the hand-over: reconnect.go:$l_db" || bad "db origin: $(grep -m1 '^responses.db ' "$T/origins")"

  # Faithful: a live listener, so the real dial connects; under the rule the
  # Go client and the static C probe see a refusal as on a closed port.
  python3 -c "
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', int(sys.argv[1]))); s.listen(128)
open(sys.argv[2], 'w').write('up')
time.sleep(90)" "$PORT" "$T/up" &
lpid=$!
  i=0
  while [ ! -s "$T/up" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
  closed=$(free_port)
  "$T/dial" 127.0.0.1 "$PORT" 2 >"$T/plain_go"
  has "$T/plain_go" "plain: the Go client connects to the listener" "connected"
  "$T/dial" 127.0.0.1 "$closed" 2 >"$T/real_go"
  has "$T/real_go" "real refusal: the Go client's error" "connect: connection refused"
  spec="connect:addr=127.0.0.1,port=$PORT:do=refuse"
  expect_rc 3 "auto: Go client behind sh -c" \
    "$FDSOAK" watch --inject "$spec" --cycles 5 --timeout 6 --out "$T/godial" -- \
    sh -c "'$T/dial' 127.0.0.1 $PORT 2; sleep 9"
  has "$T/out" "the Go client behind sh -c is refused as on the real event" \
    "dial tcp 127.0.0.1:$PORT: connect: connection refused"
  "$PROBE" connect 127.0.0.1 "$closed" 1000 nb | grep -E '^(poll|SO_ERROR)' >"$T/real_c"
  "$PROBE" connect 127.0.0.1 "$PORT" 1000 nb | grep -E '^(poll|SO_ERROR)' >"$T/plain_c"
  has "$T/plain_c" "plain: the static C probe connects" "SO_ERROR 0"
  expect_rc 3 "auto: static C probe behind sh -c" \
    "$FDSOAK" watch --inject "$spec" --cycles 5 --timeout 6 --out "$T/c_sh" -- \
    sh -c "'$PROBE' connect 127.0.0.1 $PORT 1000 nb; sleep 9"
  grep -E '^(poll|SO_ERROR)' "$T/out" >"$T/c_sh.seen"
  cmp -s "$T/real_c" "$T/c_sh.seen" && ok "sh -c: the probe sees the real refusal's poll mask and SO_ERROR" \
    || bad "sh -c: probe saw $(tr '\n' ' ' <"$T/c_sh.seen"), real $(tr '\n' ' ' <"$T/real_c")"
  expect_rc 3 "auto: static C probe through posix_spawn from a dynamic parent" \
    "$FDSOAK" watch --inject "$spec" --cycles 5 --timeout 6 --out "$T/c_spawn" -- \
    "$PY" -c "
import os, sys, time
pid = os.posix_spawn(sys.argv[1], ['fsk_sup_probe', 'connect', '127.0.0.1', sys.argv[2], '1000', 'nb'], os.environ)
_, st = os.waitpid(pid, 0)
print('probe exit', os.waitstatus_to_exitcode(st), flush=True)
time.sleep(9)" "$PROBE" "$PORT"
  grep -E '^(poll|SO_ERROR)' "$T/out" >"$T/c_spawn.seen"
  cmp -s "$T/real_c" "$T/c_spawn.seen" && ok "posix_spawn: the probe sees the real refusal's poll mask and SO_ERROR" \
    || bad "posix_spawn: probe saw $(tr '\n' ' ' <"$T/c_spawn.seen"), real $(tr '\n' ' ' <"$T/real_c")"
  has "$T/out" "posix_spawn: the probe keeps argv[0] and its exit (ECONNREFUSED)" "probe exit 111"
  kill "$lpid" 2>/dev/null
  wait "$lpid" 2>/dev/null
  # Nothing of the hand-over stays in the program's fd table: the probe
  # counts the same fds handed over as under the shim alone.
  for eng in auto preload; do
    expect_rc 2 "$eng: the static probe counts its fds behind sh -c (no connect: the rule never fires)" \
      "$FDSOAK" watch --engine "$eng" --inject "$spec" --cycles 5 --timeout 6 --out "$T/fds_$eng" -- \
      sh -c "'$PROBE' fds; sleep 9"
    grep '^fds ' "$T/out" >"$T/fds_$eng.seen"
  done
  [ -s "$T/fds_auto.seen" ] && cmp -s "$T/fds_auto.seen" "$T/fds_preload.seen" \
    && ok "no fd of the hand-over in the program ($(cat "$T/fds_auto.seen"))" \
    || bad "fds handed over: $(cat "$T/fds_auto.seen"), under the shim alone: $(cat "$T/fds_preload.seen")"

  # No call handled twice: python3 (dynamic, LD_PRELOAD still set) below
  # the supervised static probe has both the shim and the filter; do=pass
  # counts each connect it sees, so twice handled would count 2N.
  N=25
  spec="connect:addr=127.0.0.1,port=$closed:do=pass"
  conn="import socket, sys, time
for i in range($N):
    s = socket.socket(); s.connect_ex(('127.0.0.1', $closed)); s.close()
time.sleep(9)"
  expect_rc 3 "auto: a dynamic child below a supervised static parent" \
    "$FDSOAK" watch --inject "$spec" --cycles 5 --timeout 6 --out "$T/once" -- \
    sh -c "'$PROBE' run '$PY' -c \"\$0\"" "$conn"
  has "$T/out" "its $N connects counted once" "attempts: $N (observed)"
  [ "$(json "$T/once/summary.json" "sorted((p['comm'], p['engine']) for p in d['target']['processes'])")" \
    = "[('fsk_sup_probe', 'seccomp'), ('python3', 'seccomp'), ('sh', 'shim')]" ] && ok "python3 below the probe: seccomp" \
    || bad "engines $(json "$T/once/summary.json" "[(p['comm'], p['engine']) for p in d['target']['processes']]")"
  # An exec that fails after the filter went in: the filter stays, and the
  # process is the supervisor's from then on (the shim stands down).
  head -c 64 "$PROBE" >"$T/bogus"
  chmod +x "$T/bogus"
  expect_rc 3 "auto: a failed exec of a static file" \
    "$FDSOAK" watch --inject "$spec" --cycles 5 --timeout 6 --out "$T/failed" -- \
    "$PY" -c "import os
try:
    os.execv('$T/bogus', ['bogus'])
except OSError as e:
    print('exec failed', e.errno, flush=True)
$conn"
  has "$T/out" "the exec failed (ENOEXEC)" "exec failed 8"
  has "$T/out" "after it, $N connects counted once" "attempts: $N (observed)"
  ;;
go_counting)
  gobuild reconnect
  closed=$((PORT + 1))
  # Every dial fails for real (nothing listens there): the program leaks in
  # interval mode, with no rule and no shim.
  expect_rc 1 "interval mode counts a static Go program" \
    "$FDSOAK" watch --cycles 60 --interval 30 --warmup 10 --out "$T/iv" -- \
    "$T/reconnect" -leak -port "$PORT" -dial "$closed" -sleep 10ms
  ! grep -q "never loaded" "$T/err" && ok "no shim demanded" || bad "shim demanded"
  # No rules, but origins: the supervisor records the Go frames.
  l_db=$(grep -n 'os.OpenFile(filepath.Join(dir, "responses.db")' "$HERE/go/reconnect.go" | cut -d: -f1)
  has "$T/out" "interval mode: origins from the supervisor" "at main.openStore (reconnect.go:$l_db)"
  # The shim's engine, forced: the program runs without any, and says so.
  expect_rc 1 "interval mode, --engine preload" \
    "$FDSOAK" watch --engine preload --cycles 60 --interval 30 --warmup 10 --out "$T/ivp" -- \
    "$T/reconnect" -leak -port "$PORT" -dial "$closed" -sleep 10ms
  has "$T/out" "origin message true for a started static program" \
    "has no shim (a static or Go program: LD_PRELOAD cannot reach it)"
  ! grep -q "overwritten" "$T/out" && ok "no ring-overwritten claim" || bad "ring claim"
  # Counting alone: no engine at all.
  expect_rc 1 "interval mode, --origins off" \
    "$FDSOAK" watch --origins off --cycles 60 --interval 30 --warmup 10 --out "$T/ivo" -- \
    "$T/reconnect" -leak -port "$PORT" -dial "$closed" -sleep 10ms
  [ "$(json "$T/ivo/summary.json" "d['target']['engine']")" = none ] && ok "no engine for counting alone" \
    || bad "engine $(json "$T/ivo/summary.json" "d['target']['engine']")"
  "$T/reconnect" -leak -port "$((PORT + 2))" -dial "$closed" -sleep 10ms -attempts 3000 &
  pid=$!
  sleep 0.3
  expect_rc 1 "--pid counts a static Go program" \
    "$FDSOAK" watch --pid "$pid" --cycles 60 --warmup 10 --interval 25 --out "$T/pid"
  has "$T/out" "origin message true for --pid" "no origins: process $pid (reconnect) has no shim and was not started by fdsoak"
  expect_rc 1 "--pid --origins off" \
    "$FDSOAK" watch --pid "$pid" --cycles 60 --warmup 10 --interval 25 --origins off --out "$T/off"
  ! grep -q "without an origin" "$T/out" && ok "--origins off: no origin message" || bad "origin message with --origins off"
  kill "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  ;;
go_fidelity)
  [ "$(id -u)" = 0 ] || skip "needs root (unshare -n, iptables inside the namespace)"
  need unshare ip iptables python3
  unshare -n true 2>/dev/null || skip "unshare -n is not permitted here"
  gobuild dial
  gobuild reconnect
  # unreachable under fdsoak watch (main refused it with exit 2): the leaky
  # Go loop, one dial in three failed by an ICMP net unreachable.
  # In a namespace of its own: the loop listens on the port itself.
  expect_rc 1 "watch: unreachable(net) under the seccomp engine, leaky Go loop" \
    unshare -n sh -c 'ip link set lo up && exec "$@"' sh \
    "$FDSOAK" watch --engine seccomp --inject "connect:addr=127.0.0.1,port=$PORT:when=every(3):do=unreachable(net)" \
    --cycles 40 --warmup 10 --out "$T/un" -q -- "$T/reconnect" -leak -port "$PORT"
  json "$T/un/summary.json" "d['target']['engine_note']" >"$T/note"
  has "$T/note" "the faults were faithful, none errno only" "faithful, 0 errno only"
  # The notification path (FDSOAK_BPF=0), every event: where the eBPF
  # programs do not load (not root, no cgroup v2) it is the one used.
  # go_bpf runs refused and timeout through the kernel path, the default.
  if FDSOAK_BPF=0 unshare -n python3 "$HERE/go_fidelity.py" "$T" "$BIN" >"$T/table" 2>&1; then
    ok "fidelity table, connects notified (FDSOAK_BPF=0)"
  else
    bad "fidelity table, connects notified (FDSOAK_BPF=0)"
  fi
  cat "$T/table"
  # The same over IPv6 (::1; the events made with ip6tables), where
  # unreachable is always the model (the sink, TCP_USER_TIMEOUT 1 ms, the
  # soft error answered at the first SO_ERROR read).
  if ! command -v ip6tables >/dev/null 2>&1; then
    echo "note: no ip6tables: the IPv6 table is not run"
  elif FDSOAK_BPF=0 FSK_FIDELITY_HOST=::1 unshare -n python3 "$HERE/go_fidelity.py" "$T" "$BIN" >"$T/table6" 2>&1; then
    ok "IPv6 fidelity table, connects notified (FDSOAK_BPF=0)"
  else
    bad "IPv6 fidelity table, connects notified (FDSOAK_BPF=0)"
  fi
  [ -f "$T/table6" ] && cat "$T/table6"
  ;;
go_bpf)
  # The connect decisions in the kernel (the default; harness/src/bpfconn.c):
  # the same fidelity pairs for refuse and hang, getpeername as asked, the
  # leak with exact attempts under fdsoak watch, and the fallback named.
  [ "$(id -u)" = 0 ] || skip "needs root (cgroup eBPF, unshare -n)"
  need unshare ip iptables python3 setpriv
  unshare -n true 2>/dev/null || skip "unshare -n is not permitted here"
  gobuild dial
  gobuild reconnect
  PROBE="$BIN/fsk_sup_probe"
  # The default (no FDSOAK_BPF): decided in the kernel.
  env -u FDSOAK_BPF FSK_SUP_VERBOSE=1 "$BIN/fsk_sup_exec" "connect:addr=127.0.0.1,port=$PORT:do=refuse" \
    "$T/dial" 127.0.0.1 "$PORT" 1 >"$T/one" 2>&1
  # A build without libbpf/bpftool (CMake skips the BPF object) has no
  # kernel path to test.
  grep -q "built without libbpf" "$T/one" && skip "this build has no eBPF (libbpf, clang or bpftool missing)"
  has "$T/one" "by default, refuse decided in the kernel" "connect decided in the kernel (cgroup eBPF): 1 connects, 1 faults"
  has "$T/one" "no notification" "seccomp supervisor: 0 calls notified"
  has "$T/one" "the Go client refused" "connection refused"
  # FDSOAK_BPF=0: notified, and said so.
  FDSOAK_BPF=0 FSK_SUP_VERBOSE=1 "$BIN/fsk_sup_exec" "connect:addr=127.0.0.1,port=$PORT:do=refuse" \
    "$T/dial" 127.0.0.1 "$PORT" 1 >"$T/off" 2>&1
  has "$T/off" "FDSOAK_BPF=0: notified, named" "connect notified (no eBPF: FDSOAK_BPF=0); seccomp supervisor: 1 calls notified, 1 faults"
  has "$T/off" "FDSOAK_BPF=0: the Go client refused" "connection refused"
  # The static C probe under hang: nothing listens on PORT, so a connect
  # the kernel did not point at the sink would be refused at once (poll 1).
  FDSOAK_BPF=1 FSK_SUP_VERBOSE=1 "$BIN/fsk_sup_exec" "connect:addr=127.0.0.1,port=$PORT:do=hang" \
    "$PROBE" connect 127.0.0.1 "$PORT" 300 nb >"$T/hang" 2>&1
  has "$T/hang" "probe: hang decided in the kernel" "connect decided in the kernel (cgroup eBPF): 1 connects, 1 faults"
  has "$T/hang" "probe: the hang's poll times out, as on a dropped SYN" "poll 0"
  if FSK_FIDELITY_EVENTS=refused,timeout FSK_FIDELITY_ERRNO=1 FDSOAK_BPF=1 unshare -n python3 "$HERE/go_fidelity.py" "$T" "$BIN" \
    >"$T/table" 2>&1; then
    ok "fidelity table through eBPF (refused, timeout, errno(EACCES))"
  else
    bad "fidelity table through eBPF"
  fi
  cat "$T/table"
  spec="connect:addr=127.0.0.1,port=$PORT:when=every(3):do=refuse"
  expect_rc 1 "watch, eBPF: the leaky Go loop leaks" \
    env FDSOAK_BPF=1 "$FDSOAK" watch --engine seccomp --inject "$spec" --cycles 60 --warmup 10 --out "$T/leak" -- \
    "$T/reconnect" -leak -port "$PORT" -log "$T/attempts.log"
  json "$T/leak/summary.json" "d['target']['engine_note']" >"$T/note"
  has "$T/note" "watch: connects decided in the kernel" "connect decided in the kernel (cgroup eBPF)"
  json "$T/leak/summary.json" "all(l['opened_exact'] for s in d['scenarios'] for l in s['leaked'])" \
    | grep -q True && ok "eBPF: every leaked fd opened_exact" || bad "eBPF: a leaked fd without an exact attempt"
  python3 - "$T/leak/summary.json" "$T/attempts.log" >"$T/cmp" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
logged = [int(x) for x in open(sys.argv[2]).read().split()]
got = sorted(int(l["opened_cycle"]) for s in d["scenarios"] for l in s["leaked"]
             if l["target"].rsplit("/", 1)[-1] == "responses.db")
want = [k for k in logged if got and got[0] <= k <= got[-1]]
print("same" if len(got) >= 10 and got == want else "%s, logged %s" % (got, want))
PY
  [ "$(cat "$T/cmp")" = same ] && ok "eBPF: each leaked fd's attempt is the one the program logged" \
    || bad "eBPF: attempts differ: $(cat "$T/cmp")"
  # The fallback: not root, so no BPF; the supervisor decides and says why.
  chmod 755 "$T"
  FDSOAK_BPF=1 FSK_SUP_VERBOSE=1 setpriv --reuid=65534 --regid=65534 --clear-groups \
    "$BIN/fsk_sup_exec" "connect:addr=127.0.0.1,port=$PORT:do=refuse" "$T/dial" 127.0.0.1 "$PORT" 1 \
    >"$T/fb" 2>&1
  has "$T/fb" "fallback named" "connect notified (no eBPF: not root)"
  has "$T/fb" "fallback still refuses" "connection refused"
  ;;
go_bpf_origins)
  # Origins by eBPF stack capture (connect.bpf.c's raw syscall tracepoints,
  # bpfconn.c's ring): open and socket are not notified, yet each leaked fd
  # has its Go frames and the exact attempt, as on the notified path.
  [ "$(id -u)" = 0 ] || skip "needs root (eBPF)"
  need python3
  gobuild reconnect
  SRC_GO="$HERE/go/reconnect.go"
  l_db=$(grep -n 'os.OpenFile(filepath.Join(dir, "responses.db")' "$SRC_GO" | cut -d: -f1)
  l_wal=$(grep -n 'os.OpenFile(filepath.Join(dir, "responses.db-wal")' "$SRC_GO" | cut -d: -f1)
  spec="connect:addr=127.0.0.1,port=$PORT:when=every(3):do=refuse"
  # Each leaked fd of the file named at its line; the attempts are those
  # the program logged (one store dropped per failed dial).
  check_origins() { # check_origins DIR WHAT
    python3 - "$1/summary.json" "$T/attempts.log" "$l_db" "$l_wal" >"$T/cmp" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
logged = [int(x) for x in open(sys.argv[2]).read().split()]
bad = []
for name, line in (("responses.db", sys.argv[3]), ("responses.db-wal", sys.argv[4])):
    ls = [l for s in d["scenarios"] for l in s["leaked"] if l["target"].rsplit("/", 1)[-1] == name]
    want_o = "by main.openStore (reconnect.go:%s) <- main.main (reconnect.go:" % line
    named = [l for l in ls if want_o in l["origin"]]
    if len(ls) < 10 or len(named) != len(ls):
        bad.append("%s: %d of %d at reconnect.go:%s (%s)" % (name, len(named), len(ls), line,
                                                            ls[0]["origin"] if ls else "none"))
    got = sorted(int(l["opened_cycle"]) for l in ls if l["opened_exact"])
    want = [k for k in logged if got and got[0] <= k <= got[-1]]
    if len(got) != len(ls) or got != want:
        bad.append("%s attempts %s, logged %s" % (name, got, want))
print("; ".join(bad) if bad else "same")
PY
    [ "$(cat "$T/cmp")" = same ] && ok "$2: every leaked fd at its os.OpenFile line, attempt as logged" \
      || bad "$2: $(cat "$T/cmp")"
  }
  rm -f "$T/attempts.log"
  expect_rc 1 "eBPF origins: the leaky Go loop leaks" \
    env -u FDSOAK_BPF "$FDSOAK" watch --engine seccomp --inject "$spec" --cycles 45 --warmup 10 \
    --out "$T/bo" -- "$T/reconnect" -leak -port "$PORT" -log "$T/attempts.log"
  grep -q "built without libbpf" "$T/out" && skip "this build has no eBPF (libbpf, clang or bpftool missing)"
  has "$T/out" "eBPF: stacks captured in the kernel" "Go stacks (eBPF stack capture, .gopclntab)"
  has "$T/out" "eBPF: no open or socket notified" "seccomp supervisor: 0 calls notified"
  has "$T/out" "eBPF: no record lost" " 0 records lost"
  has "$T/out" "eBPF: says how the calls were caught" "; captured by raw tracepoint"
  check_origins "$T/bo" "eBPF"
  # The kernel's own walk (bpf_get_stack) against the program's
  # frame-pointer walk: the same frames and attempts.
  rm -f "$T/attempts.log"
  expect_rc 1 "eBPF, the kernel's walk: the leaky Go loop leaks" \
    env -u FDSOAK_BPF -u FSK_BPF_ORIGINS_HOOK FSK_BPF_STACK_WALK=kernel "$FDSOAK" watch --engine seccomp \
    --inject "connect:addr=127.0.0.1,port=$((PORT + 6)):when=every(3):do=refuse" --cycles 45 --warmup 10 \
    --out "$T/bk" -- "$T/reconnect" -leak -port "$((PORT + 6))" -log "$T/attempts.log"
  has "$T/out" "eBPF, the kernel's walk: by the raw tracepoint" "; captured by raw tracepoint"
  has "$T/out" "eBPF, the kernel's walk: no record lost" " 0 records lost"
  check_origins "$T/bk" "eBPF, the kernel's walk"
  # fexit, asked for: where the kernel takes it, captured by it; where it
  # refuses (every kernel this has run on), the notified walk and why.
  # Either way every leaked fd is named at its line.
  rm -f "$T/attempts.log"
  expect_rc 1 "FSK_BPF_ORIGINS_HOOK=fexit: the leaky Go loop leaks" \
    env -u FDSOAK_BPF FSK_BPF_ORIGINS_HOOK=fexit "$FDSOAK" watch --engine seccomp \
    --inject "connect:addr=127.0.0.1,port=$((PORT + 7)):when=every(3):do=refuse" --cycles 45 --warmup 10 \
    --out "$T/bf" -- "$T/reconnect" -leak -port "$((PORT + 7))" -log "$T/attempts.log"
  if grep -q "; captured by fexit" "$T/out"; then
    ok "fexit: taken by this kernel"
  else
    has "$T/out" "fexit refused: the notified walk, and why" "no eBPF stack capture: the kernel refused the fexit"
  fi
  check_origins "$T/bf" "FSK_BPF_ORIGINS_HOOK=fexit"
  expect_rc 2 "FSK_BPF_STACK_WALK=bogus is refused" \
    env FSK_BPF_STACK_WALK=bogus "$FDSOAK" watch --engine seccomp --cycles 2 -- "$T/reconnect" -port "$PORT"
  has "$T/err" "FSK_BPF_STACK_WALK=bogus: says what it takes" "expected fp (the program's own walk"
  # The switch: FDSOAK_BPF=0 takes the notified walk, and says so.
  rm -f "$T/attempts.log"
  expect_rc 1 "FDSOAK_BPF=0: the leaky Go loop leaks" \
    env FDSOAK_BPF=0 "$FDSOAK" watch --engine seccomp --inject "connect:addr=127.0.0.1,port=$((PORT + 1)):when=every(3):do=refuse" \
    --cycles 45 --warmup 10 --out "$T/bn" -- "$T/reconnect" -leak -port "$((PORT + 1))" -log "$T/attempts.log"
  has "$T/out" "FDSOAK_BPF=0: notified origins, named" "(.gopclntab), 0 C stacks (DWARF CFI)"
  has "$T/out" "FDSOAK_BPF=0: the reason" "notified (no eBPF stack capture: FDSOAK_BPF=0)"
  check_origins "$T/bn" "FDSOAK_BPF=0"
  # No rules (interval mode): nothing for fdsoak to decide, so nothing
  # notified at all, and the leaked fds still named.
  expect_rc 1 "no rules: interval mode on the leaky loop" \
    env -u FDSOAK_BPF "$FDSOAK" watch --cycles 30 --interval 60 --warmup 5 --out "$T/iv" -- \
    "$T/reconnect" -leak -port "$((PORT + 3))" -dial "$((PORT + 4))" -sleep 10ms
  has "$T/out" "no rules: stacks captured in the kernel, 0 notified" \
    "seccomp supervisor: 0 calls notified, 0 faults (0 faithful, 0 errno only); origins:"
  has "$T/out" "no rules: by eBPF" "Go stacks (eBPF stack capture, .gopclntab)"
  has "$T/out" "no rules: the db named at its line" "at main.openStore (reconnect.go:$l_db)"
  # A rule the kernel does not count (open): the attempt would mix both
  # counts, so the notified walk, named.
  FSK_SUP_ORIGINS=1 FSK_SUP_VERBOSE=1 "$BIN/fsk_sup_exec" "open:path=*-nope-*:do=errno(EACCES)" \
    "$T/reconnect" -port "$((PORT + 2))" -attempts 3 >"$T/mixed" 2>&1
  has "$T/mixed" "open rule: notified origins, named" "no eBPF stack capture: eBPF stack capture needs rules on connect alone, or none"
  # Not root: no eBPF, so the notified walk, named, and still the frames.
  if command -v setpriv >/dev/null 2>&1; then
    chmod 755 "$T"
    FDSOAK_BPF=1 FSK_SUP_ORIGINS=1 FSK_SUP_VERBOSE=1 setpriv --reuid=65534 --regid=65534 --clear-groups \
      "$BIN/fsk_sup_exec" "connect:addr=127.0.0.1,port=$((PORT + 5)):do=refuse" \
      "$T/reconnect" -port "$((PORT + 5))" -attempts 3 >"$T/nonroot" 2>&1
    has "$T/nonroot" "not root: notified origins, named" "Go stacks (.gopclntab), 0 C stacks (DWARF CFI)"
    has "$T/nonroot" "not root: the reason" "notified (no eBPF stack capture: not root)"
  fi
  ;;
c_origins)
  need python3 strip
  C="$BIN/fsk_c_store"
  # Each run its own port: a listener just closed may hold it a moment.
  spec="connect:addr=127.0.0.1,port=$PORT-$((PORT + 3)):when=every(3):do=refuse"
  SRC_C="$HERE/fsk_c_store.c"
  l_db=$(grep -n 'if ((s->db = open(p' "$SRC_C" | cut -d: -f1)
  l_wal=$(grep -n 'if ((s->wal = open(p' "$SRC_C" | cut -d: -f1)
  l_call=$(grep -n 'if (store_open(&s) != 0)' "$SRC_C" | cut -d: -f1)
  expect_rc 1 "seccomp: the leaky static C loop leaks" \
    "$FDSOAK" watch --engine seccomp --inject "$spec" --cycles 60 --warmup 10 --out "$T/c" -- \
    "$C" -leak -log "$T/attempts.log" "$PORT" 3000
  cat "$T/out"
  json "$T/c/summary.json" "'\n'.join(l['target'].rsplit('/',1)[-1] + ' ' + l['origin'] for s in d['scenarios'] for l in s['leaked'])" >"$T/origins"
  # Every leaked fd of each file named by its open() line, then its caller's.
  for f in "responses.db $l_db" "responses.db-wal $l_wal"; do
    set -- $f
    n_all=$(grep -c "^$1 " "$T/origins")
    n_named=$(grep "^$1 " "$T/origins" | grep -c "opened by open() at store_open (/[^ ]*fsk_c_store.c:$2) <- attempt (/[^ ]*fsk_c_store.c:$l_call) <- main (/[^ ]*fsk_c_store.c:[0-9]*)")
    [ "$n_all" -ge 10 ] && [ "$n_named" = "$n_all" ] && ok "$1: all $n_all named at fsk_c_store.c:$2 <- :$l_call <- main" \
      || bad "$1: $n_named of $n_all named at fsk_c_store.c:$2: $(grep -m1 "^$1 " "$T/origins")"
  done
  grep -q "x file .*/responses.db, opened in attempts [0-9]* to [0-9]*, at store_open (.*fsk_c_store.c:$l_db)\$" "$T/out" \
    && ok "terminal: the db's group at its open() line, exact attempts" || bad "terminal: no exact group for the db at fsk_c_store.c:$l_db"
  python3 - "$T/c/summary.json" "$T/attempts.log" >"$T/cmp" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
logged = [int(x) for x in open(sys.argv[2]).read().split()]
bad = []
for name in ("responses.db", "responses.db-wal"):
    got = sorted(int(l["opened_cycle"]) for s in d["scenarios"] for l in s["leaked"]
                 if l["target"].rsplit("/", 1)[-1] == name and l["opened_exact"])
    want = [k for k in logged if got and got[0] <= k <= got[-1]]
    if len(got) < 10 or got != want:
        bad.append("%s: %s, logged %s" % (name, got, want))
print("; ".join(bad) if bad else "same")
PY
  [ "$(cat "$T/cmp")" = same ] && ok "C: each leaked fd's attempt is the one the program logged" \
    || bad "C attempts differ: $(cat "$T/cmp")"
  has "$T/out" "the report says how the origins were taken" "C stacks (DWARF CFI)"
  # No frame pointers in a C static program: the notified walk, named.
  has "$T/out" "C: why not eBPF stack capture" "notified (no eBPF stack capture: not a Go program"
  # Without -g: the functions from .symtab, no line.
  expect_rc 1 "seccomp: the static C loop built without -g leaks" \
    "$FDSOAK" watch --engine seccomp --inject "$spec" --cycles 30 --warmup 10 --out "$T/nog" -q -- \
    "$BIN/fsk_c_store_nog" -leak "$((PORT + 1))" 3000
  json "$T/nog/summary.json" "d['scenarios'][0]['leaked'][0]['origin']" >"$T/o"
  grep -q "opened by open() at store_open <- attempt <- main\$" "$T/o" \
    && ok "no -g: named by function" || bad "no -g origin: $(cat "$T/o")"
  # Stripped: no .symtab, no DWARF; .eh_frame stays, so the walk still
  # runs, and the frames are addresses in the program file, said plainly.
  strip -o "$T/stripped" "$BIN/fsk_c_store_nog" || bad "strip"
  expect_rc 1 "seccomp: the stripped static C loop leaks" \
    "$FDSOAK" watch --engine seccomp --inject "$spec" --cycles 30 --warmup 10 --out "$T/strip" -q -- \
    "$T/stripped" -leak "$((PORT + 2))" 3000
  json "$T/strip/summary.json" "d['scenarios'][0]['leaked'][0]['origin']" >"$T/o"
  grep -q "opened by open() at stripped+0x[0-9a-f]* <- stripped+0x[0-9a-f]* <- .*; no symbols (stripped): addresses in the program file" "$T/o" \
    && ok "stripped: addresses, said plainly" || bad "stripped origin: $(cat "$T/o")"
  # The fixed loop: flat.
  expect_rc 0 "seccomp: the fixed static C loop is flat" \
    "$FDSOAK" watch --engine seccomp --inject "$spec" --cycles 60 --warmup 10 --out "$T/cfix" -q -- \
    "$C" "$((PORT + 3))" 3000
  ;;
sup_rules)
  PROBE="$BIN/fsk_sup_probe"
  SUP="$BIN/fsk_sup_exec"
  # A datagram connect has no handshake: lost SYNs, an ICMP error or a
  # reset cannot happen to it, and on the real event it succeeds at once.
  # Plain is the real outcome (no listener is needed on port 9: UDP).
  "$PROBE" udp 127.0.0.1 9 >"$T/plain" 2>&1
  echo "exit $?" >>"$T/plain"
  for act in hang timeout 'unreachable(host)' 'reset(0)'; do
    FDSOAK_BPF=0 "$SUP" "connect:addr=127.0.0.1,port=9:do=$act" "$PROBE" udp 127.0.0.1 9 >"$T/sup" 2>&1
    echo "exit $?" >>"$T/sup"
    cmp -s "$T/plain" "$T/sup" && ok "udp connect under $act: as plain ($(head -2 "$T/sup" | tr '\n' ' '))" \
      || bad "udp connect under $act: $(tr '\n' ' ' <"$T/sup"), plain $(tr '\n' ' ' <"$T/plain")"
  done
  # A refusal of a datagram connect fails it at once, as under the shim.
  expect_rc 111 "udp connect under refuse: ECONNREFUSED" \
    env FDSOAK_BPF=0 "$SUP" 'connect:addr=127.0.0.1,port=9:do=refuse' "$PROBE" udp 127.0.0.1 9
  has "$T/out" "refused: not connected" "getpeername ENOTCONN"
  # The same calls with the connect decisions in the kernel (FDSOAK_BPF=1,
  # root): each must print, exit and count as on the notified path
  # (FDSOAK_BPF=0).  Datagram connects are counted, refuse and errno(E)
  # fail them at once (bpf_set_retval), hang lets them go on; errno(E)
  # fails a stream connect at once too; a rule that does not match counts
  # the call and leaves it alone; an IPv4 rule covers IPv4-mapped IPv6.
  if [ "$(id -u)" = 0 ]; then
    for c in "127.0.0.1 udp 9 refuse" "127.0.0.1 udp 9 hang" "127.0.0.1 udp 9 errno(ENETDOWN)" \
      "[::1] udp 9 refuse" "[::1] udp 9 timeout" "127.0.0.1 udp 10 refuse" \
      "127.0.0.1 connect 9 errno(ENETDOWN)" "[::1] connect 9 errno(EACCES)" \
      "[::1] connect 9 hang" "127.0.0.1 connect 9 hang ::ffff:127.0.0.1" \
      "127.0.0.1 udp 9 refuse ::ffff:127.0.0.1"; do
      set -- $c
      host=${5:-$(echo "$1" | tr -d '[]')}
      arg=""
      [ "$2" = connect ] && arg="300 nb"
      for b in 0 1; do
        FDSOAK_BPF=$b FSK_SUP_VERBOSE=1 "$SUP" "connect:addr=$1,port=$3:do=$4" "$PROBE" "$2" "$host" 9 \
          $arg >"$T/b$b" 2>"$T/b$b.err"
        echo "exit $?" >>"$T/b$b"
        sed -i '/^elapsed /d' "$T/b$b"
      done
      n=$(sed -n 's/.*seccomp supervisor: 1 calls notified, \([0-9]*\) faults.*/\1/p' "$T/b0.err")
      if grep -q "built without libbpf" "$T/b1.err"; then
        ok "$2 $host port $3 under $4: no eBPF in this build"
      elif [ -n "$n" ] && cmp -s "$T/b0" "$T/b1" &&
        grep -q "decided in the kernel (cgroup eBPF): 1 connects, $n faults; seccomp supervisor: 0 calls notified" "$T/b1.err"; then
        ok "eBPF: $2 $host port $3 under $4 as notified ($(head -1 "$T/b1"), $n faults)"
      else
        bad "eBPF: $2 $host port $3 under $4: $(tr '\n' ' ' <"$T/b1") $(cat "$T/b1.err"); notified: $(tr '\n' ' ' <"$T/b0") $(cat "$T/b0.err")"
      fi
    done
  fi
  # FDSOAK_BPF other than 0 or 1: refused with exit 2, the value named.
  expect_rc 2 "watch: FDSOAK_BPF=yes refused" \
    env FDSOAK_BPF=yes "$FDSOAK" watch --engine seccomp --inject 'connect:addr=127.0.0.1,port=9:do=refuse' \
    --duration 1 -q -- "$PROBE" udp 127.0.0.1 9
  has "$T/err" "the message names the variable and the values" "FDSOAK_BPF='yes': expected 0"
  expect_rc 2 "fsk_sup_exec: FDSOAK_BPF=2 refused" \
    env FDSOAK_BPF=2 "$SUP" 'connect:addr=127.0.0.1,port=9:do=refuse' "$PROBE" udp 127.0.0.1 9
  # A rule the engine has no way to carry out: refused with exit 2 and
  # fdsoak watch's own words, never run as if it were not there.
  expect_rc 2 "fsk_sup_exec: errno(E) on getaddrinfo is refused" \
    "$SUP" 'getaddrinfo:host=*.invalid:do=errno(EIO)' "$PROBE" socket
  sed -n 's/^fsk_sup_exec: //p' "$T/err" >"$T/sup_msg"
  expect_rc 2 "fdsoak watch: the same rule is refused" \
    "$FDSOAK" watch --engine seccomp --inject 'getaddrinfo:host=*.invalid:do=errno(EIO)' \
    --duration 1 -q -- "$PROBE" resolve db.invalid
  sed -n 's/^fdsoak watch: //p' "$T/err" >"$T/watch_msg"
  [ -s "$T/sup_msg" ] && cmp -s "$T/sup_msg" "$T/watch_msg" && ok "the same message: $(cut -c1-60 "$T/sup_msg")..." \
    || bad "messages differ: '$(cat "$T/sup_msg")' vs '$(cat "$T/watch_msg")'"
  # The report's engine per process: sh has the shim; the static probe is
  # handed over when sh execs it; its dynamic child (Python, the
  # interpreter itself) inherits the filter and its shim stands down, so
  # the supervisor served it, though it is gone by the report.
  PY=$(python3 -c 'import sys; print(sys.executable)')
  expect_rc 3 "interval mode over sh > static probe > python" \
    "$FDSOAK" watch -q --duration 3 --out "$T/eng" -- \
    sh -c "'$PROBE' run '$PY' -c 'import time; time.sleep(1)'; sleep 2"
  # (Which comm a process is listed under depends on when the sampler
  # first saw it, before or after its exec: only python3's row is sure.)
  json "$T/eng/summary.json" "sorted(set((p['comm'], p['engine']) for p in d['target']['processes'] if p['comm'] in ('fsk_sup_probe', 'python3')))" >"$T/engines"
  grep -q "('python3', 'seccomp')" "$T/engines" && ! grep -q "'shim'" "$T/engines" \
    && ok "engines: $(cat "$T/engines")" || bad "engines: $(cat "$T/engines")"
  ;;
go_dns)
  [ "$(id -u)" = 0 ] || skip "needs root (unshare -n -m, a nameserver on port 53)"
  need unshare ip mount python3
  unshare -n -m true 2>/dev/null || skip "unshare -n -m is not permitted here"
  gobuild dial
  # fdsoak watch takes a getaddrinfo rule for Go programs (main refused it
  # with exit 2): a tree of lookups, each failed by the stub, is flat, and
  # the faults are counted as attempts.
  expect_rc 0 "watch: a getaddrinfo rule under the seccomp engine" \
    "$FDSOAK" watch --engine seccomp --inject 'getaddrinfo:host=*.invalid:do=eai(EAI_NONAME)' \
    --cycles 20 --warmup 5 --out "$T/w" -q -- \
    sh -c "i=0; while [ \$i -lt 60 ]; do '$T/dial' -lookup db.invalid >/dev/null; i=\$((i+1)); done; sleep 30"
  ! grep -q "rule 1" "$T/err" && ok "rule accepted" || bad "rule refused: $(cat "$T/err")"
  json "$T/w/summary.json" "d['target']['attempts']" >"$T/att" 2>&1
  [ "$(cat "$T/att")" -ge 20 ] 2>/dev/null && ok "lookups counted as attempts ($(cat "$T/att"))" \
    || bad "attempts: $(cat "$T/att")"
  expect_rc 2 "watch: errno(E) on getaddrinfo has no DNS answer: refused, named" \
    "$FDSOAK" watch --engine seccomp --inject 'getaddrinfo:host=*.invalid:do=errno(EIO)' \
    --duration 1 -q -- "$T/dial" -lookup db.invalid
  has "$T/err" "the refusal says which answers exist" "only eai(EAI_NONAME) (NXDOMAIN)"
  if unshare -n -m python3 "$HERE/go_dns.py" "$T" "$BIN" >"$T/table" 2>&1; then
    ok "DNS fidelity table"
  else
    bad "DNS fidelity table"
  fi
  cat "$T/table"
  ;;
*)
  bad "unknown case $case_"
  ;;
esac
finish
