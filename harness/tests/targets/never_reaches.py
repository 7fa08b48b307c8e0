#!/usr/bin/env python3
"""Target that never reaches the hooked call.

fd behaviour: flat; it never calls connect().  It waits for a configuration
file that never appears (polling it every 100 ms, as a service blocked on
its config or a migration lock would), for at most --max-seconds, then
exits 0.  fdsoak's rule never fires: it must say so on stderr (with the
rule's counters) and stop at --timeout, not stay silent.

Realistic because: a program stuck before its network code (missing config,
waiting for a lock, a slow import) is the usual reason a soak sees nothing.
"""
import os
import tempfile
import time

import common


def main():
    ap = common.parser(__doc__)
    args = ap.parse_args()
    run = common.Run(args)
    config = os.path.join(tempfile.gettempdir(), f"fdsoak-never-{os.getpid()}.conf")
    while time.monotonic() < run.deadline and not os.path.exists(config):
        time.sleep(0.1)
    run.finish(0)


if __name__ == "__main__":
    main()
