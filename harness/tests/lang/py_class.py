#!/usr/bin/env python3
"""Shaped like the bug report of issue 15: on every Nth failed attempt the
runner creates a new adapter, whose __init__ creates a ResponseStore, whose
__init__ opens an SQLite store (LEAK-LINE); the failed adapter is dropped but
its store never closed.  Expected chain: ResponseStore.__init__ <-
Adapter.__init__ <- Runner._create_adapter.  --fixed closes the store.
See langloop.py for the flags."""
import os
import sqlite3

import langloop


class ResponseStore:
    def __init__(self, path):
        self.conn = sqlite3.connect(path, check_same_thread=False)  # LEAK-LINE
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("CREATE TABLE IF NOT EXISTS responses(id TEXT PRIMARY KEY, data TEXT)")

    def close(self):
        self.conn.close()


class Adapter:
    def __init__(self, store_path):
        self.store = ResponseStore(store_path)

    def close(self):
        self.store.close()


class Runner:
    def __init__(self, args, loop):
        self.args = args
        self.loop = loop
        self.dropped = []

    def _create_adapter(self, k):
        return Adapter(os.path.join(self.loop.dir, "response_store-%d.db" % k))

    def on_failed_attempt(self, k):
        adapter = self._create_adapter(k)
        if self.args.fixed:
            adapter.close()
        else:
            self.dropped.append(adapter.store.conn)  # the store outlives its adapter


args = langloop.parse_args(__doc__)
loop = langloop.Loop(args, "py-class")
runner = Runner(args, loop)
loop.run(runner.on_failed_attempt)
