"""One client run for the supervisor's fidelity tables (go_fidelity.py,
go_dns.py): its exit code, its output with what differs run to run made
constant, and how long it took (the client's own "elapsed S" line when it
prints one, which leaves out process start-up)."""
import re
import subprocess
import time


def run_client(cmd, hide, placeholder):
    """(rc, out, seconds) of cmd; hide (a port, a name) reads placeholder
    in out, and an ephemeral source port reads EPHEMERAL.  Bounded: a
    client with no result in 30 s is killed and reads "killed"."""
    t0 = time.monotonic()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        rc, out = p.returncode, p.stdout + p.stderr
    except subprocess.TimeoutExpired:
        rc, out = "killed", "(no result in 30 s)"
    took = time.monotonic() - t0
    m = re.search(r"^elapsed ([0-9.]+)$", out, re.M)
    if m:
        took = float(m.group(1))
        out = out[:m.start()] + out[m.end():]
    out = out.replace(hide, placeholder).strip()
    out = re.sub(r"127\.0\.0\.1:\d+->", "127.0.0.1:EPHEMERAL->", out)
    out = re.sub(r"\[::1\]:\d+->", "[::1]:EPHEMERAL->", out)
    return rc, out, took
