#!/bin/sh
# fd exhaustion (issue 7): the daemon under RLIMIT_NOFILE 64, with a
# reconnect storm (a peer that drops every connection 50 ms after ready,
# so the watcher reconnects at once, again and again) and a burst of 200
# clients held open for 3 s, so accept and the watcher both meet EMFILE.
# It must not crash, must log the condition without flooding, serve
# /health within 1 s of the burst ending, keep retrying throughout, and
# come back to its steady fd count.
GW=$1 PD=$2
. "$(dirname "$0")/common.inc"
. "$(dirname "$0")/api.inc"
HERE=$(cd "$(dirname "$0")" && pwd)

start_peer storm --mode accept --drop-after-ms 50
{
  api_yaml ""
  echo "platforms:"
  platform_yaml storm "$PEER_PORT" 1
} >"$WORK/gw.yaml"
# The limit applies to the daemon only (a subshell's ulimit, then exec).
( ulimit -n 64 && exec "$GW" --config "$WORK/gw.yaml" ) 2>"$WORK/gw.log" &
GW_PID=$!
PIDS="$PIDS $GW_PID"
wait_log "$WORK/gw.log" "platform api: listening on [^ ]*:[0-9]+" 10
API_PORT=$(sed -n 's/.*platform api: listening on [^ ]*:\([0-9][0-9]*\).*/\1/p' "$WORK/gw.log" | tail -1)
grep -q "^Max open files *64 " "/proc/$GW_PID/limits" || fail "RLIMIT_NOFILE is not 64"
wait_log "$WORK/gw.log" "platform storm: runtime error, reconnecting" 10

python3 - "$API_PORT" "$HERE" "$GW_PID" "$WORK" <<'PYEOF' || fail "fd exhaustion"
import os, socket, sys, time
sys.path.insert(0, sys.argv[2])
from rawhttp import *
port, pid, work = int(sys.argv[1]), int(sys.argv[3]), sys.argv[4]
log = os.path.join(work, "gw.log")

def fds():
    return len(os.listdir("/proc/%d/fd" % pid))

def loglines():
    with open(log, errors="replace") as f:
        return f.read().splitlines()

def health(timeout=1.0):
    try:
        return request(port, get("/health"), timeout=timeout)[0] == 200
    except (OSError, EOFError):
        return False

def alive():
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False

# Steady state: the storm's adapter (socket and ledger, 4 fds) comes and
# goes every ~50 ms, so sample for a while and keep the range; "back to
# steady" below means not above its top (a leak only ever adds).
steady = []
for _ in range(100):
    steady.append(fds())
    time.sleep(0.01)
lo, hi = min(steady), max(steady)
print("steady fd count before the burst: %d..%d" % (lo, hi))
assert health(), "not healthy before the burst"
before = len(loglines())

# The burst: for 3 s, keep opening connections and hold the newest 200,
# so every fd the daemon frees (a shed client, the storm's old socket) is
# taken again at once.  Connects the backlog refuses are fine: the point
# is pressure.
held, opened, refused, peak = [], 0, 0, 0
t0 = time.monotonic()
while time.monotonic() - t0 < 3.0:
    try:
        s = socket.socket()
        s.settimeout(0.2)
        s.connect(("127.0.0.1", port))
        held.append(s)
        opened += 1
    except OSError:
        refused += 1
        s.close()
    if len(held) > 200:
        held.pop(0).close()
    if opened % 10 == 0:
        peak = max(peak, fds())
        assert alive(), "daemon died during the burst"
burst = loglines()[before:]
for s in held:
    s.close()
t_end = time.monotonic()
print("burst: %d connections opened, %d refused, daemon fd peak %d (limit 64)" % (opened, refused, peak))
assert peak >= 60, "the burst never came near the limit (peak %d)" % peak

# /health within 1 s of the pressure ending.
ok = wait_until(health, 1.0, 0.02)
t_health = time.monotonic() - t_end
assert ok, "/health not served within 1 s of the burst ending"
print("/health served %.0f ms after the burst ended" % (t_health * 1000))

# Back to the steady fd count (clients close, the storm's cycle resumes).
assert wait_until(lambda: fds() <= hi, 10, 0.05), \
    "fd count %d never returned to %d..%d" % (fds(), lo, hi)
print("fd count back to %d (steady %d..%d)" % (fds(), lo, hi))

# Logged without flooding: EMFILE lines during the burst are few.
emfile = [l for l in burst if "EMFILE" in l or "too many open files" in l.lower()]
print("log lines during the burst: %d, about EMFILE: %d" % (len(burst), len(emfile)))
for l in emfile[:5]:
    print("  " + l)
assert 1 <= len(emfile) <= 20, "EMFILE logged %d times over the burst" % len(emfile)

# The watcher kept retrying: attempts during the burst, never fatal or
# dropped, and attempts after it (an attempt that met EMFILE takes the
# exception path: the next one is due 30 s later).
attempts = [l for l in burst if "platform storm: attempt" in l]
failed = [l for l in burst if "platform storm: exception" in l or "platform storm: retryable" in l]
print("storm during the burst: %d attempts, %d failed (e.g. %s)"
      % (len(attempts), len(failed), failed[0].split(" ", 2)[2] if failed else "-"))
assert attempts, "no storm attempt during the burst"
after = len(loglines())
assert wait_until(lambda: any("platform storm: connected" in l for l in loglines()[after:]), 35, 0.2), \
    "the storm platform never connected again after the burst"
assert not any("platform storm: fatal" in l or "dropped" in l for l in loglines()), "storm gave up"
print("storm connected again %.1f s after the burst" % (time.monotonic() - t_end))
assert wait_until(lambda: fds() <= hi, 5, 0.05), "fd count %d not steady at the end" % fds()
assert alive(), "daemon died"
PYEOF
grep -E "platform storm: (attempt|connected|exception|retryable)" "$WORK/gw.log" | tail -3
kill -0 "$GW_PID" 2>/dev/null || fail "gateway died"
kill -TERM "$GW_PID"
wait_exit "$GW_PID" 20
[ "$EXIT_CODE" -eq 0 ] || fail "exit code $EXIT_CODE after SIGTERM, want 0"
echo "ok: fd exhaustion"
