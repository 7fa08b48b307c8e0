#!/usr/bin/env python3
"""The leak happens in a forked long-lived child (issue 15): the parent runs
the reconnect loop and writes "attempt failed" notices over a pipe to a
child forked at start; the child opens a record file for every Nth notice
and keeps it (LEAK-LINE).  The child ends at EOF (the parent exiting).
--fixed closes the file.  See langloop.py for the flags."""
import os
import signal
import sys

import langloop

args = langloop.parse_args(__doc__)
loop = langloop.Loop(args, "py-fork")
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)
    try:
        os.close(w)
        kept = []
        notices = os.fdopen(r, "r")
        for line in notices:
            k = int(line.split()[1])
            f = open(os.path.join(loop.dir, "failed-%d.rec" % k), "w")  # LEAK-LINE
            f.write(line)
            f.flush()
            if args.fixed:
                f.close()
            else:
                kept.append(f)
    finally:
        os._exit(0)

os.close(r)
notify = os.fdopen(w, "w", buffering=1)


def on_fail(k):
    notify.write("failed %d\n" % k)


try:
    loop.run(on_fail)
finally:
    notify.close()
    os.waitpid(pid, 0)
sys.exit(0)
