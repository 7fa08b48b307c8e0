#!/usr/bin/env python3
"""Clean target: a reconnect loop beside a pool of HTTP keep-alive clients.

fd behaviour: bounded noise that comes and goes.  The program runs its own
http.server (ThreadingHTTPServer, HTTP/1.1 keep-alive) on an ephemeral
loopback port in a thread, and a pool of 4 worker threads each keeps one
http.client connection to it, sending a request now and then.  The server
drops a connection idle for more than --idle-ms; the client notices on its
next request and reconnects.  So between 0 and 8 sockets (4 client ends, 4
server ends, plus one per in-flight handler) exist at any moment, with
irregular timing - the way a service with a keep-alive HTTP client pool looks
from outside.  The reconnect loop itself opens and closes one socket per
attempt and never leaks.

Realistic because: requests-/urllib3-style pools and a local status endpoint
are in almost every Python service; idle keep-alive sockets are exactly the
fds that survive a cycle without being a leak.
"""
import http.client
import http.server
import sys
import threading
import time

import common


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"   # keep-alive

    def do_GET(self):
        body = b'{"ok":true}\n'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


def main():
    ap = common.parser(__doc__)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--idle-ms", type=float, default=150.0,
                    help="server closes a keep-alive connection idle this long")
    args = ap.parse_args()
    run = common.Run(args)

    Handler.timeout = args.idle_ms / 1000.0   # per-connection socket timeout
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server_port = server.server_address[1]
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                     daemon=True).start()
    stop = threading.Event()

    def worker(k):
        rng = common.random.Random(args.seed * 31 + k)
        conn = None
        while not stop.is_set():
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", server_port, timeout=2)
            try:
                conn.request("GET", "/status")
                conn.getresponse().read()
            except (OSError, http.client.HTTPException):
                # The server dropped the idle connection: reconnect next time.
                conn.close()
                conn = None
            # Bursty use: sometimes quick successive requests, sometimes idle
            # long enough for the server to close the connection.
            stop.wait(rng.choice((0.005, 0.02, 0.05, 0.1, 0.2, 0.3)))
        if conn is not None:
            conn.close()

    pool = [threading.Thread(target=worker, args=(k,), daemon=True)
            for k in range(args.workers)]
    for t in pool:
        t.start()

    while run.going():
        if common.attempt_connect(args.port):
            pass  # the peer came back; a real service would proceed, we probe on
        run.attempts += 1
        run.backoff()

    stop.set()
    for t in pool:
        t.join(timeout=2)
    server.shutdown()
    server.server_close()
    run.finish(0)


if __name__ == "__main__":
    main()
