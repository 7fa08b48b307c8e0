#!/usr/bin/env python3
"""Target that gives up early: three failed attempts, then exit 0.

fd behaviour: none to speak of; it exits (status 0) after --attempts (3)
reconnect attempts, long before fdsoak has the cycles it asked for.  fdsoak
must say that the target exited and when, not ask for a longer warm-up.

Realistic because: many clients try a few times and then quit.
"""
import common


def main():
    ap = common.parser(__doc__)
    ap.add_argument("--attempts", type=int, default=3)
    args = ap.parse_args()
    args.max_attempts = min(args.max_attempts, args.attempts)
    run = common.Run(args)
    while run.going():
        common.attempt_connect(args.port)
        run.attempts += 1
        run.backoff()
    run.finish(0)


if __name__ == "__main__":
    main()
