#!/usr/bin/env python3
"""A reconnect loop with two causes of leak at three places, that logs the
attempt each leaked fd was opened in (the truth fdsoak's report is checked
against).

  places.py LOG [--fixed]

Attempt k (1, 2, ...) opens what it needs, then connects to 127.0.0.1:PORT
(fdsoak watch's --inject refuses it).  On a failed attempt:
  - every third attempt forgets its SQLite store (cause 1: the database is
    opened at one line, its -wal and -shm at the first write: two places);
  - every fifth attempt forgets its trace file (cause 2: a third place).
Each forgotten fd is logged to LOG as "ATTEMPT PID FD TARGET".  The store
and trace are opened before the connect, so the attempt in progress (the
shim's count of attempts before it, plus one) is k.
"""
import os
import socket
import sqlite3
import sys
import tempfile
import time

log_path = sys.argv[1]
fixed = "--fixed" in sys.argv[2:]
port = 27391
root = tempfile.mkdtemp(prefix="fdsoak-places-")
kept = []


def fds_of(target_suffix):
    """The fds of this process whose target ends with target_suffix."""
    out = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            t = os.readlink("/proc/self/fd/" + fd)
        except OSError:
            continue
        if t.endswith(target_suffix):
            out.append((int(fd), t))
    return out


class Store:
    def __init__(self, path):
        self.conn = sqlite3.connect(path)  # PLACE-DB
        self.conn.execute("PRAGMA journal_mode=WAL").fetchone()
        self.conn.execute("CREATE TABLE IF NOT EXISTS r(id INTEGER)")  # PLACE-WAL


def open_trace(k):
    return open(os.path.join(root, "trace-%d.log" % k), "w")  # PLACE-TRACE


def note(k, pairs):
    with open(log_path, "a") as f:
        for fd, t in pairs:
            f.write("%d %d %d %s\n" % (k, os.getpid(), fd, t))


for k in range(1, 2000):
    before = {fd for fd, _ in fds_of("")}
    store = Store(os.path.join(root, "store-%d.db" % k)) if k % 3 == 0 else None
    trace = open_trace(k) if k % 5 == 0 else None
    s = socket.socket()
    try:
        s.connect(("127.0.0.1", port))
        ok = True
    except OSError:
        ok = False
    s.close()
    if not ok and not fixed:
        new = [(fd, t) for fd, t in fds_of("") if fd not in before and "/fdsoak-places-" in t]
        note(k, new)
        kept.append((store, trace))
    else:
        if store is not None:
            store.conn.close()
        if trace is not None:
            trace.close()
    time.sleep(0.004)
