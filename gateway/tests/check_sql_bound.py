#!/usr/bin/env python3
"""check_sql_bound.py - SQL only with bound parameters, checked in source.

Every sqlite3_exec / sqlite3_prepare* call in the given C files must pass as
its SQL either string literals, or a constant of the same file whose value
is only string literals and which is never assigned again:

    static const char schema_sql[] = "CREATE ...";
    static const char *const stmt_sql[N] = {"SELECT ... ?1", ...};

and the SQL string builders (sqlite3_mprintf and friends) are not used at
all.  The gateway's one opener, gw__wal_open (infra/wal.c), runs the schema
its caller passes: its own sqlite3_exec of that parameter is exempt, and
every call of gw__wal_open is held to the same rule instead (its SQL is the
second argument, as for sqlite3_exec; NULL means none).  Directories are
searched recursively.  So no request text, path or name can ever become SQL; values reach
SQLite through sqlite3_bind_* only.  Exit 0 when clean, 1 with one line per
offending call otherwise, 2 on usage errors.

    check_sql_bound.py FILE_OR_DIR...
"""
import os
import re
import sys

CALLS = re.compile(r"\b(sqlite3_exec|sqlite3_prepare(?:16)?(?:_v[23])?|gw__wal_open)\s*\(")
# The opener's definition, whose exec of its schema parameter is exempt.
OPENER = re.compile(r"^int\s+gw__wal_open\s*\(", re.M)
PASSTHROUGH = "schema"
BUILDERS = re.compile(r"\b(sqlite3_v?mprintf|sqlite3_v?snprintf|sqlite3_str_new|sqlite3_str_appendf)\s*\(")
LITERALS = re.compile(r'^\s*(?:"(?:[^"\\\n]|\\.)*"\s*)+$', re.S)


def strip_comments(src):
    """Blank out comments, keeping strings and line numbers."""
    out, i, n = [], 0, len(src)
    while i < n:
        c = src[i]
        if src.startswith("/*", i):
            j = src.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", src[i:j]))
            i = j
        elif src.startswith("//", i):
            j = src.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif c in "\"'":
            j = i + 1
            while j < n and src[j] != c:
                j += 2 if src[j] == "\\" else 1
            out.append(src[i:j + 1])
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def split_args(src, start):
    """Arguments of the call whose '(' is at start: (list, end index)."""
    args, depth, cur, i = [], 0, [], start + 1
    while i < len(src):
        c = src[i]
        if c in "\"'":
            j = i + 1
            while j < len(src) and src[j] != c:
                j += 2 if src[j] == "\\" else 1
            cur.append(src[i:j + 1])
            i = j + 1
            continue
        if c in "([{":
            depth += 1
        elif c in ")]}":
            if depth == 0:
                args.append("".join(cur))
                return args, i
            depth -= 1
        elif c == "," and depth == 0:
            args.append("".join(cur))
            cur = []
            i += 1
            continue
        cur.append(c)
        i += 1
    return args, i


def literal_constant(src, name):
    """True when name is a file constant made of literals, never reassigned."""
    n = re.escape(name)
    scalar = re.search(r"\bstatic\s+const\s+char\s*(?:\*\s*(?:const\s*)?)?" + n +
                       r"\s*(?:\[\s*\])?\s*=\s*((?:\"(?:[^\"\\\n]|\\.)*\"\s*)+);", src)
    array = re.search(r"\bstatic\s+const\s+char\s*\*\s*const\s+" + n +
                      r"\s*\[[^\]]*\]\s*=\s*\{([^}]*)\}\s*;", src)
    if scalar is None and array is None:
        return False
    if array is not None:
        items, _ = split_args("(" + array.group(1) + ")", 0)
        # Designated initializers ([KEY] = "...") are literals too.
        items = [re.sub(r"^\s*\[[^\]]*\]\s*=", "", x) for x in items]
        if not all(LITERALS.match(x) or not x.strip() for x in items):
            return False
    # One assignment only: its definition.
    return len(re.findall(r"\b" + n + r"\s*(?:\[[^\]]*\])?\s*=(?!=)", src)) == 1


def check(path):
    raw = open(path, encoding="utf-8", errors="replace").read()
    src = strip_comments(raw)
    bad = []
    for m in BUILDERS.finditer(src):
        line = src.count("\n", 0, m.start()) + 1
        bad.append("%s:%d: %s builds SQL text at run time; bind parameters instead"
                   % (path, line, m.group(1)))
    opener = None
    for d in OPENER.finditer(src):
        _, close = split_args(src, d.end() - 1)
        if src[close + 1:].lstrip().startswith("{"):
            end = src.find("\n}\n", close)
            opener = (d.start(), end if end >= 0 else len(src))
    for m in CALLS.finditer(src):
        if m.group(1) == "gw__wal_open" and re.search(r"\bint\s+$", src[:m.start()]):
            continue  # its declaration or definition, not a call
        args, _ = split_args(src, m.end() - 1)
        line = src.count("\n", 0, m.start()) + 1
        if len(args) < 2:
            bad.append("%s:%d: %s: cannot read its arguments" % (path, line, m.group(1)))
            continue
        sql = args[1].strip()
        if LITERALS.match(sql) or (m.group(1) == "gw__wal_open" and sql == "NULL"):
            continue
        if opener and opener[0] <= m.start() < opener[1] and sql == PASSTHROUGH:
            continue
        ident = re.match(r"^([A-Za-z_]\w*)\s*(?:\[[^\]]*\])?$", sql)
        if ident and literal_constant(src, ident.group(1)):
            continue
        bad.append("%s:%d: %s with SQL '%s': not a string literal or a literal-only "
                   "constant of this file" % (path, line, m.group(1), " ".join(sql.split())))
    return bad


def main(argv):
    if len(argv) < 2:
        print(__doc__.strip().splitlines()[-1].strip(), file=sys.stderr)
        return 2
    files = []
    for a in argv[1:]:
        if os.path.isdir(a):
            for root, dirs, names in os.walk(a):
                dirs.sort()
                files += sorted(os.path.join(root, f) for f in names if f.endswith(".c"))
        elif os.path.isfile(a):
            files.append(a)
        else:
            print("check_sql_bound: %s: no such file or directory" % a, file=sys.stderr)
            return 2
    bad, calls = [], 0
    for f in files:
        bad += check(f)
        src = strip_comments(open(f, errors="replace").read())
        calls += sum(1 for m in CALLS.finditer(src)
                     if not (m.group(1) == "gw__wal_open"
                             and re.search(r"\bint\s+$", src[:m.start()])))
    for b in bad:
        print(b)
    print("check_sql_bound: %d files, %d SQL calls, %d built at run time"
          % (len(files), calls, len(bad)))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
