#!/usr/bin/env python3
"""Clean target: a reconnect loop beside a sticky, bounded random walk of
open files and pipes.

fd behaviour: the number of extra fds wanders between 0 and --range (6).  It
is sticky (most attempts change nothing) and has momentum (a move usually
goes the same way as the last one), so the count drifts up for a while, sits,
and drifts down again: strongly autocorrelated, never more than 6 above the
base.  Each step opens or closes one "resource", a temp file (1 fd) or a
pipe (2 fds), as long as the bound allows.

Realistic because: a service's transient resources (subprocess pipes, spool
files, pending uploads) come and go with load, and load is autocorrelated;
a detector that assumes independent residuals sees trends in such noise.
"""
import os
import tempfile

import common


def main():
    ap = common.parser(__doc__)
    ap.add_argument("--range", type=int, default=6)
    ap.add_argument("--stay", type=float, default=0.85,
                    help="probability that an attempt changes nothing")
    ap.add_argument("--momentum", type=float, default=0.8,
                    help="probability that a move keeps the previous direction")
    args = ap.parse_args()
    run = common.Run(args)
    rng = run.rng
    held = []          # list of tuples of fds: (fd,) for a file, (r, w) for a pipe
    direction = 1

    def total():
        return sum(len(h) for h in held)

    while run.going():
        common.attempt_connect(args.port)
        run.attempts += 1
        if rng.random() >= args.stay:
            if rng.random() >= args.momentum:
                direction = -direction
            if direction > 0:
                room = args.range - total()
                if room >= 2 and rng.random() < 0.4:
                    held.append(os.pipe())
                elif room >= 1:
                    fd, path = tempfile.mkstemp(prefix="fdsoak-walk-")
                    os.unlink(path)      # an anonymous spool file
                    held.append((fd,))
                else:
                    direction = -1
            else:
                if held:
                    for fd in held.pop(rng.randrange(len(held))):
                        os.close(fd)
                else:
                    direction = 1
        run.backoff()

    for h in held:
        for fd in h:
            os.close(fd)
    run.finish(0)


if __name__ == "__main__":
    main()
