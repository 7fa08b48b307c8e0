#!/bin/sh
# cli_man.sh FDSOAK MANPAGE - every verb's --help (printed from its flag
# table, args.c) and fdsoak(1) name the same flags: each flag of
# `fdsoak VERB --help` is in the man page's SYNOPSIS line of VERB and
# described in its body, and the SYNOPSIS names no flag the verb lacks.
FDSOAK="$1"
MAN="$2"
HERE=$(cd "$(dirname "$0")" && pwd)
T=$(mktemp -d "${TMPDIR:-/tmp}/fsk-cli-man-XXXXXX")
trap 'rm -rf "$T"' EXIT
. "$HERE/lib.sh"

# The verbs, from the synopsis of `fdsoak --help`.
verbs=$("$FDSOAK" --help | sed -n 's/^\(usage:\)\{0,1\} *fdsoak \([a-z][a-z]*\).*/\2/p')
[ -n "$verbs" ] && ok "verbs: $(echo $verbs)" || fail "no verbs in fdsoak --help"
# The man page's text with roff's escaped hyphens plain.
sed 's/\\-/-/g' "$MAN" >"$T/man"
for v in $verbs; do
  "$FDSOAK" "$v" --help >"$T/help" || bad "$v --help: exit $?"
  # Flags listed in the help: "  --flag ..." or "  -q, --flag ...".
  sed -n 's/^  \(-[a-z], \)\{0,1\}\(--[a-z][a-z-]*\).*/\2/p' "$T/help" | grep -v '^--help$' \
    | sort -u >"$T/help.flags"
  grep -q '^  -q, --quiet' "$T/help" && echo "-q" >>"$T/help.flags"
  sort -u -o "$T/help.flags" "$T/help.flags"
  # The SYNOPSIS of v: from ".B fdsoak v" to the next ".br".
  awk -v v="$v" '/^\.SH DESCRIPTION/ { exit } $0 == ".B fdsoak " v { on = 1; next }
    on && /^\.br/ { on = 0 } on { print }' "$T/man" \
    | grep -oE -- '(^|[ [("])--?[a-z][a-z-]*' | sed 's/^[ [("]//' | sort -u >"$T/syn.flags"
  # --quiet's short form is what the synopsis shows.
  grep -v '^--quiet$' "$T/help.flags" >"$T/h" || true
  grep -v '^--quiet$' "$T/syn.flags" >"$T/s" || true
  missing=$(comm -23 "$T/h" "$T/s" | tr '\n' ' ')
  extra=$(comm -13 "$T/h" "$T/s" | tr '\n' ' ')
  [ -z "$missing" ] && ok "$v: every flag of --help is in the SYNOPSIS" \
    || bad "$v: in --help, not in fdsoak(1)'s SYNOPSIS: $missing"
  [ -z "$extra" ] && ok "$v: the SYNOPSIS names no other flag" \
    || bad "$v: in fdsoak(1)'s SYNOPSIS, not in --help: $extra"
  # Described in the body: a bold roff line naming it.
  sed -n '/^\.SH DESCRIPTION/,$p' "$T/man" | grep -E '^\.(B|BI|BR|RB) ' >"$T/body"
  for f in $(cat "$T/help.flags"); do
    grep -q -- "[ \"(]$f\([ \",)]\|'s\|\$\)" "$T/body" || bad "$v: $f is not described in fdsoak(1)"
  done
done
finish
