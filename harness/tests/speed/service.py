#!/usr/bin/env python3
"""A small asyncio service with the seed incident's reconnect schedule,
unmodified for fdsoak: nothing in it knows about virtual time.

It starts 10 s after launch, then connects to its platform at
127.0.0.1:PORT.  Each attempt first builds an adapter that opens its SQLite
response store (WAL mode).  A failed attempt backs off
min(30 * 2**(attempt-1), 300) s, no jitter, no limit, as upstream did.

  service.py --leak   the bug: a failed attempt drops the adapter without
                      closing its store (two fds a time: the db and -wal)
  service.py          the fix: every failure path closes the store

At the 300 s cap that is 12 attempts an hour: the buggy twin leaks
24 fds per hour of its own time.
"""
import argparse
import asyncio
import os
import sqlite3
import tempfile
import time

ap = argparse.ArgumentParser()
ap.add_argument("--leak", action="store_true")
ap.add_argument("--port", type=int, default=27310)
ap.add_argument("--log", help="append 'TIME ATTEMPT' per failed attempt (time.time())")
args = ap.parse_args()

store_dir = tempfile.mkdtemp(prefix="fdsoak-svc-")
adapters = set()  # the runner's adapters: disconnect() takes one out


class Adapter:
    def __init__(self):
        self.store = sqlite3.connect(os.path.join(store_dir, "responses.db"))
        self.store.execute("PRAGMA journal_mode=WAL")
        self.store.execute(
            "CREATE TABLE IF NOT EXISTS responses(id TEXT PRIMARY KEY, data TEXT)")
        adapters.add(self)

    async def connect(self):
        try:
            _, w = await asyncio.wait_for(
                asyncio.open_connection("127.0.0.1", args.port), 30)
        except (OSError, asyncio.TimeoutError):
            return False
        w.close()
        return True

    def disconnect(self):
        self.store.close()
        adapters.discard(self)


async def main():
    await asyncio.sleep(10)
    attempt = 0
    while True:
        attempt += 1
        adapter = Adapter()
        try:
            ok = await adapter.connect()
        except Exception:
            ok = False
        if ok:
            adapter.disconnect()
            return
        if not args.leak:
            adapter.disconnect()
        if args.log:
            with open(args.log, "a") as f:
                f.write("%.1f %d\n" % (time.time(), attempt))
        await asyncio.sleep(min(30 * 2 ** (attempt - 1), 300))


asyncio.run(main())
