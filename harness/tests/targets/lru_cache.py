#!/usr/bin/env python3
"""Clean target: a reconnect loop beside an LRU cache of open files.

fd behaviour: the program keeps up to --capacity (32) files open in an LRU
cache keyed by a bounded key space (--keys, 200 files it creates at start).
Work arrives at random: on about a quarter of the attempts it reads one
random key, opening the file on a miss and closing the least recently used
one when the cache is full.  So the count climbs over the first ~150
attempts (cache filling, one fd at a time at random moments) and then stays
at the capacity while the cache turns over: fds opened late outlive their
cycle and are closed much later by eviction - bounded, not a leak.

Realistic because: file-handle caches (log segment readers, template or
static file caches, RocksDB/LevelDB table caches) behave exactly like this.
"""
import collections
import os
import shutil
import tempfile

import common


def main():
    ap = common.parser(__doc__)
    ap.add_argument("--capacity", type=int, default=32)
    ap.add_argument("--keys", type=int, default=200)
    args = ap.parse_args()
    run = common.Run(args)
    rng = run.rng

    d = run.tempdir("fdsoak-lru-")
    for k in range(args.keys):
        with open(os.path.join(d, f"seg-{k:04d}.dat"), "wb") as f:
            f.write(b"x" * 64)
    cache = collections.OrderedDict()   # key -> open file, oldest first

    def read(key):
        f = cache.get(key)
        if f is None:
            if len(cache) >= args.capacity:
                _, old = cache.popitem(last=False)
                old.close()
            f = cache[key] = open(os.path.join(d, f"seg-{key:04d}.dat"), "rb")
        else:
            cache.move_to_end(key)
        f.seek(0)
        return f.read(16)

    while run.going():
        common.attempt_connect(args.port)
        run.attempts += 1
        if rng.random() < 0.25:
            read(rng.randrange(args.keys))
        run.backoff()

    for f in cache.values():
        f.close()
    shutil.rmtree(d, ignore_errors=True)
    run.finish(0)


if __name__ == "__main__":
    main()
