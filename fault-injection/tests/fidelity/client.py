"""Python clients for the fidelity suite: python client.py MODE HOST PORT TIMEOUT_S.

MODE blocking: a blocking socket; the caller's own timeout is an alarm
  whose handler raises (the Python face of wget's siglongjmp).
MODE nonblocking: connect_ex + poll + SO_ERROR, then send/recv with poll.
MODE asyncio: asyncio.open_connection under wait_for.
MODE poll / epoll / select: connect_ex, then the first wake-up of poll(),
  epoll or select() is printed (the event mask, or the sets the socket is
  in), then SO_ERROR, then the peer's name ("peer HOST:PORT") and a request
  as in nonblocking: what a program that looks at the mask sees.
MODE peek: as poll, but SO_ERROR is read once 0.5 s after connect_ex,
  before the wait ("peek ERRNO" or "peek 0"): an ICMP answered inside
  connect is a soft error there long before the socket wakes.
MODE urllib: urllib.request.urlopen with the timeout.
HOST is an address or a name (resolved with getaddrinfo, as
socket.create_connection does; asyncio resolves it itself).
Prints "ok" or "error <ErrorType> <errno name>" ("error gaierror EAI <code>
<message>" for a resolver failure); exit 0 / 1.
"""
import asyncio, errno, select, signal, socket, sys, time, urllib.error, urllib.request

REQ = b"GET / HTTP/1.0\r\nHost: x\r\n\r\n"


def ename(e):
    if isinstance(e, socket.gaierror):
        return "EAI %d %s" % (e.errno, e.strerror)
    return errno.errorcode.get(e.errno, str(e.errno)) if isinstance(e, OSError) and e.errno else "-"


def resolve(host, port):
    fam, _, _, _, addr = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    return fam, addr


def blocking(host, port, t):
    def alarm(sig, frm):
        raise TimeoutError("caller timeout")
    signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, t)
    fam, addr = resolve(host, port)
    s = socket.socket(fam)
    s.connect(addr)
    s.sendall(REQ)
    d = s.recv(65536)
    signal.setitimer(signal.ITIMER_REAL, 0)
    return d


def nonblocking(host, port, t):
    deadline = time.monotonic() + t
    fam, addr = resolve(host, port)
    s = socket.socket(fam)
    s.setblocking(False)
    r = s.connect_ex(addr)
    if r not in (0, errno.EINPROGRESS):
        raise OSError(r, "connect")
    p = select.poll()
    p.register(s, select.POLLOUT)
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("caller timeout")
        if p.poll(int(left * 1000) + 1):
            break
    e = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    if e:
        raise OSError(e, "connect")
    s.send(REQ)
    p.modify(s, select.POLLIN)
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("caller timeout")
        if p.poll(int(left * 1000) + 1):
            break
    return s.recv(65536)


def waiter(mode, host, port, t):
    """The first wake-up of MODE's wait for writability, as text, and the
    socket; later waits as in nonblocking()."""
    deadline = time.monotonic() + t
    fam, addr = resolve(host, port)
    s = socket.socket(fam)
    s.setblocking(False)
    r = s.connect_ex(addr)
    if r not in (0, errno.EINPROGRESS):
        raise OSError(r, "connect")
    if mode == "peek":
        time.sleep(min(0.5, t / 2))
        e = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        print("peek %s" % (errno.errorcode.get(e, str(e)) if e else "0"))
        mode = "poll"
    seen = []
    while not seen:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("caller timeout")
        if mode == "poll":
            p = select.poll()
            p.register(s, select.POLLOUT)
            seen = ["wake 0x%x" % ev for _, ev in p.poll(int(left * 1000) + 1)]
        elif mode == "epoll":
            with select.epoll() as ep:
                ep.register(s, select.EPOLLOUT)
                seen = ["wake 0x%x" % ev for _, ev in ep.poll(left)]
        else:
            _, w, x = select.select([], [s], [s], left)
            if w or x:
                seen = ["wake%s%s" % (" write" if w else "", " except" if x else "")]
    print(seen[0])
    e = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    if e:
        raise OSError(e, "connect")
    print("peer %s:%d" % s.getpeername()[:2])
    s.send(REQ)
    p = select.poll()
    p.register(s, select.POLLIN)
    while not p.poll(int(max(deadline - time.monotonic(), 0) * 1000) + 1):
        if time.monotonic() >= deadline:
            raise TimeoutError("caller timeout")
    return s.recv(65536)


def urllib_get(host, port, t):
    url = "http://%s:%d/" % ("[%s]" % host if ":" in host else host, port)
    try:
        return urllib.request.urlopen(url, timeout=t).read()
    except urllib.error.URLError as e:
        raise e.reason if isinstance(e.reason, OSError) else OSError(0, str(e.reason))


async def aio(host, port, t):
    r, w = await asyncio.wait_for(asyncio.open_connection(host, port), t)
    w.write(REQ)
    await w.drain()
    d = await asyncio.wait_for(r.read(65536), t)
    w.close()
    return d


def main():
    mode, host, port, t = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    # The client's own clock, from its first socket call: the suite compares
    # this, not the wall time, which a loaded machine's start-up costs skew.
    t0 = time.monotonic()
    try:
        return attempt(mode, host, port, t)
    finally:
        print("elapsed %.3f" % (time.monotonic() - t0), file=sys.stderr)


def attempt(mode, host, port, t):
    try:
        if mode == "blocking":
            d = blocking(host, port, t)
        elif mode == "nonblocking":
            d = nonblocking(host, port, t)
        elif mode in ("poll", "epoll", "select", "peek"):
            d = waiter(mode, host, port, t)
        elif mode == "urllib":
            d = urllib_get(host, port, t)
        else:
            d = asyncio.run(aio(host, port, t))
        print("ok" if d else "error eof")
        return 0 if d else 1
    except (OSError, asyncio.TimeoutError) as e:
        print("error", type(e).__name__, ename(e))
        return 1


sys.exit(main())
