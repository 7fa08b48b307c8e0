#!/usr/bin/env python3
# A socket made in a private user+net namespace (veth + policy routing), passed
# back by SCM_RIGHTS to a process in another netns, then connected non-blocking.
import os, socket, select, subprocess, sys, time, errno
a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
setup = open(sys.argv[1]).read()
child = ("import socket,array\nb=socket.socket(fileno=%d)\ns=socket.socket()\n"
         "socket.send_fds(b,[b'x'],[s.fileno()])\nb.recv(1)\n" % b.fileno())
p = subprocess.Popen(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "unshare", "-r", "-n",
                      "sh", "-c", setup + "\nexec python3 -c \"$0\"", child], pass_fds=[b.fileno()])
msg, fds, _, _ = socket.recv_fds(a, 1, 1)
s = socket.socket(fileno=fds[0]); s.setblocking(False)
print("parent netns:", os.readlink("/proc/self/ns/net"))
t0 = time.monotonic()
print("connect:", errno.errorcode.get(s.connect_ex(("198.18.0.5", 80))))
po = select.poll(); po.register(s, select.POLLIN | select.POLLOUT)
ev = po.poll(3000); t = (time.monotonic() - t0) * 1e3
m = ev[0][1] if ev else 0
print("%.1f ms poll:" % t, "|".join(n for n, v in (("IN", 1), ("OUT", 4), ("ERR", 8), ("HUP", 16)) if m & v))
print("SO_ERROR:", errno.errorcode.get(s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)))
a.send(b"x"); p.wait()
