#!/bin/sh
# A program under `fdsoak watch --origins lang` behaves as it does alone
# (issue 23: the language hooks).  One CTest test per case:
#
#   compat.sh CASE          FDSOAK: the fdsoak binary (default build/bin/fdsoak)
#
#   py_deadlock  two threads sharing one sqlite3 connection finish (the old
#                hook took the GIL inside SQLite's journal open: a deadlock)
#   py_signal    a handler's exception and SIGINT's KeyboardInterrupt reach
#                the program while it creates fds
#   py_site      the program's own sitecustomize is what `import
#                sitecustomize` gives, its sys.path additions are kept, and
#                re/ctypes/json are not preloaded
#   py_reader    the Python 3.11 frame reader itself, through ctypes, agrees
#                with sys._getframe in 11 kinds of frames (pyenv's 3.11 and
#                Debian's)
#   py_version   an unsupported Python (3.12, pyenv) runs as plain and the
#                report says why it has no Python frames
#   py_full      a language log on a full disk is reported as that (or
#   node_full    does not matter: the stack is in the shim's page)
#   node_hooks   listeners, error stacks, a frozen Error and
#                --frozen-intrinsics: the same with and without the hook
#
# Each case runs the program plain and under watch and compares what the
# program itself wrote; every run is bounded by timeout(1).
set -u
case_="$1"
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
FDSOAK="${FDSOAK:-$ROOT/build/bin/fdsoak}"
T="$(mktemp -d /tmp/fsk-compat-XXXXXX)"
trap 'rm -rf "$T"' EXIT
SRC="$ROOT"
. "$HERE/../lib.sh"

# watch_run LIMIT OUT -- CMD...: the program under watch (interval mode,
# language origins on), killed after LIMIT seconds; fdsoak's exit code is
# not the point here (a short program is inconclusive), the program's is.
watch_run() {
  limit="$1" out="$2"; shift 3
  timeout -k 5 "$limit" "$FDSOAK" watch --origins lang --duration "$limit" --warmup 1 \
    --out "$out" -- "$@" >"$T/watch.out" 2>"$T/watch.err"
}
plain_run() {
  limit="$1"; shift 2
  timeout -k 5 "$limit" "$@" >"$T/plain.out" 2>"$T/plain.err"
}
same() { # same DESC FILE_PLAIN FILE_WATCH
  if [ -f "$2" ] && [ -f "$3" ] && cmp -s "$2" "$3"; then
    ok "$1: $(head -c 120 "$3" | tr '\n' ' ')"
  else
    bad "$1: what the program saw differs (< plain, > under watch)"
    if [ -f "$2" ] && [ -f "$3" ]; then diff "$2" "$3" | head -30 | sed 's/^/  | /'; else
      echo "  | plain: $(head -c 300 "$2" 2>/dev/null)"; echo "  | watch: $(head -c 300 "$3" 2>/dev/null)"; fi
    sed 's/^/  | /' "$T/watch.err" | tail -15
  fi
}

case "$case_" in
py_deadlock)
  plain_run 60 -- python3 "$HERE/py_deadlock.py" "$T/plain.res" 300
  watch_run 60 "$T/w" -- python3 "$HERE/py_deadlock.py" "$T/watch.res" 300
  same "two threads sharing a sqlite3 connection finish under watch" "$T/plain.res" "$T/watch.res"
  ;;
py_signal)
  plain_run 60 -- python3 "$HERE/py_signal.py" "$T/plain.res" 10
  watch_run 60 "$T/w" -- python3 "$HERE/py_signal.py" "$T/watch.res" 10
  grep -q '^usr1 10/10 int 10/10$' "$T/plain.res" && ok "plain: every exception seen" \
    || bad "plain run lost exceptions: $(cat "$T/plain.res" 2>/dev/null)"
  same "a raising signal handler and KeyboardInterrupt under watch" "$T/plain.res" "$T/watch.res"
  ;;
py_site)
  mkdir -p "$T/site"
  cat >"$T/site/sitecustomize.py" <<'PY'
import sys
sys.path.append(sys.path[0] + "/fdsoak-site-added" if sys.path[0] else "fdsoak-site-added")
FDSOAK_TEST_MARK = 42
PY
  PYTHONPATH="$T/site" plain_run 30 -- python3 "$HERE/py_site.py" "$T/plain.res"
  PYTHONPATH="$T/site" watch_run 30 "$T/w" -- python3 "$HERE/py_site.py" "$T/watch.res"
  grep -q "mark=42 .*fdsoak-site-added" "$T/plain.res" \
    && ok "plain: the program's sitecustomize ran" || bad "plain: $(cat "$T/plain.res")"
  same "the program's own sitecustomize, its sys.path, nothing preloaded" "$T/plain.res" "$T/watch.res"
  ;;
