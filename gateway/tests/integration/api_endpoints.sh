#!/bin/sh
# Every endpoint of the api adapter through the real daemon and a real HTTP
# client (curl), with a key set: the happy paths, pause/resume changing
# /health/detailed, the key on everything but /health, each error status,
# malformed requests that cost only their own connection, keep-alive and
# pipelining on a raw socket.
GW=$1 PD=$2
. "$(dirname "$0")/common.inc"
. "$(dirname "$0")/api.inc"
HERE=$(cd "$(dirname "$0")" && pwd)
KEY=it-secret-key-0123

# "chat" connects; "flaky" is refused during the handshake, so it sits in
# the retry queue (backoff 30 s) where an operator can pause it.
start_peer chat --mode accept
CHAT_PORT=$PEER_PORT
start_peer flaky --mode close
FLAKY_PORT=$PEER_PORT
{
  api_yaml "$KEY"
  echo "platforms:"
  platform_yaml chat "$CHAT_PORT"
  platform_yaml flaky "$FLAKY_PORT"
} >"$WORK/gw.yaml"
start_gw gw
wait_log "$WORK/gw.log" "platform chat: connected"
wait_log "$WORK/gw.log" "platform flaky: retryable failure"

# --- without the key: only /health answers --------------------------------
API_KEY=
expect_status 200 GET /health
[ "$(jget 'j["status"]')" = ok ] || fail "/health body: $(cat "$WORK/body")"
for ep in "GET /health/detailed" "GET /v1/models" "POST /v1/chat/completions" \
  "POST /v1/responses" "GET /v1/responses/resp_x" "DELETE /v1/responses/resp_x" \
  "GET /metrics" "POST /admin/platforms/flaky/pause" "POST /admin/platforms/flaky/resume" \
  "GET /no/such/path"; do
  set -- $ep
  expect_status 401 "$1" "$2" -d '{}'
  grep -q '"code":"invalid_api_key"' "$WORK/body" || fail "$ep: $(cat "$WORK/body")"
  API_KEY=wrong-key-0123456
  expect_status 401 "$1" "$2" -d '{}'
  grep -q '"code":"invalid_api_key"' "$WORK/body" || fail "$ep wrong key: $(cat "$WORK/body")"
  # A key that is a prefix of the real one, and one with the real one as prefix.
  API_KEY=it-secret
  expect_status 401 "$1" "$2" -d '{}'
  API_KEY=${KEY}x
  expect_status 401 "$1" "$2" -d '{}'
  API_KEY=
done
echo "ok: 401 invalid_api_key on every endpoint but /health (none, wrong, prefix, longer)"

API_KEY=$KEY
# --- the endpoints ---------------------------------------------------------
expect_status 200 GET /health/detailed
[ "$(jget 'j["fds"]["open"] > 0 and j["fds"]["limit"] > 0')" = True ] || fail "fds: $(cat "$WORK/body")"
[ "$(jget '{p["name"]: p["state"] for p in j["platforms"]}["chat"]')" = connected ] ||
  fail "chat not connected in /health/detailed: $(cat "$WORK/body")"
[ "$(jget '{p["name"]: p["state"] for p in j["platforms"]}["flaky"]')" = retrying ] ||
  fail "flaky not retrying in /health/detailed: $(cat "$WORK/body")"

expect_status 200 GET /v1/models
[ "$(jget 'j["object"] == "list" and len(j["data"]) >= 1')" = True ] || fail "models: $(cat "$WORK/body")"

expect_status 200 POST /v1/chat/completions -H 'Content-Type: application/json' \
  -d '{"model":"echo","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hello there"}]}'
[ "$(jget 'j["choices"][0]["message"]["content"]')" = "echo: hello there" ] ||
  fail "chat reply: $(cat "$WORK/body")"

expect_status 200 POST /v1/responses -d '{"input":"first"}'
R1=$(jget 'j["id"]')
[ "$(jget 'j["output_text"]')" = "echo: first" ] || fail "responses reply: $(cat "$WORK/body")"
expect_status 200 POST /v1/responses -d "{\"input\":\"second\",\"previous_response_id\":\"$R1\"}"
R2=$(jget 'j["id"]')
[ "$(jget 'j["output_text"]')" = "echo (turn 2): second" ] || fail "chained reply: $(cat "$WORK/body")"
expect_status 200 GET "/v1/responses/$R1"
[ "$(jget 'j["id"]')" = "$R1" ] || fail "GET $R1: $(cat "$WORK/body")"
expect_status 200 DELETE "/v1/responses/$R2"
expect_status 404 GET "/v1/responses/$R2"
expect_status 404 DELETE "/v1/responses/$R2"
expect_status 200 GET "/v1/responses/$R1"

expect_status 200 GET /metrics
for pat in '^process_open_fds [0-9]+$' '^process_max_fds [0-9]+$' \
  '^gw_reconnect_attempts_total\{platform="chat",outcome="success"\} [1-9]' \
  '^gw_reconnect_attempts_total\{platform="flaky",outcome="retryable"\} [1-9]' \
  '^gw_platform_state\{platform="chat",state="connected"\} 1$' \
  '^gw_platform_state\{platform="flaky",state="retrying"\} 1$'; do
  grep -Eq "$pat" "$WORK/body" || fail "/metrics has no line matching $pat"
done
echo "ok: health, detailed, models, chat, responses (create, chain, get, delete), metrics"

# --- pause and resume change /health/detailed ------------------------------
expect_status 200 POST /admin/platforms/flaky/pause -d '{"reason":"maintenance"}'
expect_status 200 GET /health/detailed
[ "$(jget '[(p["state"], p["paused"], p["pause_reason"]) for p in j["platforms"] if p["name"] == "flaky"][0]')" = \
  "('paused', True, 'maintenance')" ] || fail "after pause: $(cat "$WORK/body")"
