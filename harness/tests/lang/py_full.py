"""Fill the file system of FILL_DIR (the test gives a small tmpfs that also
holds fdsoak's language log), then leak one fd every 20 ms for SECONDS: the
language log cannot take their stacks (issue 24: that was reported as
"python -S").

    py_full.py FILL_DIR SECONDS
"""
import os
import sys
import time

fill, secs = sys.argv[1], float(sys.argv[2])
with open(os.path.join(fill, "filler"), "wb", buffering=0) as f:
    block = b"\0" * 65536
    try:
        while True:
            f.write(block)
    except OSError:
        pass  # ENOSPC: the disk is full
leaked = []
end = time.monotonic() + secs
while time.monotonic() < end:
    leaked.append(os.open("/dev/null", os.O_RDONLY))  # LEAK-LINE
    time.sleep(0.02)