py_reader)
  lib="$(dirname "$FDSOAK")/../lib/libfdsoak-py311.so"
  [ -r "$lib" ] || skip "no $lib (built without python3.11-dev)"
  for py in python3 /usr/bin/python3.11; do
    command -v "$py" >/dev/null 2>&1 || continue
    "$py" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || continue
    expect_rc 0 "$py: the reader's stacks are sys._getframe's" timeout -k 5 60 "$py" "$HERE/py_reader.py" "$lib"
  done
  ;;
py_version)
  # Python 3.12 from pyenv, when there is one: fdsoak reads 3.11 frames only.
  py312="$(ls /root/.pyenv/versions/3.12.*/bin/python3.12 2>/dev/null | head -n 1)"
  if [ -z "$py312" ] && command -v python3.12 >/dev/null; then py312="$(command -v python3.12)"; fi
  if [ -z "$py312" ]; then echo "skip: no Python 3.12 here"; exit 77; fi
  plain_run 30 -- "$py312" "$HERE/py_site.py" "$T/plain.res"
  watch_run 30 "$T/w" -- "$py312" "$HERE/py_site.py" "$T/watch.res"
  same "Python 3.12 runs under watch as plain" "$T/plain.res" "$T/watch.res"
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  expect_rc 1 "a leaky Python 3.12 loop is caught" timeout -k 5 120 "$FDSOAK" watch \
    --inject "connect:addr=127.0.0.1,port=$port:do=refuse" --cycles 40 --warmup 10 \
    --out "$T/v" -q -- "$py312" "$HERE/py_open.py" --port "$port"
  has "$T/v/summary.json" "the report says why there are no Python frames" \
    "Python 3.12: fdsoak reads CPython 3.11 frames only"
  ;;
py_full|node_full)
  # A tmpfs of its own (a private mount namespace) as TMPDIR: fdsoak puts
  # its counter page and the language log there, and the program fills it.
  case "$case_" in
    py_full) prog="python3 $HERE/py_full.py" src="$HERE/py_full.py" ;;
    *) prog="node $HERE/node_full.js" src="$HERE/node_full.js" ;;
  esac
  if ! unshare -m true 2>/dev/null; then echo "skip: cannot unshare a mount namespace"; exit 77; fi
  mkdir "$T/mnt"
  expect_rc 1 "a leak with the language log on a full disk is caught" timeout -k 5 120 \
    unshare -m sh -c 'd="$1"; shift; mount -t tmpfs -o size=8m fdsoak-full "$d" || exit 77;
      TMPDIR="$d" "$@"' sh "$T/mnt" "$FDSOAK" watch --origins lang --cycles 60 --warmup 10 \
    --interval 100 --out "$T/f" -q -- $prog "$T/mnt" 20
  # Python stacks now live in the shim's page, which needs no disk once
  # made: the leak's own line is the best answer; else the note must name
  # the full disk (never "python -S").
  note="$(json "$T/f/summary.json" "d['target'].get('lang_note', '')" 2>/dev/null)"
  line="$(grep -n 'LEAK-LINE$' "$src" | cut -d: -f1)"
  base="$(basename "$src")"
  if json "$T/f/summary.json" "[l['origin'] for s in d['scenarios'] for l in s['leaked']]" \
      | grep -q "$base:$line"; then
    ok "the leaked fds name $base:$line despite the full disk"
  else
    case "$note" in
      *"could not be written (No space left on device)"* | *"language log"*"is full"*)
        ok "the note names the full disk: $note" ;;
      *) bad "no language frame and the note does not name the full disk: '$note'" ;;
    esac
  fi
  # "python -S" in full: the log's mkdtemp name may hold "-S" by chance.
  case "$note" in *"python -S"*) bad "the note still blames python -S" ;; esac
  ;;
node_hooks)
  # --frozen-intrinsics prints an ExperimentalWarning on stderr either way;
  # the comparison is of what the program wrote.
  for variant in plain freeze-error frozen-intrinsics; do
    case "$variant" in
      plain) nodeargs="" progargs="" ;;
      freeze-error) nodeargs="" progargs="--freeze-error" ;;
      frozen-intrinsics) nodeargs="--frozen-intrinsics" progargs="" ;;
    esac
    # shellcheck disable=SC2086
    plain_run 60 -- node $nodeargs "$HERE/node_compat.js" "$T/plain-$variant.res" $progargs
    # shellcheck disable=SC2086
    watch_run 60 "$T/w-$variant" -- node $nodeargs "$HERE/node_compat.js" "$T/watch-$variant.res" $progargs
    grep -q '"openSync": "number"' "$T/plain-$variant.res" && ok "plain $variant: the program ran" \
      || bad "plain $variant: $(head -c 300 "$T/plain-$variant.res" 2>/dev/null)"
    same "node $variant: listeners, warnings, error stacks and the fd under watch" \
      "$T/plain-$variant.res" "$T/watch-$variant.res"
  done
  ;;
*)
  echo "compat.sh: unknown case '$case_'" >&2
  exit 2
  ;;
esac
finish
