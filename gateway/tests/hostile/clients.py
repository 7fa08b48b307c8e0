"""clients.py PORT N - N platform clients that identify and never read.

Half close normally, half with a TCP reset (SO_LINGER 0), after the peer has
had time to queue messages at them.  Loopback only; bounded in count and
time.  Exits 0 once every client is closed."""
import socket
import struct
import sys
import time

port, n = int(sys.argv[1]), int(sys.argv[2])
socks = []
for i in range(n):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    # A small receive buffer makes the peer's writes queue up on its side.
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.sendall(b'{"type":"identify","token":"t"}\n')
    socks.append(s)
time.sleep(1.0)  # let the peer answer, start its timers and queue messages
for i, s in enumerate(socks):
    if i % 2:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
time.sleep(0.5)  # let the peer run its close callbacks before it is stopped
