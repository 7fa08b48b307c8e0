#!/usr/bin/env python3
"""Standalone check of a target's fd behaviour, without fdsoak.

  fdcount.py [--ms 50] [--seconds 8] [--shim] [--inject SPEC] [--skip S] -- CMD...

Starts CMD (optionally with the shim preloaded and FDSOAK_INJECT set), samples
the total number of open fds of its whole process tree every --ms ms, stops
it after --seconds (SIGTERM to its process group) and prints one line:
samples, min/max over the whole run and after the first --skip seconds, first
and last count, and the target's result file if it wrote one.  Used to
confirm that a clean target's count is bounded and a leaky one grows at the
rate it reports.
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "../../.."))


def tree(root):
    children = {}
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open(f"/proc/{p}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(p))
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += children.get(p, [])
    return out


def count(root):
    n = 0
    for p in tree(root):
        try:
            n += len(os.listdir(f"/proc/{p}/fd"))
        except OSError:
            pass
    return n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ms", type=float, default=50)
    ap.add_argument("--seconds", type=float, default=8)
    ap.add_argument("--skip", type=float, default=1.0)
    ap.add_argument("--shim", action="store_true")
    ap.add_argument("--inject", default="")
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.cmd[1:] if a.cmd and a.cmd[0] == "--" else a.cmd
    env = dict(os.environ)
    result = tempfile.mktemp(prefix="fdcount-", suffix=".json")
    env["FDSOAK_TARGET_RESULT"] = result
    if a.shim:
        env["LD_PRELOAD"] = os.path.join(REPO, "build/lib/libfdsoak-inject.so")
        env["FDSOAK_INJECT"] = a.inject
    p = subprocess.Popen(cmd, env=env, start_new_session=True,
                         stderr=subprocess.PIPE, text=True)
    t0 = time.monotonic()
    series = []
    while time.monotonic() - t0 < a.seconds and p.poll() is None:
        series.append((time.monotonic() - t0, count(p.pid)))
        time.sleep(a.ms / 1000)
    rc = p.poll()
    if rc is None:
        os.killpg(p.pid, signal.SIGTERM)
        try:
            rc = p.wait(5)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            rc = p.wait()
    err = p.stderr.read().strip().splitlines()
    late = [c for t, c in series if t >= a.skip] or [0]
    allc = [c for _, c in series] or [0]
    res = ""
    if os.path.exists(result):
        with open(result) as f:
            res = f.read()
        os.unlink(result)
    print(f"samples={len(series)} all={min(allc)}..{max(allc)} after{a.skip:g}s={min(late)}..{max(late)} "
          f"first={allc[0]} last={allc[-1]} rc={rc} result={res}")
    if rc not in (0, -15, 143) and err:
        print("  stderr: " + " | ".join(err[-3:]))


if __name__ == "__main__":
    main()
