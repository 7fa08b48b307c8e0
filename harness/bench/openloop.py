"""The cost benchmark's Python program (issue 23): N open+close of one file
(default 2,000), timed by the program itself; writes "loop_s S cpu_s C"
to RESULT_FILE (C: the thread's CPU time over the loop), and P, the
process's CPU time from its start (interpreter start-up included).  lang_overhead.sh runs it plain and under fdsoak watch.

    openloop.py RESULT_FILE [N]
"""
import os
import sys
import tempfile
import time

out = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
fd, path = tempfile.mkstemp(prefix="fdsoak-openloop-")
os.close(fd)
t0, c0 = time.perf_counter(), time.thread_time()
for _ in range(n):
    f = open(path, "rb")
    f.close()
loop, cpu = time.perf_counter() - t0, time.thread_time() - c0
os.unlink(path)
with open(out, "w") as f:
    f.write("loop_s %.6f cpu_s %.6f proc_cpu_s %.6f\n" % (loop, cpu, time.process_time()))
