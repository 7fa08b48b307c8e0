#!/bin/sh
# Another process holds the store's write lock (an operator's sqlite3 shell
# in a transaction, a backup tool) (issue 12).  SQLite's busy wait used to
# run on the event loop: 200 ms per POST, and /health took seconds.  Now a
# POST answers 503 with Retry-After at once, /health stays fast (<= 50 ms),
# and once the lock is gone POSTs are stored again.
GW=$1 PD=$2
. "$(dirname "$0")/../integration/common.inc"
. "$(dirname "$0")/../integration/api.inc"

api_yaml "" "$WORK/responses.db" >"$WORK/gw.yaml"
start_gw gw
expect_status 200 POST /v1/responses -d '{"input":"before"}'

python3 - "$API_PORT" "$WORK/responses.db" <<'PYEOF' || fail "locked store"
import socket, sqlite3, sys, threading, time
port, db = int(sys.argv[1]), sys.argv[2]

def req(raw):
    t = time.monotonic()
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.settimeout(5)
    s.sendall(raw)
    buf = b""
    while b"\r\n\r\n" not in buf:
        d = s.recv(65536)
        if not d:
            break
        buf += d
    s.close()
    return int(buf.split(b" ")[1]), buf, time.monotonic() - t

body = b'{"input":"while locked"}'
post = (b"POST /v1/responses HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body))
health = b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"

lock = sqlite3.connect(db, isolation_level=None, timeout=5)
lock.execute("BEGIN IMMEDIATE")
stop = False
posts = []
def poster():
    while not stop:
        posts.append(req(post))
t = threading.Thread(target=poster)
t.start()
worst = 0.0
for _ in range(40):
    st, _, dt = req(health)
    assert st == 200, st
    worst = max(worst, dt)
    time.sleep(0.02)
stop = True
t.join()
lock.execute("COMMIT")
lock.close()
codes = sorted(set(p[0] for p in posts))
slowest = max(p[2] for p in posts)
print("locked: %d POSTs, statuses %s, slowest POST %.0f ms; /health worst %.0f ms"
      % (len(posts), codes, slowest * 1000, worst * 1000))
assert codes == [503], codes
assert all(b"Retry-After: 1" in p[1] for p in posts)
assert worst <= 0.050, "/health took %.0f ms under the lock" % (worst * 1000)
st, _, _ = req(post)
assert st == 200, "not storing again after the lock was released: %d" % st
PYEOF
grep -q "store: .*resource busy" "$WORK/gw.log" || fail "no log line for the busy store"
kill -TERM "$GW_PID"
wait_exit "$GW_PID" 20
[ "$EXIT_CODE" -eq 0 ] || fail "exit $EXIT_CODE after SIGTERM, want 0"
echo "ok: a locked store answers 503 at once and /health stays fast"
