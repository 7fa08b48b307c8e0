#!/usr/bin/env python3
"""Clean target: an asyncio reconnect loop with a lazily grown SQLite pool.

fd behaviour: a pool of sqlite3 connections to one WAL-mode database grows
lazily up to 8 - a new connection is opened only when every pooled one is
"busy", which happens at random moments (bursts of concurrent work) - and then
stays.  Each connection holds the db file and its -wal (the -shm is shared),
so the count climbs in irregular steps of 2-3 over roughly the first 200
attempts and is flat after that.  The reconnect loop (asyncio.open_connection
with a timeout) opens and closes one socket per attempt.

Realistic because: connection pools that grow on demand to a maximum are
the norm (SQLAlchemy, aiosqlite-style pools); the asyncio event loop's own
fds (epoll, self-pipe) are there too.
"""
import asyncio
import os
import sqlite3
import tempfile

import common


class Pool:
    def __init__(self, path, maxsize):
        self.path, self.maxsize = path, maxsize
        self.idle, self.size = [], 0

    def get(self):
        if self.idle:
            return self.idle.pop()
        if self.size >= self.maxsize:
            return None
        self.size += 1
        c = sqlite3.connect(self.path)
        c.execute("PRAGMA journal_mode=WAL")
        c.execute("PRAGMA synchronous=NORMAL")   # WAL: no fsync per commit
        c.execute("CREATE TABLE IF NOT EXISTS attempts(n INTEGER, ok INTEGER)")
        return c

    def put(self, c):
        self.idle.append(c)

    def close(self):
        for c in self.idle:
            c.close()
        self.idle = []


async def main():
    ap = common.parser(__doc__)
    ap.add_argument("--pool-max", type=int, default=8)
    ap.add_argument("--grow-attempts", type=int, default=200,
                    help="bursts of concurrent demand happen during this many attempts")
    args = ap.parse_args()
    run = common.Run(args)
    rng = run.rng
    d = run.tempdir("fdsoak-sqlpool-")
    pool = Pool(os.path.join(d, "state.db"), args.pool_max)

    while run.going():
        ok = True
        try:
            r, w = await asyncio.wait_for(
                asyncio.open_connection("127.0.0.1", args.port), timeout=1.0)
            w.close()
            await w.wait_closed()
        except (ConnectionError, asyncio.TimeoutError):
            ok = False
        run.attempts += 1
        # Record the attempt.  Usually one connection is enough; now and
        # then during the growth phase a burst needs one more than the pool
        # has, which makes it open a new one: the pool reaches its maximum
        # at a random point, typically after 150-200 attempts.
        need = 1
        if run.attempts <= args.grow_attempts and rng.random() < 0.05:
            need = pool.size + 1
        held = [c for c in (pool.get() for _ in range(need)) if c is not None]
        for c in held:
            c.execute("INSERT INTO attempts VALUES (?, ?)", (run.attempts, int(ok)))
            c.commit()
            pool.put(c)
        await asyncio.sleep(args.delay_ms / 1000.0 * rng.uniform(0.8, 1.2))

    pool.close()
    run.finish(0)


if __name__ == "__main__":
    asyncio.run(main())
