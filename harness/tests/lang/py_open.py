#!/usr/bin/env python3
"""Leaks a plain open() file on every Nth failed reconnect attempt (issue 15).
--fixed closes it.  See langloop.py for the flags."""
import os

import langloop

args = langloop.parse_args(__doc__)
loop = langloop.Loop(args, "py-open")
path = os.path.join(loop.dir, "state.json")
with open(path, "w") as f:
    f.write("{}\n")
kept = []


def on_fail(k):
    f = open(path, "rb")  # LEAK-LINE
    f.read(2)
    if args.fixed:
        f.close()
    else:
        kept.append(f)


loop.run(on_fail)
