#!/usr/bin/env python3
"""Leaks an SQLite store in WAL mode on every Nth failed attempt (issue 15):
the database file is opened by sqlite3.connect (LEAK-LINE); the -wal and
-shm files are opened by SQLite later, during the first statement after the
PRAGMA (WAL-LINE).  --fixed closes the store.  See langloop.py for the flags."""
import os
import sqlite3

import langloop

args = langloop.parse_args(__doc__)
loop = langloop.Loop(args, "py-sqlite")
kept = []


def on_fail(k):
    path = os.path.join(loop.dir, "store-%d.db" % k)
    conn = sqlite3.connect(path)  # LEAK-LINE
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE IF NOT EXISTS r(id TEXT PRIMARY KEY, data TEXT)")  # WAL-LINE
    if args.fixed:
        conn.close()
        for suffix in ("", "-wal", "-shm"):
            try:
                os.remove(path + suffix)
            except OSError:
                pass
    else:
        kept.append(conn)


loop.run(on_fail)
