#!/bin/sh
# Security (issue 7): the daemon refuses a non-loopback bind without a key
# before it binds anything; a short key is refused too; header size, header
# count, body size and concurrent connections are limited; response ids are
# validated before they reach the store (an SQL injection gets 400 and the
# table survives).  The key on every endpoint is in api_endpoints.sh, the
# constant-time compare in test_keycmp, bound parameters in
# gw_sql_bound_parameters.
GW=$1 PD=$2
. "$(dirname "$0")/common.inc"
. "$(dirname "$0")/api.inc"
HERE=$(cd "$(dirname "$0")" && pwd)
SHIM=$(cd "$(dirname "$GW")/.." && pwd)/lib/libfdsoak-inject.so
[ -f "$SHIM" ] || fail "no shim at $SHIM (build the fault-injection component)"
# An ASan build of the daemon needs the ASan runtime first in the preload
# list (fault-injection/README.md, "ASan and the shim").
PRELOAD="$SHIM"
ASAN_RT=$(ldd "$GW" 2>/dev/null | sed -n 's/.*libasan[^ ]* => \([^ ]*\).*/\1/p' | head -1)
[ -n "$ASAN_RT" ] && PRELOAD="$ASAN_RT:$SHIM"

# --- refusal before bind ---------------------------------------------------
# The shim logs every bind the daemon makes and fails it with EADDRINUSE:
# a bind that happened shows in the log, and turns the outcome retryable
# rather than fatal -- and nothing is ever bound off loopback, even if the
# check regressed.
refused() { # NAME HOST KEY WHY
  cat >"$WORK/$1.yaml" <<EOY
api:
  host: "$2"
  port: 0
  key: "$3"
  store_path: $WORK/$1.db
EOY
  FDSOAK_INJECT='bind:do=errno(EADDRINUSE)' FDSOAK_INJECT_LOG="$WORK/$1.inject" \
    LD_PRELOAD="$PRELOAD" "$GW" --config "$WORK/$1.yaml" 2>"$WORK/$1.log" &
  p=$!
  PIDS="$PIDS $p"
  wait_exit "$p" 15
  [ "$EXIT_CODE" -eq 1 ] || fail "$1: exit $EXIT_CODE, want 1 (nothing left to run)"
  grep -Eq "platform api: fatal, not retried \(attempt 1\): config_error: .*$4" "$WORK/$1.log" ||
    fail "$1: no fatal config_error ($4) in the log"
  ! grep -q "listening on" "$WORK/$1.log" || fail "$1: the api listened"
  ! grep -q '"op":"bind"' "$WORK/$1.inject" 2>/dev/null ||
    fail "$1: bind was called before the refusal: $(cat "$WORK/$1.inject")"
  echo "ok: $1: fatal config_error before any bind"
}
refused any4 0.0.0.0 "" "not loopback and no API key"
refused any6 :: "" "not loopback and no API key"
refused lan 192.0.2.10 "" "not loopback and no API key"
refused shortkey 127.0.0.1 "short" "shorter than 8 characters"
# The control: on loopback with a key the same shim does see the bind,
# so an empty inject log above means "not called", not "not logged".
cat >"$WORK/control.yaml" <<EOY
api:
  host: 127.0.0.1
  port: 0
  key: "a-long-enough-key"
  store_path: $WORK/control.db
EOY
FDSOAK_INJECT='bind:do=errno(EADDRINUSE)' FDSOAK_INJECT_LOG="$WORK/control.inject" \
  LD_PRELOAD="$PRELOAD" "$GW" --config "$WORK/control.yaml" 2>"$WORK/control.log" &
p=$!
PIDS="$PIDS $p"
wait_log "$WORK/control.log" "platform api: retryable failure \(attempt 1\)"
grep -q '"op":"bind"' "$WORK/control.inject" || fail "control: the shim logged no bind"
kill -TERM "$p"
wait_exit "$p" 20
echo "ok: control: a permitted bind is seen by the shim (retryable under EADDRINUSE)"

# --- limits and id validation on a running daemon ----------------------------
KEY=sec-test-key-0123
api_yaml "$KEY" "$WORK/responses.db" >"$WORK/gw.yaml"
start_gw gw
API_KEY=$KEY
expect_status 200 POST /v1/responses -d '{"input":"keep me"}'
KEEP=$(jget 'j["id"]')

