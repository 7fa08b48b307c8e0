#!/bin/sh
# Slowloris (issue 12): 256 connections, each sending a request one byte at
# a time, never finishing.  Every byte used to restart the idle timer, so
# they held every slot and /health answered 503 for as long as they kept
# trickling.  With the documented deadlines (here header_timeout 1 s,
# request_timeout 2 s) they are dropped and /health is served again while
# they are still trying.  Bounded: 256 sockets for about 5 s, loopback.
GW=$1 PD=$2
. "$(dirname "$0")/../integration/common.inc"
. "$(dirname "$0")/../integration/api.inc"

{
  api_yaml "" "$WORK/responses.db"
  echo "  header_timeout: 1"
  echo "  request_timeout: 2"
} >"$WORK/gw.yaml"
start_gw gw

python3 - "$API_PORT" <<'PYEOF' || fail "slowloris"
import socket, sys, time
port = int(sys.argv[1])

def health():
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=2)
        s.settimeout(2)
        s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        st = int(s.recv(4096).split(b" ")[1])
        s.close()
        return st
    except (OSError, IndexError, ValueError):
        return 0

t0 = time.monotonic()
slow = []
for i in range(256):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ")
    slow.append(s)
for s in slow:
    s.setblocking(False)
first = health()
# Trickle one byte per connection every 200 ms for 5 s; probe /health.
served_at = None
alive = len(slow)
while time.monotonic() - t0 < 5:
    alive = 0
    for s in slow:
        try:
            s.send(b"a")
            alive += 1
        except OSError:
            pass
    if served_at is None and health() == 200:
        served_at = time.monotonic() - t0
    time.sleep(0.2)
print("first probe %d; /health 200 after %s s; slow clients still open at 5 s: %d"
      % (first, "%.1f" % served_at if served_at is not None else "never", alive))
assert first == 503, "the 256 slow clients did not fill the slots (probe got %d)" % first
assert served_at is not None and served_at < 3.5, "/health not served while slowloris trickled"
assert alive == 0, "%d slow clients outlived the request deadline" % alive
for s in slow:
    s.close()
PYEOF
kill -TERM "$GW_PID"
wait_exit "$GW_PID" 20
[ "$EXIT_CODE" -eq 0 ] || fail "exit $EXIT_CODE after SIGTERM, want 0"
echo "ok: slowloris clients are dropped at the header deadline; /health is served again"
