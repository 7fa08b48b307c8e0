#!/usr/bin/env python3
"""Clean target: every attempt spools its report to a temp file that is
open for a moment and closed again - including the last attempt.

fd behaviour: one fd appears and disappears inside every attempt.  The temp
file is opened before the connect and closed after the report is written,
so at any instant there is a fair chance it is open: in particular when
fdsoak takes its final look after the last counted attempt the file of the
attempt in flight may still be open.  It is closed a few ms later; an fd of
the attempt in flight is not a leak.

Realistic because: tempfile.TemporaryFile / SpooledTemporaryFile for a
request body or a report is everyday Python.
"""
import tempfile
import time

import common


def main():
    ap = common.parser(__doc__)
    ap.add_argument("--hold-ms", type=float, default=3.0,
                    help="time the temp file stays open after the connect")
    args = ap.parse_args()
    run = common.Run(args)

    while run.going():
        with tempfile.TemporaryFile(prefix="fdsoak-report-") as spool:
            ok = common.attempt_connect(args.port)
            run.attempts += 1
            spool.write(f"attempt {run.attempts} ok={ok}\n".encode() * 16)
            spool.flush()
            time.sleep(args.hold_ms / 1000.0)   # formatting and upload of the report
        run.backoff()

    run.finish(0)


if __name__ == "__main__":
    main()
