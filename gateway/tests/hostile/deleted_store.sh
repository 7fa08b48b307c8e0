#!/bin/sh
# A careless operator deletes the store under the running daemon (issue 12):
# POSTs must not be acknowledged into the unlinked files (they used to get
# 200 and then 404 after a restart).  The daemon answers 503 and logs why;
# whatever it acknowledged is there after a restart.
GW=$1 PD=$2
. "$(dirname "$0")/../integration/common.inc"
. "$(dirname "$0")/../integration/api.inc"

api_yaml "" "$WORK/responses.db" >"$WORK/gw.yaml"
start_gw gw
expect_status 200 POST /v1/responses -d '{"input":"before"}'
rm -f "$WORK/responses.db" "$WORK/responses.db-wal" "$WORK/responses.db-shm"
ACKED=""
for i in 1 2 3; do
  got=$(hc POST /v1/responses -d "{\"input\":\"after $i\"}")
  if [ "$got" = 200 ]; then
    ACKED="$ACKED $(jget 'j["id"]')"
  elif [ "$got" != 503 ]; then
    fail "POST after the store was deleted: status $got, want 503"
  fi
done
[ -z "$ACKED" ] || fail "acknowledged into the deleted store:$ACKED"
grep -q "removed or replaced" "$WORK/gw.log" || fail "no log line says the store files went away"
kill -TERM "$GW_PID"
wait_exit "$GW_PID" 20
[ "$EXIT_CODE" -eq 0 ] || fail "exit $EXIT_CODE after SIGTERM, want 0"
# A restart opens a fresh store at the path and serves again.
cp "$WORK/gw.yaml" "$WORK/gw2.yaml"
start_gw gw2
expect_status 200 POST /v1/responses -d '{"input":"after restart"}'
ID=$(jget 'j["id"]')
expect_status 200 GET "/v1/responses/$ID"
kill -TERM "$GW_PID"
wait_exit "$GW_PID" 20
echo "ok: with its files deleted the store answers 503 and logs it; nothing was acknowledged into them"
