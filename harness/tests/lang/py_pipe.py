#!/usr/bin/env python3
"""Leaks both ends of an os.pipe() on every Nth failed attempt (issue 15).
--fixed closes them.  See langloop.py for the flags."""
import os

import langloop

args = langloop.parse_args(__doc__)
loop = langloop.Loop(args, "py-pipe")
kept = []


def on_fail(k):
    r, w = os.pipe()  # LEAK-LINE
    os.write(w, b"x")
    os.read(r, 1)
    if args.fixed:
        os.close(r)
        os.close(w)
    else:
        kept.append((r, w))


loop.run(on_fail)
