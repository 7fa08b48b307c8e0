"""The fidelity suite: every injected fault against the real network event.

Run by run.sh inside a network namespace it made (unshare -n); everything
here happens on that namespace's loopback.  For each real event (made with
iptables/ip6tables, a closed port, a resetting server, and
net.ipv4.tcp_syn_retries=1 so a dropped SYN times out in ~3 s) and each
client, the client runs once against the real event and once against an
open port under the shim rule that models it; exit code, output (stdout +
stderr, addresses/ports/timestamps normalised) and time (equal within
max(0.35 s, 25 %)) must agree.  Prints the table client x event; exits 1 on
a mismatch that is not listed, with its reason, in KNOWN.

Environment: INJ_SHIM (the .so), FID_BIN (fid_uv, fid_curlm; optional),
FID_DIR (this directory).
"""
import concurrent.futures as cf
import os, re, subprocess, sys, time

SHIM, BIN, DIR = os.environ["INJ_SHIM"], os.environ.get("FID_BIN", ""), os.environ["FID_DIR"]
HTTP, RESET, CLOSED, DROP, NET4, HOST4, NET6, HOST6 = 8080, 8006, 8001, 8002, 8003, 8004, 8005, 8007
V4, V6 = "127.0.0.1", "::1"

# event: (host, real port, shim action, the caller's own timeout in s)
EVENTS = [
    ("refused", V4, CLOSED, "refuse", 10),
    ("timeout", V4, DROP, "timeout", 10),
    ("hang", V4, DROP, "hang", 1),
    ("net-unreach-v4", V4, NET4, "unreachable(net)", 10),
    ("host-unreach-v4", V4, HOST4, "unreachable(host)", 10),
    ("net-unreach-v6", V6, NET6, "unreachable(net)", 10),
    ("host-unreach-v6", V6, HOST6, "unreachable(host)", 10),
    ("reset", V4, RESET, "reset", 10),
]


def url(host, port):
    return "http://%s:%d/" % ("[%s]" % host if ":" in host else host, port)


def py(mode):
    return lambda h, p, t: ["python3", os.path.join(DIR, "client.py"), mode, h, str(p), str(t)]


CLIENTS = [
    ("curl", lambda h, p, t: ["curl", "-sS", "-o", "/dev/null", "-w", "%{stderr}elapsed %{time_total}\\n",
                              "--connect-timeout", str(t), url(h, p)]),
    ("wget", lambda h, p, t: ["wget", "-nv", "-O", "/dev/null", "--tries=1", "--timeout=%d" % t, url(h, p)]),
    ("py-blocking", py("blocking")),
    ("py-nonblocking", py("nonblocking")),
    ("py-asyncio", py("asyncio")),
    ("node-net", lambda h, p, t: ["node", os.path.join(DIR, "client_net.js"), h, str(p), str(t)]),
    ("node-http", lambda h, p, t: ["node", os.path.join(DIR, "client_http.js"), h, str(p), str(t)]),
]
if BIN and os.path.exists(os.path.join(BIN, "fid_uv")):
    CLIENTS.append(("libuv", lambda h, p, t: [os.path.join(BIN, "fid_uv"), h, str(p), str(t)]))
if BIN and os.path.exists(os.path.join(BIN, "fid_curlm")):
    CLIENTS.append(("libcurl-multi", lambda h, p, t: [os.path.join(BIN, "fid_curlm"), url(h, p), str(t)]))

# (client, event) -> why the pair cannot match.  Empty: every pair matches.
KNOWN = {}


def sh(*cmd):
    subprocess.run(cmd, check=True)


def setup():
    sh("ip", "link", "set", "lo", "up")
    with open("/proc/sys/net/ipv4/tcp_syn_retries", "w") as f:   # this namespace only
        f.write("1")
    sh("iptables", "-A", "INPUT", "-i", "lo", "-p", "tcp", "--dport", str(DROP), "--syn", "-j", "DROP")
    for port, kind in ((NET4, "icmp-net-unreachable"), (HOST4, "icmp-host-unreachable")):
        sh("iptables", "-A", "OUTPUT", "-o", "lo", "-p", "tcp", "--dport", str(port), "--syn",
           "-j", "REJECT", "--reject-with", kind)
    for port, kind in ((NET6, "icmp6-no-route"), (HOST6, "icmp6-addr-unreachable")):
        sh("ip6tables", "-A", "OUTPUT", "-o", "lo", "-p", "tcp", "--dport", str(port), "--syn",
           "-j", "REJECT", "--reject-with", kind)


