"""A signal handler that raises, and SIGINT's KeyboardInterrupt, while the
program creates fds back to back: the program must see every exception
(issue 23, perturbation 2: a hook running Python code inside the fd's
creation ran the handler there, and the exception was "ignored").

    py_signal.py RESULT_FILE [ROUNDS]

Each round sends a signal from another thread (os.kill, as kill -INT
would) and gives the loop 1 s to see its exception.  Writes
"usr1 SEEN/ROUNDS int SEEN/ROUNDS".
"""
import os
import signal
import sys
import tempfile
import threading
import time

out = sys.argv[1]
rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 10


class Boom(Exception):
    pass


def raiser(signum, frame):
    raise Boom()


signal.signal(signal.SIGUSR1, raiser)
# Python's own SIGINT handler whatever was inherited: a caller (ctest, nohup)
# may have left SIGINT ignored, and that is not what this checks.
signal.signal(signal.SIGINT, signal.default_int_handler)
fd0, path = tempfile.mkstemp(prefix="fdsoak-signal-")
os.close(fd0)


def round_(sig, exc):
    t = threading.Timer(0.01, os.kill, (os.getpid(), sig))
    try:
        # Inside the try: on a loaded machine the main thread may not be
        # back from start() within the timer's 10 ms, and the exception
        # is the program's to see there too.
        t.start()
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            fd = os.open(path, os.O_RDONLY)
            os.close(fd)
        return 0
    except exc:
        return 1
    finally:
        t.join()


usr1 = sum(round_(signal.SIGUSR1, Boom) for _ in range(rounds))
intr = sum(round_(signal.SIGINT, KeyboardInterrupt) for _ in range(rounds))
os.unlink(path)
with open(out, "w") as f:
    f.write("usr1 %d/%d int %d/%d\n" % (usr1, rounds, intr, rounds))
