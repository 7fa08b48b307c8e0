#!/bin/sh
# fdsoak's own memory on a service that forks short-lived helpers (issue
# 24): `fdsoak watch` of a Python service that starts a helper process
# every few milliseconds, sampled at --interval; prints fdsoak's RSS every
# few seconds, the slope over the run, and the size of summary.json.
#
#   harness/bench/fork_memory.sh BUILD_BIN_DIR [SECONDS] [FORKS_PER_S]
#
# A 2-hour run at production rates is what the issue asks about: a short
# run at a high fork rate shows the same slope per fork.
set -u
BIN="$(cd "$1" && pwd)"
SECS="${2:-60}"
RATE="${3:-100}"
T="$(mktemp -d /tmp/fsk-forkmem-XXXXXX)"
trap 'rm -rf "$T"' EXIT
cat > "$T/svc.py" <<'PY'
import os, sys, time
rate, secs = float(sys.argv[1]), float(sys.argv[2])
end, n = time.monotonic() + secs, 0
while time.monotonic() < end:
    pid = os.fork()
    if pid == 0:
        # A helper: lives a few ms with a file or two open, then exits.
        f = open("/dev/null"); time.sleep(0.003); os._exit(0)
    os.waitpid(pid, 0)
    n += 1
    time.sleep(max(0.0, 1.0 / rate - 0.004))
print("forks", n)
PY
"$BIN/fdsoak" watch --interval 20 --warmup 10 --duration "$SECS" --timeout $((SECS + 60)) -q \
  --out "$T/res" -- python3 "$T/svc.py" "$RATE" $((SECS + 30)) >"$T/out" 2>"$T/err" &
pid=$!
echo "t_s rss_kb"
t=0
: > "$T/rss"
while kill -0 "$pid" 2>/dev/null; do
  rss=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status" 2>/dev/null)
  if [ -n "$rss" ]; then
    echo "$t $rss" >> "$T/rss"
    [ $((t % 5)) -eq 0 ] && echo "$t $rss"
  fi
  sleep 1; t=$((t + 1))
  [ "$t" -gt $((SECS + 90)) ] && break
done
wait "$pid"; rc=$?
echo "fdsoak exit $rc; $(grep -c . "$T/err") stderr lines"
# Least-squares slope over the second half of the run (the first holds the
# start-up: the interpreter, the first snapshots).
python3 - "$T/rss" "$RATE" <<'PY'
import sys
pts = [tuple(map(float, l.split())) for l in open(sys.argv[1])]
pts = pts[len(pts) // 2:]
n = len(pts)
if n >= 3:
    mt = sum(t for t, _ in pts) / n; mr = sum(r for _, r in pts) / n
    s = sum((t - mt) * (r - mr) for t, r in pts) / sum((t - mt) ** 2 for t, _ in pts)
    rate = float(sys.argv[2])
    print(f"rss slope (second half, {n} points): {s:.1f} KB/s = {s * 3.6:.0f} MB/h at {rate:g} "
          f"forks/s ({s / rate:.3f} KB per fork); rss at the end {pts[-1][1]:.0f} KB")
PY
[ -f "$T/res/summary.json" ] && echo "summary.json: $(wc -c < "$T/res/summary.json") bytes, \
$(python3 -c 'import json,sys; t=json.load(open(sys.argv[1])).get("target",{}); print(len(t.get("processes",[])), "processes listed,", t.get("processes_folded", 0), "folded")' "$T/res/summary.json")"
