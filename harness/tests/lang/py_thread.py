#!/usr/bin/env python3
"""The leak happens in a worker thread (issue 15): the reconnect loop hands
each Nth failure to a worker over a queue; the worker opens a journal file
and keeps it (LEAK-LINE).  --fixed closes it.  See langloop.py for the flags."""
import os
import queue
import threading

import langloop

args = langloop.parse_args(__doc__)
loop = langloop.Loop(args, "py-thread")
jobs = queue.Queue()
kept = []


def worker():
    while True:
        k = jobs.get()
        if k is None:
            return
        f = open(os.path.join(loop.dir, "journal-%d.log" % k), "a")  # LEAK-LINE
        f.write("attempt %d failed\n" % k)
        f.flush()
        if args.fixed:
            f.close()
        else:
            kept.append(f)
        jobs.task_done()


t = threading.Thread(target=worker, name="journal-writer", daemon=True)
t.start()
loop.run(lambda k: jobs.put(k))
