#!/usr/bin/env python3
"""Leaky target that dies of its leak.

fd behaviour: it lowers its own RLIMIT_NOFILE to --limit (128), then leaks
one fd per attempt (a per-attempt log file it opens and forgets) until
open() fails with EMFILE.  Nothing catches that OSError: the program dies
with a traceback and exit status 1 after ~120 attempts.  fdsoak must call
this a leak (the target died of EMFILE / reached its limit), not read the
dead process's empty fd table as a flat series.

Realistic because: this is how the upstream gateway ended, hours later.
"""
import os
import resource
import tempfile

import common


def main():
    ap = common.parser(__doc__)
    ap.add_argument("--limit", type=int, default=128)
    args = ap.parse_args()
    run = common.Run(args)
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (args.limit, min(hard, args.limit)))
    d = run.tempdir("fdsoak-emfile-")
    logs = []

    while run.going():
        # The attempt's log is opened and never closed: one fd per attempt.
        logs.append(open(os.path.join(d, f"attempt-{run.attempts}.log"), "w"))
        common.attempt_connect(args.port)
        run.attempts += 1
        run.leak(1)
        run.backoff()
    run.finish(0)


if __name__ == "__main__":
    main()
