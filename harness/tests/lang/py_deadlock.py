"""Two threads share one sqlite3 connection (check_same_thread=False, as
web apps do) and insert in autocommit mode, so every insert opens and
deletes the rollback journal.  Each SQLite call holds the connection's
mutex; the sqlite3 module releases the GIL around sqlite3_step but calls
sqlite3_changes() with the GIL held.  A hook that takes the GIL inside the
journal's open() deadlocks the two (issue 23, perturbation 1).

    py_deadlock.py RESULT_FILE [INSERTS_PER_THREAD]

Writes "done N" to RESULT_FILE when both threads finished.
"""
import os
import sqlite3
import sys
import tempfile
import threading

out = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 300
d = tempfile.mkdtemp(prefix="fdsoak-deadlock-")
con = sqlite3.connect(os.path.join(d, "t.db"), check_same_thread=False, isolation_level=None)
con.execute("create table t(x)")


def work(k):
    for i in range(n):
        con.execute("insert into t values(?)", (k * n + i,))
        con.total_changes  # sqlite3_total_changes: the mutex, GIL held


threads = [threading.Thread(target=work, args=(k,)) for k in range(2)]
for t in threads:
    t.start()
for t in threads:
    t.join()
rows = con.execute("select count(*) from t").fetchone()[0]
con.close()
for f in os.listdir(d):
    os.unlink(os.path.join(d, f))
os.rmdir(d)
with open(out, "w") as f:
    f.write("done %d\n" % rows)