def norm(text, port):
    text = text.replace(str(port), "PORT")
    text = re.sub(r"after \d+ ms", "after N ms", text)
    text = re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", "TS", text)
    return text.strip()


def run(cmd, port, env):
    t0 = time.monotonic()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=30, env=env)
        rc, out = p.returncode, p.stdout + p.stderr
    except subprocess.TimeoutExpired:
        rc, out = "killed", "(no result in 30 s)"
    took = time.monotonic() - t0
    # A client that reports its own elapsed time (all but wget) is timed by
    # it: start-up on a loaded machine is not part of the network event.
    m = re.search(r"^elapsed ([0-9.]+)$", out, re.M)
    if m:
        took = float(m.group(1))
        out = out[:m.start()] + out[m.end():]
    return rc, norm(out, port), took


def pair(client, event):
    (cname, mk), (ename, host, rport, action, t) = client, event
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    ienv = dict(env, LD_PRELOAD=SHIM,
                FDSOAK_INJECT="connect:addr=%s,port=%d:do=%s" % (
                    "[%s]" % host if ":" in host else host, HTTP, action))
    # The two runs of a pair go side by side, so they see the same load.
    with cf.ThreadPoolExecutor(max_workers=1) as one:
        fut = one.submit(run, mk(host, rport, t), rport, env)
        inj = run(mk(host, HTTP, t), HTTP, ienv)
        real = fut.result()
    why = []
    if real[0] != inj[0]:
        why.append("exit %s vs %s" % (real[0], inj[0]))
    if real[1] != inj[1]:
        why.append("output %r vs %r" % (real[1], inj[1]))
    if abs(real[2] - inj[2]) > max(0.35, 0.25 * max(real[2], inj[2])):
        why.append("time %.2f s vs %.2f s" % (real[2], inj[2]))
    return cname, ename, real, inj, why


def main():
    setup()
    ready = "/tmp/fidelity-ready.%d" % os.getpid()
    srv = subprocess.Popen(["python3", os.path.join(DIR, "servers.py"), str(HTTP), str(RESET), ready])
    try:
        for _ in range(200):
            if os.path.exists(ready):
                break
            time.sleep(0.05)
        else:
            print("fidelity: the loopback servers did not start")
            return 1
        t0 = time.monotonic()
        with cf.ThreadPoolExecutor(max_workers=5) as ex:
            results = list(ex.map(lambda ce: pair(*ce), [(c, e) for e in EVENTS for c in CLIENTS]))
    finally:
        srv.kill()
        srv.wait()
        if os.path.exists(ready):
            os.unlink(ready)
    res = {(r[0], r[1]): r for r in results}
    names = [e[0] for e in EVENTS]
    print("fidelity: %d clients x %d events, %.1f s (real event vs injected rule)\n"
          % (len(CLIENTS), len(EVENTS), time.monotonic() - t0))
    w = max(len(c[0]) for c in CLIENTS)
    cw = [max(len(n), 5) for n in names]
    print("| %-*s | %s |" % (w, "client", " | ".join(n.ljust(k) for n, k in zip(names, cw))))
    print("| %s | %s |" % ("-" * w, " | ".join("-" * k for k in cw)))
    bad = 0
    for c in CLIENTS:
        cells = []
        for n, k in zip(names, cw):
            why = res[(c[0], n)][4]
            mark = "match" if not why else ("known" if (c[0], n) in KNOWN else "DIFF")
            bad += mark == "DIFF"
            cells.append(mark.ljust(k))
        print("| %-*s | %s |" % (w, c[0], " | ".join(cells)))
    print("\nrules: " + "; ".join("%s=%s" % (e[0], e[3]) for e in EVENTS))
    for (cname, ename), r in sorted(res.items()):
        if r[4]:
            print("\n%s x %s: %s%s" % (cname, ename, "; ".join(r[4]),
                                       "\n  known: " + KNOWN[(cname, ename)] if (cname, ename) in KNOWN else ""))
            print("  real: exit %s %.2f s: %s\n  shim: exit %s %.2f s: %s"
                  % (r[2][0], r[2][2], r[2][1], r[3][0], r[3][2], r[3][1]))
    if os.environ.get("FID_VERBOSE"):
        for (cname, ename), r in sorted(res.items()):
            print("%s x %s: real exit %s %.2f s %r | shim exit %s %.2f s %r"
                  % (cname, ename, r[2][0], r[2][2], r[2][1], r[3][0], r[3][2], r[3][1]))
    print("\nfidelity: %s" % ("%d unexplained mismatch(es)" % bad if bad else "all pairs match or are explained"))
    return 1 if bad else 0


sys.exit(main())
