"""flood.py - hostile loopback peers that send and never read.

  flood.py peer PORTFILE SECONDS
      a platform peer: answers identify with ready, then floods messages for
      SECONDS without reading a byte of the replies.
  flood.py http PORT SECONDS NCONN
      NCONN HTTP clients pipelining GET /health for SECONDS, never reading.

Prints the bytes it managed to send.  Bounded in time; loopback only."""
import select
import socket
import sys
import time


def flood(socks, chunk, seconds):
    sent = 0
    end = time.monotonic() + seconds
    for s in socks:
        s.setblocking(False)
    while time.monotonic() < end:
        _, w, _ = select.select([], socks, [], 0.05)
        for s in w:
            try:
                sent += s.send(chunk)
            except (BlockingIOError, InterruptedError):
                pass
            except OSError:
                # The gateway hung up on us: fine, it is allowed to.
                socks.remove(s)
        if not socks:
            break
    return sent


def peer(portfile, seconds):
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    with open(portfile + ".tmp", "w") as f:
        f.write("%d\n" % srv.getsockname()[1])
    import os
    os.rename(portfile + ".tmp", portfile)
    srv.settimeout(30)
    c, _ = srv.accept()
    c.settimeout(10)
    # A small receive buffer: the gateway's replies back up sooner.
    c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    buf = b""
    while b"\n" not in buf:
        d = c.recv(4096)
        if not d:
            sys.exit("gateway closed before identify")
        buf += d
    c.sendall(b'{"type":"ready"}\n')
    line = b'{"type":"message","chat":"c","text":"' + b"x" * 1000 + b'"}\n'
    print("sent", flood([c], line * 16, seconds))
    c.close()
    srv.close()


def http(port, seconds, n):
    socks = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        socks.append(s)
    req = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n" * 512
    print("sent", flood(list(socks), req, seconds))
    for s in socks:
        s.close()


if __name__ == "__main__":
    if sys.argv[1] == "peer":
        peer(sys.argv[2], float(sys.argv[3]))
    else:
        http(int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]))
