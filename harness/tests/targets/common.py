"""Shared pieces of the Python target programs: flags, the reconnect attempt,
the time/count bounds and the result file.

Every target is a reconnect loop of the kind real services run: it tries to
reach a peer at 127.0.0.1:PORT, the attempt fails (fdsoak's shim refuses it,
or the port is genuinely closed and `do=pass` observes the real refusal), and
it sleeps a little before trying again. What differs between the targets is
the file-descriptor behaviour *beside* that loop.

Flags common to all targets:
  --port P          peer port (default $FDSOAK_TARGET_PORT or 27300)
  --delay-ms D      pause between attempts, the retry speed (default 5)
  --max-seconds S   the program stops by itself after S seconds (default 120)
  --max-attempts N  ... or after N attempts (default 1,000,000)
  --seed S          random seed (default: from the clock; printed on stderr)
  --result PATH     where to write {"attempts":..,"leaked":..,"leaks":[[attempt,
                    fds],...]} at exit and on SIGTERM/SIGINT/SIGHUP (default
                    $FDSOAK_TARGET_RESULT; none)

Only loopback is ever contacted.
"""
import argparse
import json
import os
import random
import shutil
import signal
import socket
import sys
import tempfile
import time


_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def parser(description):
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--port", type=int,
                    default=int(os.environ.get("FDSOAK_TARGET_PORT", "27300")))
    ap.add_argument("--delay-ms", type=float, default=5.0)
    ap.add_argument("--max-seconds", type=float, default=120.0)
    ap.add_argument("--max-attempts", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--result", default=os.environ.get("FDSOAK_TARGET_RESULT"))
    return ap


class Run:
    """The loop's bookkeeping: bounds, counters, and the result file that
    lets a benchmark compare fdsoak's rate with the truth."""

    def __init__(self, args):
        self.args = args
        if args.seed is None:
            args.seed = int(time.time() * 1000) % 1_000_000
        self.rng = random.Random(args.seed)
        self.deadline = time.monotonic() + args.max_seconds
        self.attempts = 0
        self.leaked = 0          # fds deliberately left open (leaky targets)
        self.leak_events = 0     # how many times the leak happened
        self.leaks = []          # [attempt, fds] per leak event (first 10,000)
        self.extra = {}
        self._dirs = []
        self._written = False
        print(f"{os.path.basename(sys.argv[0])}: pid {os.getpid()} seed {args.seed}",
              file=sys.stderr, flush=True)
        for sig in _STOP_SIGNALS:
            signal.signal(sig, self._on_signal)

    def going(self):
        return (self.attempts < self.args.max_attempts
                and time.monotonic() < self.deadline)

    def backoff(self):
        """The pause after a failed attempt: the configured delay with a
        little jitter, as retry loops do so that clients do not synchronise."""
        d = self.args.delay_ms / 1000.0
        time.sleep(d * self.rng.uniform(0.8, 1.2))

    def tempdir(self, prefix):
        """A scratch directory removed at exit or on a stop signal (removing
        files that are still open is fine on Linux: the fds stay valid)."""
        d = tempfile.mkdtemp(prefix=prefix)
        self._dirs.append(d)
        return d

    def cleanup(self):
        for d in self._dirs:
            shutil.rmtree(d, ignore_errors=True)
        self._dirs = []

    def leak(self, fds):
        """Book a leak of FDS fds in the current attempt (1-based)."""
        self.leaked += fds
        self.leak_events += 1
        if len(self.leaks) < 10_000:
            self.leaks.append([self.attempts, fds])

    def write_result(self):
        if not self.args.result or self._written:
            return
        self._written = True
        doc = {"attempts": self.attempts, "leaked": self.leaked,
               "leak_events": self.leak_events, "pid": os.getpid(),
               "seed": self.args.seed, "leaks": self.leaks}
        doc.update(self.extra)
        tmp = f"{self.args.result}.{os.getpid()}.tmp"
        with open(tmp, "w") as f:
            json.dump(doc, f)
        os.replace(tmp, self.args.result)

    def _on_signal(self, signum, frame):
        # Record what happened, then die of the signal as the program would
        # have without a handler, so the exit status stays honest.  Further
        # signals (a process-group kill plus a forwarded one) wait until the
        # file is written.
        signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
        try:
            self.write_result()
            self.cleanup()
        finally:
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)

    def finish(self, status=0):
        self.write_result()
        self.cleanup()
        sys.exit(status)


def attempt_connect(port, timeout=1.0):
    """One reconnect attempt, the way Python services write it.  Returns True
    if the peer answered (the socket is closed again: we only probe).  A
    refusal or timeout is the expected failure; any other OSError (EMFILE,
    say) is not the network's fault and propagates, as in real code."""
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    except (ConnectionError, socket.timeout):
        return False
    s.close()
    return True


def fd_count():
    """Open fds of this process (the listing itself opens one, excluded)."""
    return len(os.listdir("/proc/self/fd")) - 1
