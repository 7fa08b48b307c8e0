"""The seccomp engine's DNS faults against the real ones: each resolver
client under a getaddrinfo rule (the supervisor points its port-53 sockets
at fdsoak's DNS stub) against the same client asking a real nameserver that
answers NXDOMAIN, SERVFAIL, or nothing.  (REFUSED is no event of its own: glibc
retries and then says EAI_AGAIN, Go says "server misbehaving", as for
SERVFAIL.)

Run by go.sh inside a network and mount namespace of its own (unshare -n
-m): a real nameserver (below, UDP and TCP) listens on 127.0.0.1:53 of the
namespace, and /etc/resolv.conf is bind-mounted to name it, with
`options timeout:1 attempts:1` so a silent server costs 1 s.  The
nameserver answers by name: nx.fsk.test NXDOMAIN, sf.fsk.test SERVFAIL,
quiet.fsk.test nothing, ref.fsk.test REFUSED, any other *.fsk.test
127.0.0.1 (A) and no record (AAAA), anything else NXDOMAIN.  The injected
run asks for ok.fsk.test, which the server resolves, under the rule that
models the event.  Exit code, output (the name and ports normalised) and
time (within max(0.35 s, 25 %)) must agree.  A rule for another name must
change nothing.  The lookup clients are also run under `fdsoak watch -q`
(the default engine, auto), started directly and behind `sh -c`, where the
shim hands them over to the supervisor through exec: output and time must
be the real event's there too.  Prints the table client x event; exits 1
on a mismatch.

Arguments: the directory holding the Go client (dial), the build's bin
directory (fdsoak, fsk_sup_exec, fsk_sup_probe).
"""
import concurrent.futures as cf
import os, re, socket, struct, subprocess, sys, threading, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sup_client import run_client  # noqa: E402

T, BIN = sys.argv[1], sys.argv[2]
SUP, PROBE, DIAL = os.path.join(BIN, "fsk_sup_exec"), os.path.join(BIN, "fsk_sup_probe"), os.path.join(T, "dial")
FDSOAK = os.path.join(BIN, "fdsoak")
OPEN = 8080
NAME = "ok.fsk.test"

CLIENTS = [
    ("go net.LookupHost", lambda n: [DIAL, "-lookup", n]),
    ("go net.Dial name:port", lambda n: [DIAL, n, str(OPEN), "3"]),
    ("C static getaddrinfo", lambda n: [PROBE, "resolve", n]),
]
# (event, the name the real server fails, the rule that models it)
EVENTS = [
    ("NXDOMAIN", "nx.fsk.test", "eai(EAI_NONAME)"),
    ("SERVFAIL", "sf.fsk.test", "eai(EAI_AGAIN)"),
    ("no answer", "quiet.fsk.test", "eai(EAI_AGAIN,5s)"),
]


def answer(q, rcode, a_record):
    """The answer to query q: its question, rcode, and one A record."""
    if len(q) < 12:
        return None
    off = 12
    while off < len(q) and q[off] != 0:
        off += q[off] + 1
    qend = off + 5
    if qend > len(q):
        return None
    qtype = struct.unpack("!H", q[off + 1:off + 3])[0]
    rr = b""
    if a_record and rcode == 0 and qtype == 1:
        rr = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + socket.inet_aton("127.0.0.1")
    hdr = q[:2] + struct.pack("!BBHHHH", 0x80 | (q[2] & 1), 0x80 | rcode, 1, 1 if rr else 0, 0, 0)
    return hdr + q[12:qend] + rr


def decide(q):
    labels, off = [], 12
    while off < len(q) and q[off] != 0:
        labels.append(q[off + 1:off + 1 + q[off]].decode("ascii", "replace").lower())
        off += q[off] + 1
    name = ".".join(labels)
    if name == "quiet.fsk.test":
        return None
    if name == "nx.fsk.test" or not name.endswith(".fsk.test"):
        return answer(q, 3, False)
    if name == "sf.fsk.test":
        return answer(q, 2, False)
    if name == "ref.fsk.test":
        return answer(q, 5, False)
    return answer(q, 0, True)


