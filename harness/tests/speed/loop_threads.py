#!/usr/bin/env python3
"""Reconnect loop on a worker thread, waiting with threading.Event.wait
(sem_clockwait / pthread_cond_clockwait under glibc): every failed attempt
opens a store file; --leak never closes it.  Retries every --backoff
seconds (300, the seed's cap): 12 attempts an hour."""
import socket
import sys
import tempfile
import threading

leak = "--leak" in sys.argv
port = int(sys.argv[sys.argv.index("--port") + 1]) if "--port" in sys.argv else 27311
backoff = 300.0
kept = []
stop = threading.Event()


def worker():
    d = tempfile.mkdtemp(prefix="fdsoak-thr-")
    while not stop.is_set():
        f = open(d + "/store", "a")
        s = socket.socket()
        try:
            s.connect(("127.0.0.1", port))
        except OSError:
            pass
        s.close()
        if leak:
            kept.append(f)
        else:
            f.close()
        stop.wait(backoff)


t = threading.Thread(target=worker)
t.start()
t.join()
