"""Shared loop of the Python language-origin test programs (issue 15).

Each program is a bounded reconnect loop: it tries to connect to
127.0.0.1:--port (fdsoak watch --inject ... do=refuse makes that fail), waits
--delay-ms (5) and goes again until --max-seconds (60) or --max-attempts.  On
every --n'th failed attempt (1: every one) it calls the program's `on_fail`,
which leaks from the one line marked LEAK-LINE; with --fixed the same code
closes what it opened.  Only 127.0.0.1 is contacted.
"""
import argparse
import os
import shutil
import signal
import socket
import sys
import tempfile
import time


def parse_args(description, extra=None):
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--port", type=int, default=27300)
    ap.add_argument("--n", type=int, default=1, help="leak on every Nth failed attempt")
    ap.add_argument("--fixed", action="store_true", help="close what is opened: no leak")
    ap.add_argument("--delay-ms", type=float, default=5.0)
    ap.add_argument("--max-seconds", type=float, default=60.0)
    ap.add_argument("--max-attempts", type=int, default=10**9)
    if extra:
        extra(ap)
    return ap.parse_args()


def attempt(port):
    """One connect to 127.0.0.1:port; True if it was answered."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.settimeout(1.0)
        s.connect(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


class Loop:
    """Runs the loop; counts attempts and failures; prints them at exit
    ("attempts A seconds S rate R cpu_us_per_attempt C": C is the process's
    user+system CPU time over its attempts, start-up included)."""

    def __init__(self, args, prefix):
        self.args = args
        self.attempts = 0
        self.failures = 0
        self.dir = tempfile.mkdtemp(prefix="fdsoak-%s-" % prefix)
        self.start = time.monotonic()
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, self._stop)

    def _stop(self, signum, frame):
        raise SystemExit(128 + signum)

    def run(self, on_fail, attempt_fn=None):
        a = self.args
        deadline = self.start + a.max_seconds
        try:
            while self.attempts < a.max_attempts and time.monotonic() < deadline:
                ok = (attempt_fn or attempt)(a.port)
                self.attempts += 1
                if not ok:
                    self.failures += 1
                    if self.failures % a.n == 0:
                        on_fail(self.failures)
                time.sleep(a.delay_ms / 1000.0)
        finally:
            self.report()
            shutil.rmtree(self.dir, ignore_errors=True)

    def report(self):
        secs = time.monotonic() - self.start
        t = os.times()
        cpu = (t.user + t.system) * 1e6 / self.attempts if self.attempts else 0.0
        print("attempts %d seconds %.3f rate %.1f cpu_us_per_attempt %.1f" % (
            self.attempts, secs, self.attempts / secs if secs else 0.0, cpu), file=sys.stderr, flush=True)
