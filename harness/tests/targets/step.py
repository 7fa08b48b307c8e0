#!/usr/bin/env python3
"""Clean target: a reconnect loop that opens 5 long-lived fds once, late.

fd behaviour: a one-time step.  At one random attempt between --step-min and
--step-max (after fdsoak's warm-up) the program starts a subsystem that keeps
5 fds for the rest of its life: a log file, a lock file, a pipe pair to a
(virtual) helper and a listening socket for a metrics endpoint.  Before and
after that the count is flat.  Five fds appear after warm-up and outlive
every later cycle, but they never come back: not a leak.

Realistic because: lazy initialisation on first use (a metrics server
started when the first metric is recorded, a log opened on the first
warning) happens at an unpredictable moment well after start-up.
"""
import os
import socket
import tempfile

import common


def main():
    ap = common.parser(__doc__)
    ap.add_argument("--step-min", type=int, default=60)
    ap.add_argument("--step-max", type=int, default=250)
    args = ap.parse_args()
    run = common.Run(args)
    step_at = run.rng.randint(args.step_min, args.step_max)
    run.extra["step_at"] = step_at
    kept = []

    while run.going():
        common.attempt_connect(args.port)
        run.attempts += 1
        if run.attempts == step_at:
            d = run.tempdir("fdsoak-step-")
            kept.append(open(os.path.join(d, "subsystem.log"), "a"))
            kept.append(open(os.path.join(d, "subsystem.lock"), "w"))
            r, w = os.pipe()
            kept += [os.fdopen(r, "rb"), os.fdopen(w, "wb")]
            metrics = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            metrics.bind(("127.0.0.1", 0))
            metrics.listen(8)
            kept.append(metrics)
        run.backoff()

    for k in kept:
        k.close()
    run.finish(0)


if __name__ == "__main__":
    main()
