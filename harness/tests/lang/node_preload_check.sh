#!/usr/bin/env bash
# Checks harness/lang/node/fdsoak-origins.js directly (no fdsoak): runs
# node_preload_check.js under NODE_OPTIONS=--require <preload> with a fresh
# FDSOAK_LANG_LOG, then once with an unwritable log (the program must run the
# same, quietly) and once without the variable; node_budget_check.js checks
# the stack budget on a clock it drives.
set -u
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
PRELOAD="$ROOT/harness/lang/node/fdsoak-origins.js"
tmp="$(mktemp -d /tmp/fdsoak-nodepre-XXXXXX)"
trap 'rm -rf "$tmp"' EXIT
fail=0
# Every stack (the cost budget off): each marked fd must have its line.
FDSOAK_LANG_RATE=0 FDSOAK_LANG_LOG="$tmp/log.jsonl" NODE_OPTIONS="--require $PRELOAD" node "$HERE/node_preload_check.js" || fail=1
# The stack budget at its default rate (FDSOAK_LANG_RATE unset).
env -u FDSOAK_LANG_RATE FDSOAK_LANG_LOG="$tmp/budget.jsonl" node "$HERE/node_budget_check.js" "$PRELOAD" || fail=1
out="$(FDSOAK_LANG_LOG=/nonexistent/dir/log.jsonl NODE_OPTIONS="--require $PRELOAD" \
  node -e 'const fs=require("fs"); const fd=fs.openSync("/etc/hostname","r"); fs.closeSync(fd); console.log("ran")' 2>&1)"
if [ "$out" = ran ]; then echo "ok unwritable log: runs, quiet"; else echo "FAIL unwritable log: $out"; fail=1; fi
chmod 0 "$tmp" 2>/dev/null
out="$(NODE_OPTIONS="--require $PRELOAD" node -e 'console.log("ran")' 2>&1)"
chmod 700 "$tmp"
if [ "$out" = ran ]; then echo "ok no FDSOAK_LANG_LOG: runs"; else echo "FAIL no FDSOAK_LANG_LOG: $out"; fail=1; fi
exit $fail
