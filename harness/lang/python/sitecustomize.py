"""fdsoak's language origins for Python: which Python line created each fd.

`fdsoak watch --origins lang` puts this directory first on PYTHONPATH, so
every Python process of the watched tree imports this module at start-up,
with no change to the program.  It registers a callback with the preloaded
fault-injection shim (inj_lang_register).  Right after the shim records a
new fd -- a file, a socket, a pipe, or a file SQLite opens on its own, such
as a database's -wal and -shm during a later execute() -- it calls back on
the creating thread, and we hand it the Python stack at that moment,
innermost first.  The shim writes it to FDSOAK_LANG_LOG next to the fd.

Why a callback from the shim and not an audit hook (PEP 578) or a profile
function: audit events fire before the fd exists and not at all for the
files SQLite opens during execute(), so they could only guess which fd a
stack belongs to; sys.setprofile sees every call of the program, so its
cost grows with the program's own work.  The callback runs only when an fd
is created, and knows the fd (harness/bench/lang_overhead.sh measures it).

The callback reads frames only (code name, file, line number): it never
opens a file (no linecache), imports nothing, and unregisters itself at exit
before the interpreter shuts down.  Any other sitecustomize on the path
(Debian ships one) is still imported after this one.
"""
import os
import sys


def _install():
    log = os.environ.get("FDSOAK_LANG_LOG")
    if not log:
        return
    import atexit
    import ctypes
    import json

    try:
        register = ctypes.CDLL(None).inj_lang_register
    except (OSError, AttributeError):
        return  # the shim is not preloaded: native frames only
    here = os.path.dirname(os.path.abspath(__file__))
    proto = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_void_p, ctypes.c_int)
    getframe, dumps, memmove = sys._getframe, json.dumps, ctypes.memmove

    # Each code object's part of a frame, formatted once: the callback runs
    # for every fd the program creates, and most come from a few places.
    prefix = {}

    def frame_text(code):
        t = prefix.get(code)
        if t is None:
            t = '{"fn":%s,"file":%s,"line":' % (
                dumps(getattr(code, "co_qualname", code.co_name)), dumps(code.co_filename))
            prefix[code] = t
        return t

    def stack(fd, op, buf, size):
        try:
            f = getframe(1)
            parts = []
            used = 2
            while f is not None and len(parts) < 16:
                code = f.f_code
                if not code.co_filename.startswith(here):
                    p = "%s%d}" % (frame_text(code), f.f_lineno)
                    if used + len(p) + 1 >= size:
                        break
                    parts.append(p)
                    used += len(p) + 1
                f = f.f_back
            if not parts:
                return 0
            data = ("[" + ",".join(parts) + "]").encode()
            memmove(buf, data, len(data))
            return len(data)
        except BaseException:  # never let a report break the program
            return 0

    callback = proto(stack)
    register.argtypes = [proto, ctypes.c_char_p]
    register.restype = None
    register(callback, b"python")
    # Keep the callback alive, and withdraw it before the interpreter goes.
    sys.modules[__name__]._fdsoak_callback = callback
    atexit.register(lambda: register(proto(), b"python"))


def _chain():
    """Import the sitecustomize this one shadows, if there is one."""
    here = os.path.dirname(os.path.abspath(__file__))
    me = sys.modules.pop("sitecustomize", None)
    saved = sys.path[:]
    try:
        sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
        import importlib
        try:
            importlib.import_module("sitecustomize")
        except ImportError:
            pass
    finally:
        sys.path[:] = saved
        if me is not None:
            sys.modules["sitecustomize"] = me


_install()
_chain()
