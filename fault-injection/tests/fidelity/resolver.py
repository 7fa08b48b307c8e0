"""A tiny DNS server for the fidelity suite: python resolver.py LOG READY_FILE.

UDP on 127.0.0.1:53 -- inside the suite's own network namespace, where a
private resolv.conf (bind-mounted in the suite's own mount namespace) names
it as the only nameserver.  What it does depends on the first label's
prefix, so one server makes every DNS event:

  nx-...   NXDOMAIN (rcode 3)                 -> getaddrinfo EAI_NONAME
  sf-...   SERVFAIL (rcode 2)                 -> getaddrinfo EAI_AGAIN
  to-...   no answer at all (the query is dropped; the client times out)
  ok-...   A 127.0.0.1 (AAAA: no data)       -> the name resolves

The injected runs use ok- names under a getaddrinfo rule: without the shim
they would resolve and succeed, so a client that got past the hook would
show.  Every query's name is appended to LOG (one line each), so the suite
can check that the real runs really asked and the injected runs never did.
Runs until killed (the suite kills it by pid).
"""
import socket, struct, sys

log_path, ready = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 53))
log = open(log_path, "a", buffering=1)
open(ready, "w").close()


def qname(msg):
    labels, i = [], 12
    while msg[i]:
        n = msg[i]
        labels.append(msg[i + 1:i + 1 + n].decode("ascii", "replace"))
        i += 1 + n
    qtype = struct.unpack("!H", msg[i + 1:i + 3])[0]
    return ".".join(labels).lower(), qtype, i + 5      # end of the question


while True:
    msg, peer = s.recvfrom(4096)
    if len(msg) < 17:
        continue
    try:
        name, qtype, qend = qname(msg)
    except (IndexError, struct.error):
        continue
    log.write("%s %d\n" % (name, qtype))
    kind = name[:3]
    if kind == "to-":
        continue
    qid, flags = struct.unpack("!HH", msg[:4])
    rd = flags & 0x0100
    rcode, answers = {"nx-": 3, "sf-": 2}.get(kind, 0), b""
    if kind == "ok-" and qtype == 1:      # A
        answers = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 5, 4) + socket.inet_aton("127.0.0.1")
    head = struct.pack("!HHHHHH", qid, 0x8000 | 0x0400 | rd | 0x0080 | rcode,
                       1, 1 if answers else 0, 0, 0)
    s.sendto(head + msg[12:qend] + answers, peer)
