#!/bin/sh
# No data lost: kill -9 the daemon in the middle of a stream of
# POST /v1/responses; after a restart on the same store every response that
# was acknowledged with 200 is readable, and PRAGMA integrity_check is ok.
# (The store runs WAL with synchronous=NORMAL: a commit is in the WAL
# before the 200 is written, which survives the process dying; only a power
# loss could take the last transactions, and that is not this test.)
GW=$1 PD=$2
. "$(dirname "$0")/common.inc"
. "$(dirname "$0")/api.inc"
HERE=$(cd "$(dirname "$0")" && pwd)
need sqlite3

# max_responses far above what the stream can write, so the LRU evicts
# nothing and every acknowledged id must still be there.
api_yaml "" "$WORK/responses.db" 1000000 >"$WORK/gw.yaml"
start_gw gw

# Four writers keep requests in flight so the kill lands mid-request; each
# records an id only after reading its 200.  They stop on the first broken
# connection (the kill) or after 20 s.
python3 - "$API_PORT" "$HERE" "$WORK/acked" "$GW_PID" <<'PYEOF' &
import os, signal, sys, threading, time
sys.path.insert(0, sys.argv[2])
from rawhttp import *
port, out, gw = int(sys.argv[1]), sys.argv[3], int(sys.argv[4])
acked, lock, stop = [], threading.Lock(), threading.Event()

def writer(n):
    try:
        s = connect(port)
        buf, i = b"", 0
        while not stop.is_set():
            s.sendall(post("/v1/responses", '{"input":"w%d-%d %s"}' % (n, i, "x" * 200)))
            (st, _, body), buf = read_response(s, buf)
            if st != 200:
                raise RuntimeError("status %d: %r" % (st, body))
            rid = body.split(b'"id":"', 1)[1].split(b'"', 1)[0].decode()
            with lock:
                acked.append(rid)
                if len(acked) % 50 == 0:   # progress for the shell's kill
                    with open(out + ".n.tmp", "w") as f:
                        f.write("%d\n" % len(acked))
                    os.rename(out + ".n.tmp", out + ".n")
            i += 1
    except (OSError, EOFError):
        pass                    # the kill
    finally:
        stop.set()

ts = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
for t in ts: t.start()
for t in ts: t.join(20)
with open(out + ".tmp", "w") as f:
    f.write("\n".join(acked) + "\n")
os.rename(out + ".tmp", out)
PYEOF
CLIENT=$!
PIDS="$PIDS $CLIENT"

# Let the stream run (at least 200 acknowledged, however loaded the
# machine), then kill -9 the daemon we started, by its pid.
i=0
while [ "$(cat "$WORK/acked.n" 2>/dev/null || echo 0)" -lt 200 ] && [ $i -lt 150 ]; do
  sleep 0.1
  i=$((i + 1))
done
kill -0 "$GW_PID" 2>/dev/null || fail "gateway died before the kill"
kill -KILL "$GW_PID"
wait "$GW_PID" 2>/dev/null
wait_exit "$CLIENT" 25
[ -s "$WORK/acked" ] || fail "the client recorded no acknowledged id"
N=$(wc -l <"$WORK/acked")
[ "$N" -ge 20 ] || fail "only $N responses acknowledged before the kill: stream too short to mean anything"
[ -e "$WORK/responses.db-wal" ] || fail "no -wal next to the store: not WAL mode?"

# Integrity before the restart touches the files (a checkpoint on open
# would hide a torn WAL), then after.
[ "$(sqlite3 "$WORK/responses.db" 'PRAGMA integrity_check')" = ok ] ||
  fail "integrity_check after kill -9: $(sqlite3 "$WORK/responses.db" 'PRAGMA integrity_check' 2>&1 | head -5)"

mv "$WORK/gw.log" "$WORK/gw-killed.log"
start_gw gw
python3 - "$API_PORT" "$HERE" "$WORK/acked" <<'PYEOF' || fail "acknowledged responses lost after kill -9"
import sys
sys.path.insert(0, sys.argv[2])
from rawhttp import *
port = int(sys.argv[1])
ids = [l for l in open(sys.argv[3]).read().split() if l]
s, buf, lost = connect(port), b"", []
for rid in ids:
    s.sendall(get("/v1/responses/" + rid))
    (st, _, body), buf = read_response(s, buf)
    if st != 200 or rid.encode() not in body:
        lost.append((rid, st))
print("%d acknowledged, %d readable after restart" % (len(ids), len(ids) - len(lost)))
if lost:
    print("lost:", lost[:10])
    sys.exit(1)
PYEOF
kill -TERM "$GW_PID"
wait_exit "$GW_PID" 20
[ "$EXIT_CODE" -eq 0 ] || fail "exit code $EXIT_CODE after SIGTERM, want 0"
[ "$(sqlite3 "$WORK/responses.db" 'PRAGMA integrity_check')" = ok ] || fail "integrity_check after restart"
echo "ok: kill -9 mid-stream: all $N acknowledged responses readable, integrity_check ok"
