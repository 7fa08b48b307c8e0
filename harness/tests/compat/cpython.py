#!/usr/bin/env python3
"""The compat judge (issue 23): CPython's own regression tests, plain and
under `fdsoak watch` (default origins), must give the same outcome test by
test, except those named in allowed.txt with why.

Usage: cpython.py BUILD_BIN_DIR [MODULE...]   (default: every line of
modules.txt).  Prints a table of module x config with pass/fail/skip
counts and every per-test difference; exits 1 on a difference not allowed,
77 (skipped) when the test suite is not installed.
"""
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PY = "/usr/bin/python3"
TEST_LINE = re.compile(r"^(test\w*) \(([\w.]+)\)(?: \.\.\.)?(.*)$")
RESULTS = (("ok", "pass"), ("FAIL", "fail"), ("ERROR", "fail"), ("skipped", "skip"),
           ("expected failure", "pass"), ("unexpected success", "fail"))


def outcome(text):
    """The outcome word at the end of text, or None."""
    t = text.strip()
    for word, kind in RESULTS:
        if t == word or t.endswith(" " + word) or t.startswith(word):
            return kind if word != "skipped" or t.startswith("skipped") else None
    return None


def parse(log):
    """{test id: pass|fail|skip} from regrtest -v output.  A result may
    come lines after its test's name (the test printed in between)."""
    res, pending = {}, None
    for line in log.splitlines():
        m = TEST_LINE.match(line)
        if m:
            pending = m.group(2)
            o = outcome(m.group(3))
            if o:
                res[pending] = o
                pending = None
            continue
        if pending:
            o = outcome(line)
            if o:
                res[pending] = o
                pending = None
    return res


def run(cmd, ign, out_path, timeout):
    def pre():
        for s in ign:
            signal.signal(s, signal.SIG_IGN)
    t0 = time.time()
    with open(out_path, "w") as f:
        try:
            p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=f, stderr=subprocess.STDOUT,
                               preexec_fn=pre, timeout=timeout)
            rc = p.returncode
        except subprocess.TimeoutExpired:
            rc = "timeout"
    with open(out_path, errors="replace") as f:
        return rc, time.time() - t0, f.read()


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    fdsoak = os.path.join(sys.argv[1], "fdsoak")
    if not os.path.isdir("/usr/lib/python3.11/test") or not os.path.exists(PY):
        print("SKIP: libpython3.11-testsuite is not installed")
        return 77
    allowed = {}
    for line in open(os.path.join(HERE, "allowed.txt")):
        if line.strip() and not line.startswith("#"):
            tid, why = line.split(None, 1)
            allowed[tid] = why.strip()
    runs = []
    for line in open(os.path.join(HERE, "modules.txt")):
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        ign = []
        if words[0].startswith("ign="):
            ign = [getattr(signal, "SIG" + s) for s in words[0][4:].split(",")]
            words = words[1:]
        if len(sys.argv) > 2 and words[0] not in sys.argv[2:]:
            continue
        runs.append((ign, words))
    tmp = tempfile.mkdtemp(prefix="fsk-compat-cpython-")
    rows, diffs, bad = [], [], 0
    for ign, words in runs:
        mod = words[0]
        test_cmd = [PY, "-m", "test", "-v"] + words
        rc_p, t_p, log_p = run(test_cmd, ign, os.path.join(tmp, mod + ".plain"), 600)
        out = os.path.join(tmp, mod + ".watch")
        rc_w, t_w, log_w = run([fdsoak, "watch", "--interval", "500", "--warmup", "2",
                                "--duration", "600", "--timeout", "600", "-q", "--out", out + ".d",
                                "--"] + test_cmd, ign, out, 700)
        a, b = parse(log_p), parse(log_w)
        for name, res, rc, t in (("plain", a, rc_p, t_p), ("watch", b, rc_w, t_w)):
            cnt = {k: sum(1 for v in res.values() if v == k) for k in ("pass", "fail", "skip")}
            rows.append((mod, name, cnt["pass"], cnt["fail"], cnt["skip"], rc, t))
        if not a:
            print("FAIL: %s: no test outcome in the plain run's output (%s)" % (mod, out))
            bad += 1
        for tid in sorted(set(a) | set(b)):
            pa, pb = a.get(tid, "missing"), b.get(tid, "missing")
            if pa == pb:
                continue
            why = allowed.get(tid)
            diffs.append((tid, pa, pb, why))
            if why is None:
                bad += 1
    print("%-16s %-6s %5s %5s %5s %8s %7s" % ("module", "config", "pass", "fail", "skip", "exit",
                                              "seconds"))
    for r in rows:
        print("%-16s %-6s %5d %5d %5d %8s %7.1f" % r)
    print("(exit: regrtest's status plain; fdsoak's verdict code under watch)")
    for tid, pa, pb, why in diffs:
        print("%s: %s plain, %s watched%s" % ("allowed" if why else "FAIL", pa, pb,
                                               " (%s)" % why if why else "") + ": " + tid)
    print("%d test(s) differ, %d of them not allowed; logs in %s" % (len(diffs), bad, tmp))
    if bad == 0:
        subprocess.run(["rm", "-rf", tmp])
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
