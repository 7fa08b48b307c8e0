"""Loopback servers for the fidelity suite:
python servers.py PORT_HTTP PORT_RESET READY_FILE.

An HTTP responder on 127.0.0.1 and [::1] port PORT_HTTP (the injected runs
aim at it: without the shim they would succeed); on 127.0.0.1 and [::1]
port PORT_RESET the real "accepted, then reset" peer: it accepts, reads the
request and closes with SO_LINGER 0 (the kernel sends RST); the server
that resets at accept (PORT_RESET_ACCEPT) is fid_rstd, in C.
Runs until killed (the suite kills it by pid).
"""
import socket, struct, sys, threading

http_port, reset_port, ready = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
LINGER0 = struct.pack("ii", 1, 0)


def serve(fam, host, port, handler):
    ls = socket.socket(fam)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if fam == socket.AF_INET6:
        ls.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    ls.bind((host, port))
    ls.listen(128)

    def loop():
        while True:
            c, _ = ls.accept()
            threading.Thread(target=handler, args=(c,), daemon=True).start()
    threading.Thread(target=loop, daemon=True).start()


def http(c):
    try:
        c.recv(65536)
        c.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nok\n")
    finally:
        c.close()


def reset(c):
    c.recv(65536)
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER0)
    c.close()


for fam, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
    serve(fam, host, http_port, http)
    serve(fam, host, reset_port, reset)
open(ready, "w").close()
threading.Event().wait()