def serve_udp(sock, seen):
    while True:
        q, peer = sock.recvfrom(4096)
        seen.append(q)
        a = decide(q)
        if a is not None:
            sock.sendto(a, peer)


def serve_tcp(ls):
    while True:
        c, _ = ls.accept()
        try:
            n = struct.unpack("!H", c.recv(2))[0]
            q = c.recv(n)
            a = decide(q)
            if a is not None:
                c.sendall(struct.pack("!H", len(a)) + a)
            else:
                time.sleep(3)
        except OSError:
            pass
        c.close()


def setup():
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    conf = os.path.join(T, "resolv.conf")
    with open(conf, "w") as f:
        f.write("nameserver 127.0.0.1\noptions timeout:1 attempts:1\n")
    # This namespace's mounts only (unshare -m makes them private).
    subprocess.run(["mount", "--bind", conf, "/etc/resolv.conf"], check=True)
    seen = []
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(("127.0.0.1", 53))
    threading.Thread(target=serve_udp, args=(u, seen), daemon=True).start()
    t = socket.socket()
    t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    t.bind(("127.0.0.1", 53))
    t.listen(16)
    threading.Thread(target=serve_tcp, args=(t,), daemon=True).start()
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", OPEN))
    ls.listen(64)

    def accept():
        while True:
            c, _ = ls.accept()
            c.close()
    threading.Thread(target=accept, daemon=True).start()
    return seen


def run(cmd, name):
    return run_client(cmd, name, "NAME")


def compare(real, inj):
    why = []
    if real[0] != inj[0]:
        why.append("exit %s vs %s" % (real[0], inj[0]))
    if real[1] != inj[1]:
        why.append("output %r vs %r" % (real[1], inj[1]))
    if not why and abs(real[2] - inj[2]) > max(0.35, 0.25 * max(real[2], inj[2])):
        why.append("time %.2f s vs %.2f s" % (real[2], inj[2]))
    return why


def pair(client, event):
    (cname, mk), (ename, rname, action) = client, event
    rule = "getaddrinfo:host=%s:do=%s" % (NAME, action)
    for attempt in range(3):
        with cf.ThreadPoolExecutor(max_workers=1) as one:
            fut = one.submit(run, mk(rname), rname)
            inj = run([SUP, rule] + mk(NAME), NAME)
            real = fut.result()
        why = compare(real, inj)
        if not why or not why[0].startswith("time"):
            break
    return cname, ename, real, inj, why


def unmatched(client):
    """A rule for another name: the lookup is relayed, the outcome the
    plain run's."""
    cname, mk = client
    plain = run(mk(NAME), NAME)
    inj = run([SUP, "getaddrinfo:host=other.fsk.test:do=eai(EAI_NONAME)"] + mk(NAME), NAME)
    return cname, "no rule matches", plain, inj, compare(plain, inj)


def watched(argv, tag):
    """(output, s, fdsoak's stderr) of a client under `fdsoak watch -q`
    (default engine, auto): with -q fdsoak prints nothing on stdout, so
    stdout is the client's, normalised as run_client does."""
    out = os.path.join(T, "w-" + re.sub(r"[^a-z0-9]+", "-", tag.lower()))
    try:
        p = subprocess.run([FDSOAK, "watch", "-q", "--duration", "2", "--out", out] + argv,
                           capture_output=True, text=True, timeout=30)
        text, err = p.stdout, p.stderr
    except subprocess.TimeoutExpired:
        text, err = "(no result in 30 s)", ""
    m = re.search(r"^elapsed ([0-9.]+)$", text, re.M)
    took = float(m.group(1)) if m else 0.0
    if m:
        text = text[:m.start()] + text[m.end():]
    text = re.sub(r"127\.0\.0\.1:\d+->", "127.0.0.1:EPHEMERAL->", text.replace(NAME, "NAME").strip())
    return text, took, err


