#!/usr/bin/env python3
"""A program nobody here wrote the C for: a reconnect loop that opens an
SQLite store per attempt, as the upstream gateway's adapters did.

  reconnect_loop.py --leak   forgets the store on a failed attempt (the bug)
  reconnect_loop.py          closes it (the fix)

It connects to 127.0.0.1:PORT; fdsoak watch's --inject makes that fail.
Bounded: --attempts tries at most, then it exits.
"""
import argparse
import os
import socket
import sqlite3
import sys
import tempfile
import time

ap = argparse.ArgumentParser()
ap.add_argument("--leak", action="store_true")
ap.add_argument("--port", type=int, default=27300)
ap.add_argument("--attempts", type=int, default=400)
ap.add_argument("--sleep", type=float, default=0.03)
ap.add_argument("tag", nargs="?", help="ignored: lets a test find this process by name")
args = ap.parse_args()

store_dir = tempfile.mkdtemp(prefix="fdsoak-py-")
path = os.path.join(store_dir, "responses.db")
forgotten = []  # what the buggy version drops but never closes

for attempt in range(args.attempts):
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE IF NOT EXISTS r(id TEXT PRIMARY KEY, data TEXT)")
    conn.execute("SELECT count(*) FROM r").fetchone()
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.connect(("127.0.0.1", args.port))
        ok = True
    except OSError:
        ok = False
    finally:
        s.close()
    if not ok:
        if args.leak:
            forgotten.append(conn)
        else:
            conn.close()
    else:
        conn.close()
    time.sleep(args.sleep)
sys.exit(0)