python3 - "$API_PORT" "$KEY" "$HERE" "$KEEP" <<'PYEOF' || fail "limits"
import socket, sys, time
sys.path.insert(0, sys.argv[3])
from rawhttp import *
port, key, keep = int(sys.argv[1]), sys.argv[2], sys.argv[4]

def status(raw):
    return request(port, raw, timeout=10)[0]

# Header bytes: 16 KiB for the request line and headers together.
assert status(get("/health", extra="X-Pad: %s\r\n" % ("p" * 15000))) == 200
assert status(get("/health", extra="X-Pad: %s\r\n" % ("p" * 17000))) == 431
# Header count: 100.
assert status(get("/health", extra="".join("X-%d: v\r\n" % i for i in range(90)))) == 200
assert status(get("/health", extra="".join("X-%d: v\r\n" % i for i in range(101)))) == 431
print("ok: header bytes (15 kB 200, 17 kB 431) and count (91 200, 102 431)")

# Body: 10 MiB.  Exactly the limit is read (and is not JSON: 400); one
# byte more is 413, decided from Content-Length before the body is read.
body = b"z" * (10 * 1024 * 1024)
st = status(post("/v1/responses", body, key))
assert st == 400, st
s = connect(port, 10)
s.sendall(b"POST /v1/responses HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer %s\r\n"
          b"Content-Length: %d\r\n\r\n" % (key.encode(), len(body) + 1))
assert read_response(s)[0][0] == 413
s.close()
print("ok: body of 10 MiB read (400 not JSON), 10 MiB + 1 is 413 before the body")

# Concurrent connections: 256.  Hold 256 idle clients; the next ones get
# 503 and are closed; once the held ones go, clients are served again.
held = []
for i in range(256):
    held.append(connect(port))
def served():
    s = connect(port)
    s.sendall(get("/health"))
    r = read_response(s)[0][0]
    s.close()
    return r
# The server counts a connection once it has accepted it.  The kernel
# hands connections over in the order they were made, so the first 503 to
# a probe means all 256 are counted; wait for it (bounded), no sleep.
assert wait_until(lambda: served() == 503, 5), "no 503 with 256 connections held"
over = [served() for _ in range(5)]
assert over == [503] * 5, over
for s in held:
    s.close()
assert wait_until(lambda: served() == 200, 5), "not serving after the held clients left"
print("ok: 256 held connections, the 257th..261st get 503, served again after")

# Response ids: validated before the store sees them.
for rid in ["'%3B%20DROP%20TABLE%20responses%3B--", "resp_'%3BDROP%20TABLE%20responses%3B--",
            "resp_';DROP/**/TABLE/**/responses;--", "resp_" + "a" * 65, "resp_", "x" * 300,
            "resp_a%00b", "..%2F..%2Fetc%2Fpasswd"]:
    for m in ("GET", "DELETE"):
        raw = ("%s /v1/responses/%s HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer %s\r\n\r\n"
               % (m, rid, key)).encode()
        st, _, body = request(port, raw)
        assert st == 400 and b"invalid_response_id" in body, (m, rid, st, body)
st, _, body = request(port, post("/v1/responses",
                                 '{"input":"x","previous_response_id":"resp_\'; DROP TABLE responses;--"}', key))
assert st == 400, (st, body)
st, _, body = request(port, get("/v1/responses/" + keep, key))
assert st == 200 and keep.encode() in body, (st, body)
print("ok: injection ids get 400 invalid_response_id (GET, DELETE, previous_response_id); "
      "the stored response is still there")
PYEOF
kill -TERM "$GW_PID"
wait_exit "$GW_PID" 20
[ "$EXIT_CODE" -eq 0 ] || fail "exit code $EXIT_CODE after SIGTERM, want 0"
# The tables survive (checked on the file, not through the API).
[ "$(sqlite3 "$WORK/responses.db" "SELECT count(*) FROM responses WHERE response_id = '$KEEP'")" = 1 ] ||
  fail "the responses table lost its row"
[ "$(sqlite3 "$WORK/responses.db" 'PRAGMA integrity_check')" = ok ] || fail "integrity_check"
echo "ok: security"
