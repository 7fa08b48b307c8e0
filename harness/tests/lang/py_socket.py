#!/usr/bin/env python3
"""The reconnect loop's own socket is kept, not closed, on every Nth failed
attempt (issue 15).  --fixed closes it.  See langloop.py for the flags."""
import socket

import langloop

args = langloop.parse_args(__doc__)
loop = langloop.Loop(args, "py-socket")
kept = []
count = [0]


def attempt(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)  # LEAK-LINE
    try:
        s.settimeout(1.0)
        s.connect(("127.0.0.1", port))
        s.close()
        return True
    except OSError:
        count[0] += 1
        if args.fixed or count[0] % args.n != 0:
            s.close()
        else:
            kept.append(s)
        return False


loop.run(lambda k: None, attempt)
