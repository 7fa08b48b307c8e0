#!/bin/sh
# Startup decisions an operator must be able to trust (issue 12): an empty
# API_SERVER_KEY does not switch authentication off, the log says whether
# authentication is on, and --check refuses what startup would refuse.
GW=$1 PD=$2
. "$(dirname "$0")/common.inc"
. "$(dirname "$0")/api.inc"

# --- an exported but empty API_SERVER_KEY ------------------------------------
KEY=config-key-0123
api_yaml "$KEY" >"$WORK/keyed.yaml"
API_SERVER_KEY= start_gw keyed
expect_status 401 GET /v1/models
grep -q "api: authentication on (key from the config file)" "$WORK/keyed.log" ||
  fail "no 'authentication on' line in the log"
API_KEY=$KEY expect_status 200 GET /v1/models
out=$(API_SERVER_KEY= "$GW" --config "$WORK/keyed.yaml" --check) || fail "--check refused a good config"
echo "$out" | grep -q "authentication on" || fail "--check does not say auth is on: $out"
kill -TERM "$GW_PID"
wait_exit "$GW_PID" 20
[ "$EXIT_CODE" -eq 0 ] || fail "keyed: exit $EXIT_CODE after SIGTERM"
echo "ok: empty API_SERVER_KEY keeps the config's key (401 without it), and the log says auth is on"

api_yaml "" "$WORK/open.db" >"$WORK/open.yaml"
start_gw open
grep -q "WARN  api: authentication off" "$WORK/open.log" || fail "no 'authentication off' warning"
kill -TERM "$GW_PID"
wait_exit "$GW_PID" 20
echo "ok: no key: the log warns that authentication is off"

# --- API_SERVER_ENABLED takes a boolean ----------------------------------------
API_SERVER_ENABLED=maybe "$GW" --config "$WORK/open.yaml" --check >/dev/null 2>"$WORK/maybe.err"
rc=$?
[ $rc -eq 2 ] || fail "API_SERVER_ENABLED=maybe: exit $rc, want 2"
grep -q "API_SERVER_ENABLED.*maybe" "$WORK/maybe.err" || fail "no reason: $(cat "$WORK/maybe.err")"
echo "ok: API_SERVER_ENABLED=maybe refused (exit 2)"

# --- --check refuses what startup would refuse -------------------------------
check_refuses() { # NAME WHY, with $WORK/NAME.yaml written
  "$GW" --config "$WORK/$1.yaml" --check >/dev/null 2>"$WORK/$1.err"
  rc=$?
  [ $rc -eq 2 ] || fail "--check $1: exit $rc, want 2"
  grep -q "$2" "$WORK/$1.err" || fail "--check $1: no '$2' in: $(cat "$WORK/$1.err")"
  echo "ok: --check refuses $1 ($2)"
}
api_yaml "short" >"$WORK/shortkey.yaml"
check_refuses shortkey "shorter than 8 characters"
api_yaml "" >"$WORK/namehost.yaml"
sed -i 's/host: 127.0.0.1/host: api.example/' "$WORK/namehost.yaml"
check_refuses namehost "is not an IP address"
api_yaml "" >"$WORK/openlan.yaml"
sed -i 's/host: 127.0.0.1/host: 0.0.0.0/' "$WORK/openlan.yaml"
check_refuses openlan "not loopback and no API key"
api_yaml "" "$WORK/no/such/dir/responses.db" >"$WORK/nodir.yaml"
check_refuses nodir "does not exist"
{
  echo "platforms:"
  platform_yaml chat 9 | sed "s#store_path: .*#store_path: $WORK/missing/ledger.db#"
} >"$WORK/nodirplat.yaml"
check_refuses nodirplat "platforms\[0\]: store_path.*does not exist"
