#!/bin/sh
# The GitHub Action (action.yml) on this machine: every `run:` step as the
# action runs it (ci/action-run install, build, soak, judge), through
# action_steps.py, with GITHUB_STEP_SUMMARY in a temp file; checks the
# summary (table, verdict, projection) and the job's result for a leaking
# program, a clean one, and an inconclusive one with fail-on-inconclusive
# false and true.  Usage: action_steps.sh BUILD_DIR
set -u
BUILD="$(cd "$1" && pwd)"
HERE="$(cd "$(dirname "$0")" && pwd)"
SRC="$(cd "$HERE/../.." && pwd)"
T="$(mktemp -d /tmp/fsk-action-XXXXXX)"
trap 'rm -rf "$T"' EXIT
. "$HERE/lib.sh"
# The action builds into RUNNER_TEMP/fdsoak-build: here, this build.
mkdir -p "$T/runner" "$T/work"
ln -s "$BUILD" "$T/runner/fdsoak-build"
cp "$HERE/reconnect_loop.py" "$T/work/service.py"
act() { # act NAME WANT_RC KEY=VALUE...
  name="$1"; want="$2"; shift 2
  : > "$T/$name.md"
  python3 "$HERE/action_steps.py" "$SRC/action.yml" "$T/runner" "$T/$name.md" \
    working-directory="$T/work" results-dir="results-$name" "$@" >"$T/$name.log" 2>&1
  rc=$?
  [ "$rc" = "$want" ] && ok "$name: the job exits $rc" || { bad "$name: the job exits $rc, want $want"; tail -30 "$T/$name.log"; }
}

PORT=27341
act leak 1 command="python3 service.py --leak --port $PORT --sleep 0.01" \
  inject="connect:addr=127.0.0.1,port=$PORT:do=refuse" cycles=60 warmup=10 period=60 \
  sarif=scan/fdsoak.sarif
has "$T/leak.log" "the install step ran" "step install build dependencies: exit 0"
has "$T/leak.log" "the build step ran" "step build fdsoak: exit 0"
has "$T/leak.log" "the soak step passes on (the verdict step fails)" "step soak: exit 0"
has "$T/leak.log" "the artifact path exists" "results-leak exists"
has "$T/leak.log" "junit.xml exists" "results-leak/junit.xml exists"
has "$T/leak.log" "the verdict step fails the job" "step verdict: exit 1"
has "$T/leak.md" "summary heading" "## fdsoak: ❌ leak"
has "$T/leak.md" "summary table" "| scenario | cycles | fd first | fd last | rate | verdict |"
grep -qE '^\| watch/sh \| [0-9]+ \| [0-9]+ \| [0-9]+ \| \+[0-9.]+/attempt \| leak \|$' "$T/leak.md" \
  && ok "summary table row" || { bad "summary table row"; cat "$T/leak.md"; }
has "$T/leak.md" "summary verdict" "**Verdict: leak** (watch/sh): accumulating"
has "$T/leak.md" "summary projection" "**Projection:** watch/sh leaks"
has "$T/leak.md" "projection at the period given" "one attempt every 60 s"
has "$T/leak.md" "the leaked fds" "responses.db-wal"
json "$T/work/scan/fdsoak.sarif" "d['version'], len(d['runs'][0]['results']) > 0" | grep -qx "2.1.0 True" \
  && ok "the SARIF input: a SARIF file with results" || bad "no SARIF file in $T/work/scan"
cp "$T/leak.md" "${ACTION_SUMMARY_SAMPLE:-/dev/null}" 2>/dev/null || true

act flat 0 command="python3 service.py --port $PORT --sleep 0.01" \
  inject="connect:addr=127.0.0.1,port=$PORT:do=refuse" cycles=60 warmup=10
has "$T/flat.md" "flat heading" "## fdsoak: ✅ flat"
has "$T/flat.md" "flat projection" "**Projection:** none"
has "$T/flat.log" "the verdict step passes" "step verdict: exit 0"

# Too few attempts to judge (a slow program, and --timeout ends the run
# first): inconclusive, which fails only when asked to.
act inconclusive-pass 0 command="python3 service.py --port $PORT --sleep 0.2" \
  inject="connect:addr=127.0.0.1,port=$PORT:do=refuse" cycles=60 warmup=2 args="--timeout 2" \
  fail-on-inconclusive=false
has "$T/inconclusive-pass.md" "inconclusive heading" "## fdsoak: ⚠️ inconclusive"
act inconclusive-fail 3 command="python3 service.py --port $PORT --sleep 0.2" \
  inject="connect:addr=127.0.0.1,port=$PORT:do=refuse" cycles=60 warmup=2 args="--timeout 2"

# A program that cannot start: the summary says why, the job fails.
act broken 2 command="exec /nonexistent/service" cycles=20 warmup=2
has "$T/broken.md" "error heading" "## fdsoak: ❌ error"

finish
