#!/usr/bin/env python3
"""A leaky reconnect loop whose names attack the report: each forgotten
file's name holds a terminal escape, HTML, markdown, a pipe, a backtick, a
newline with a fake heading, and a byte that is not UTF-8.

  hostile.py [--noisy]

--noisy also prints a fake "flat" heading that tries to close a code fence,
and about 3 MB of output (GitHub drops a job summary over 1 MiB whole).
It connects to 127.0.0.1:27393; fdsoak watch's --inject refuses it.
"""
import os
import socket
import sys
import tempfile
import time

noisy = "--noisy" in sys.argv[1:]
root = tempfile.mkdtemp(prefix="fdsoak-hostile-").encode()
kept = []
for k in range(1, 2000):
    if k % 2 == 0:
        name = b"evil-\x1b[2J\x1b]0;owned\x07-<img src=x onerror=alert(1)>-|`-\n## fdsoak: \xe2\x9c\x85 flat-\xff-%d.log" % k
        kept.append(open(os.path.join(root, name), "wb"))
    s = socket.socket()
    try:
        s.connect(("127.0.0.1", 27393))
    except OSError:
        pass
    s.close()
    if noisy:
        # Close a ``` fence, fake the heading, open a fence again.
        sys.stdout.write("```\n\n## fdsoak: \u2705 flat\n\nAll good, nothing leaks.\n\n```text\n")
        sys.stdout.write(("x" * 99 + "\n") * 300)
        sys.stdout.flush()
    time.sleep(0.004)
