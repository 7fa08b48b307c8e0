"""rawhttp - HTTP/1.1 over a raw loopback socket, for what curl will not do:
malformed requests, pipelining, half-sent bodies, many held connections.

Responses are parsed by Content-Length (the gateway never chunks)."""
import socket
import time


def connect(port, timeout=5.0):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.settimeout(timeout)
    return s


def read_response(s, buf=b""):
    """Read one response from s; return ((status, headers, body), rest)."""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(65536)
        if not chunk:
            raise EOFError("connection closed before a full response head: %r" % buf[:200])
        buf += chunk
    head, _, buf = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    n = int(headers.get("content-length", "0"))
    while len(buf) < n:
        chunk = s.recv(65536)
        if not chunk:
            raise EOFError("connection closed inside a body")
        buf += chunk
    return (status, headers, buf[:n]), buf[n:]


def closed_by_peer(s, timeout=3.0):
    """True when the server closes s (EOF or reset) within timeout."""
    s.settimeout(timeout)
    try:
        while True:
            if not s.recv(65536):
                return True
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def request(port, raw, timeout=5.0):
    """Send raw bytes on a fresh connection and return the first response."""
    s = connect(port, timeout)
    try:
        s.sendall(raw)
        return read_response(s)[0]
    finally:
        s.close()


def get(path, key=None, extra=""):
    auth = "Authorization: Bearer %s\r\n" % key if key else ""
    return ("GET %s HTTP/1.1\r\nHost: t\r\n%s%s\r\n" % (path, auth, extra)).encode()


def post(path, body, key=None):
    if isinstance(body, str):
        body = body.encode()
    auth = "Authorization: Bearer %s\r\n" % key if key else ""
    return ("POST %s HTTP/1.1\r\nHost: t\r\n%sContent-Type: application/json\r\n"
            "Content-Length: %d\r\n\r\n" % (path, auth, len(body))).encode() + body


def wait_until(pred, seconds, step=0.02):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(step)
    return pred()