def handover(client, event):
    """fdsoak watch on the client started directly (a static or Go program:
    the seccomp engine) and behind `sh -c` (sh has the shim, which hands
    the client over to the supervisor when it execs it): both must fail the
    lookup as the real server does."""
    (cname, mk), (ename, rname, action) = client, event
    rule = "getaddrinfo:host=%s:do=%s" % (NAME, action)
    real = run(mk(rname), rname)
    shell = " ".join("'%s'" % a for a in mk(NAME)) + "; true"
    res = []
    for how, argv in (("watch", mk(NAME)), ("watch sh -c", ["sh", "-c", shell])):
        for attempt in range(3):
            text, took, err = watched(["--inject", rule, "--"] + argv,
                                      "%s %s %s" % (how, cname, ename))
            got = (real[0], text, took)  # the client's exit is not fdsoak's
            why = compare(real, got)
            if not why or not why[0].startswith("time"):
                break
        # The lookup is one attempt on the rules' page, counted once.
        if "after 1 attempts" not in err:
            why.append("fdsoak: %r" % err.strip()[-300:])
        res.append(("%s: %s" % (how, cname), ename, real, got, why))
    return res


def shim_child():
    """A dynamic program (Python) below a static one that was handed over:
    it has the shim (standing down for the system calls), which keeps
    getaddrinfo, so the supervisor leaves its port-53 connects alone.
    Under when=every(2) its one lookup is the rule's first call and
    resolves, as under the shim alone; decided twice (by the shim, then
    by the stub) it would be the second, and fail."""
    py = ("import socket\ntry:\n  socket.getaddrinfo('%s', 80); print('resolved')\n"
          "except OSError as e: print(e)" % NAME)
    plain = run(["python3", "-c", py], NAME)
    rule = "getaddrinfo:host=%s:when=every(2):do=eai(EAI_NONAME)" % NAME
    text, took, err = watched(["--inject", rule, "--", "sh", "-c",
                               "'%s' run python3 -c \"%s\"; true" % (PROBE, py)], "shim child")
    got = (plain[0], text, took)
    why = compare(plain, got)
    if "1 calls seen" not in err:
        why.append("fdsoak: %r" % err.strip()[-300:])
    return "watch sh -c: static > python", "every(2), once", plain, got, why


def main():
    seen = setup()
    jobs = [(c, e) for c in CLIENTS for e in EVENTS]
    with cf.ThreadPoolExecutor(max_workers=2) as pool:
        res = list(pool.map(lambda ce: pair(*ce), jobs))
    res += [unmatched(c) for c in CLIENTS]
    # Through a hand-over (--engine auto behind sh -c): the lookup clients.
    with cf.ThreadPoolExecutor(max_workers=2) as pool:
        for r in pool.map(lambda ce: handover(*ce),
                          [(c, e) for c in CLIENTS if c[0] != "go net.Dial name:port" for e in EVENTS]):
            res += r
    res.append(shim_child())
    fails = 0
    print("%-36s %-16s %-6s %s" % ("client", "event", "match", "injected run (exit, output, s)"))
    for cname, ename, real, inj, why in res:
        fails += bool(why)
        print("%-36s %-16s %-6s %s, %r, %.2f" % (cname, ename, "no" if why else "yes", inj[0],
                                                 inj[1].replace("\n", " | "), inj[2]))
        for w in why:
            print("    MISMATCH: %s" % w)
    # The injected runs' failures came from the stub: the real server never
    # saw the injected name fail (it resolves it), so check it saw it at
    # all only through the relays.
    print("%d passed, %d failed" % (len(res) - fails, fails))
    return 1 if fails else 0


sys.exit(main())