# Pausing again only updates the reason.
expect_status 200 POST /admin/platforms/flaky/pause
expect_status 404 POST /admin/platforms/nosuch/pause
expect_status 405 GET /admin/platforms/flaky/pause
expect_status 200 POST /admin/platforms/flaky/resume
expect_status 200 GET /health/detailed
[ "$(jget '[(p["state"], p["paused"]) for p in j["platforms"] if p["name"] == "flaky"][0]')" = \
  "('retrying', False)" ] || fail "after resume: $(cat "$WORK/body")"
expect_status 409 POST /admin/platforms/flaky/resume
echo "ok: pause -> paused with reason in /health/detailed, resume -> retrying"

# --- error statuses -------------------------------------------------------
expect_status 404 GET /v1/nothing
[ "$(jget 'j["error"]["type"]')" = invalid_request_error ] || fail "404 shape: $(cat "$WORK/body")"
expect_status 404 GET /v1/responses/resp_doesnotexist
expect_status 405 DELETE /v1/models
expect_status 405 GET /v1/chat/completions
expect_status 405 PUT /v1/responses -d '{}'
expect_status 400 POST /v1/responses -d '{"input": '
[ "$(jget 'j["error"]["code"]')" = invalid_json ] || fail "400 bad json: $(cat "$WORK/body")"
expect_status 400 POST /v1/responses -d '{"model":"echo"}'
[ "$(jget 'j["error"]["code"]')" = missing_required_parameter ] || fail "400 missing: $(cat "$WORK/body")"
expect_status 400 POST /v1/chat/completions -d '{"model":"echo"}'
head -c $((10 * 1024 * 1024 + 1)) /dev/zero | tr '\0' a >"$WORK/big"
expect_status 413 POST /v1/responses -H 'Content-Type: application/json' --data-binary @"$WORK/big"
rm -f "$WORK/big"
BIG=$(python3 -c 'print("b" * 20000)')
expect_status 431 GET /health -H "X-Big: $BIG"
expect_status 200 GET /health
echo "ok: 404, 405, 400 (bad JSON, missing field), 413 (> 10 MB), 431 (20 kB header)"

# --- raw sockets: malformed requests, keep-alive, pipelining ----------------
python3 - "$API_PORT" "$KEY" "$HERE" <<'PYEOF' || fail "raw socket checks"
import socket, sys, time
sys.path.insert(0, sys.argv[3])
from rawhttp import *
port, key = int(sys.argv[1]), sys.argv[2]

def healthy():
    st = request(port, get("/health"))[0]
    assert st == 200, "server stopped serving: %d" % st

cases = [
    ("bad request line", b"THIS IS NOT HTTP\r\n\r\n", None),
    ("header flood", b"GET /health HTTP/1.1\r\n" +
     b"".join(b"X-H%d: v\r\n" % i for i in range(500)) + b"\r\n", 431),
    ("invalid JSON", post("/v1/responses", "{not json", key), 400),
    ("bad header line", b"GET /health HTTP/1.1\r\nHost: t\r\nNo colon here\r\n\r\n", 400),
]
for name, raw, want in cases:
    st, _, body = request(port, raw)
    assert 400 <= st < 500 and (want is None or st == want), "%s: %d %r" % (name, st, body)
    healthy()
    print("ok: %s -> %d, next client served" % (name, st))

# Truncated body: the client promises 100 bytes, sends 10 and stops.  The
# server must answer 400 (or hang up) when the client half-closes, and
# a client that just stalls is timed out by the idle timer (not tested:
# 30 s); either way the next client is served meanwhile.
s = connect(port)
s.sendall(b"POST /v1/responses HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " + key.encode() +
          b"\r\nContent-Length: 100\r\n\r\n{\"input\":")
healthy()                       # served while the truncated one is pending
s.shutdown(socket.SHUT_WR)
try:
    st = read_response(s)[0][0]
    assert 400 <= st < 500, "truncated body: %d" % st
    print("ok: truncated body -> %d on EOF, next client served" % st)
except EOFError:
    print("ok: truncated body -> connection closed on EOF, next client served")
s.close()
healthy()

# Keep-alive: three requests, one after the other, on one connection.
s = connect(port)
buf = b""
for path in ("/health", "/v1/models", "/health/detailed"):
    s.sendall(get(path, key))
    (st, hdr, body), buf = read_response(s, buf)
    assert st == 200, "keep-alive %s: %d" % (path, st)
    assert hdr.get("connection", "").lower() != "close", "server closed a keep-alive"
s.close()
print("ok: keep-alive, 3 requests on one connection")

# Pipelining: five requests in one write; answers come back in order.
s = connect(port)
reqs = [get("/health"), post("/v1/responses", '{"input":"p1"}', key), get("/v1/nothing", key),
        post("/v1/responses", '{"input":"p2"}', key), get("/v1/models", key)]
s.sendall(b"".join(reqs))
buf, got = b"", []
for _ in reqs:
    (st, hdr, body), buf = read_response(s, buf)
    got.append((st, body))
assert [g[0] for g in got] == [200, 200, 404, 200, 200], [g[0] for g in got]
assert b'"echo: p1"' in got[1][1] and b'"echo: p2"' in got[3][1], got
s.close()
print("ok: pipelining, 5 requests in one write, answered in order")
PYEOF

kill -0 "$GW_PID" 2>/dev/null || fail "gateway died"
kill -TERM "$GW_PID"
wait_exit "$GW_PID" 20
[ "$EXIT_CODE" -eq 0 ] || fail "exit code $EXIT_CODE after SIGTERM, want 0"
echo "ok: api endpoints"
