#!/usr/bin/env python3
"""Leaky target: the upstream gateway's bug in a Python reconnect loop.

fd behaviour: every attempt builds a fresh adapter whose constructor opens
its own SQLite store in WAL mode (db, -wal and -shm: 3 fds).  When the
connect fails, the adapter is disposed of properly - except that with
probability 1/N (--n; 1, 10, 100...) the failure path drops it without
closing it, and its store's fds stay open for good.  So the count grows by
about 3/N fds per attempt, without bound.

The program counts what it leaked (the fds the store held when it was
forgotten, measured from /proc/self/fd) and writes {"attempts", "leaked"}
to --result at exit or on SIGTERM, so a benchmark can compare fdsoak's
rate per attempt with the truth.

Realistic because: it is the incident of ../shared/seed in Python: an
exception path of a retry loop that forgets to dispose of what the attempt
created.
"""
import os
import sqlite3
import tempfile

import common


class Adapter:
    """A platform adapter with its own response store."""

    def __init__(self, store_dir, name):
        self.path = os.path.join(store_dir, f"{name}.db")
        self.store = sqlite3.connect(self.path)
        # A cache-like store: durability is not needed, speed is (no fsync).
        self.store.execute("PRAGMA synchronous=OFF")
        self.store.execute("PRAGMA journal_mode=WAL")
        self.store.execute("CREATE TABLE IF NOT EXISTS responses(id TEXT PRIMARY KEY, body TEXT)")
        self.store.execute("SELECT count(*) FROM responses").fetchone()

    def dispose(self):
        self.store.close()
        for suffix in ("", "-wal", "-shm"):
            try:
                os.unlink(self.path + suffix)
            except FileNotFoundError:
                pass


def loop(run, args):
    """The reconnect loop; shared with fork_leak.py's worker."""
    store_dir = run.tempdir("fdsoak-pyleak-")
    forgotten = []
    try:
        while run.going():
            before = common.fd_count()
            adapter = Adapter(store_dir, f"adapter-{run.attempts}")
            held = common.fd_count() - before
            ok = common.attempt_connect(args.port)
            run.attempts += 1
            if not ok and run.rng.random() < 1.0 / args.n:
                forgotten.append(adapter)       # the bug: dropped, never disposed
                run.leak(held)
            else:
                adapter.dispose()
            run.backoff()
    finally:
        run.write_result()
        run.cleanup()


def main():
    ap = common.parser(__doc__)
    ap.add_argument("--n", type=int, default=10, help="leak with probability 1/N per attempt")
    args = ap.parse_args()
    run = common.Run(args)
    loop(run, args)
    run.finish(0)


if __name__ == "__main__":
    main()
