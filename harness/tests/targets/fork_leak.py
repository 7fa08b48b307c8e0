#!/usr/bin/env python3
"""Leaky target: the leak is in a forked, long-lived worker process.

fd behaviour: the parent (a supervisor) opens nothing after start-up; it
forks one worker that runs py_leak.py's reconnect loop and leaks an SQLite
store (3 fds) with probability 1/N per attempt.  The parent's own count is
flat; only a tool that samples the whole process tree sees the growth.  The
parent waits for the worker, forwards SIGTERM/SIGINT to it, and restarts
nothing.  The worker writes the {"attempts","leaked"} result file.

Realistic because: pre-fork servers (gunicorn, multiprocessing, celery
prefork) do the real work in forked children.
"""
import os
import signal
import sys
import time

import common
import py_leak


def main():
    ap = common.parser(__doc__)
    ap.add_argument("--n", type=int, default=10, help="leak with probability 1/N per attempt")
    args = ap.parse_args()
    if args.seed is None:
        args.seed = int(time.time() * 1000) % 1_000_000

    pid = os.fork()
    if pid == 0:
        # The worker: its own bookkeeping and signal handlers.
        run = common.Run(args)
        try:
            py_leak.loop(run, args)
        finally:
            os._exit(0)

    def forward(signum, frame):
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, forward)
    deadline = time.monotonic() + args.max_seconds + 5
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            code = os.waitstatus_to_exitcode(status)
            sys.exit(code if code >= 0 else 128 - code)   # as a shell reports it
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    sys.exit(1)


if __name__ == "__main__":
    main()
