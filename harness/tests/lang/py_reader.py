"""The Python 3.11 frame reader (libfdsoak-py311.so) against Python's own
view of the same frames: called through ctypes from many kinds of frames
(nested calls, a generator, a coroutine, a lambda, a method, a comprehension,
non-ASCII and quoted names, multi-line calls), its stack must equal
sys._getframe()'s, innermost first: qualified name, file and line.

    py_reader.py LIBFDSOAK_PY311
"""
import asyncio
import ctypes
import json
import sys

lib = ctypes.CDLL(sys.argv[1])
lib.fsk_py311_stack.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
lib.fsk_py311_stack.restype = ctypes.c_int
failures = []


def check(label):
    buf = ctypes.create_string_buffer(16384)
    n = lib.fsk_py311_stack(-1, 0, buf, len(buf))
    got = json.loads(buf.raw[:n].decode()) if n > 0 else []
    want, f = [], sys._getframe(1)
    while f is not None and len(want) < 16:
        want.append({"fn": f.f_code.co_qualname, "file": f.f_code.co_filename, "line": f.f_lineno})
        f = f.f_back
    # ctypes calls the reader from C: the innermost frame is check() itself.
    if not got or got[0]["fn"] != "check":
        failures.append("%s: innermost frame %r, not check" % (label, got[:1]))
        return
    if got[1:] != want[: len(got) - 1] or len(got) - 1 != min(len(want), 15):
        failures.append("%s:\n  got  %s\n  want %s" % (label, got[1:], want))


def nested(k):
    if k == 0:
        check("nested")
    else:
        nested(k - 1)


def gen():
    yield check("generator")


class Ünïcode:
    def méthode(self):
        check("method")

    def __repr__(self):
        return "x"


async def coro():
    check("coroutine")


def quoted_name():
    check("quoted name")


quoted_name.__code__ = quoted_name.__code__.replace(co_qualname='a "quoted" \\ name\t')


def run():
    nested(3)
    nested(20)  # deeper than the 16 frames kept
    list(gen())
    Ünïcode().méthode()
    (lambda: check("lambda"))()
    [check("comprehension") for _ in range(1)]
    asyncio.run(coro())
    check(
        "multi-line call"
    )
    exec(compile("check('exec')", "<fdsoak-exec>", "exec"))
    quoted_name()


run()
if failures:
    print("\n".join(failures))
    sys.exit(1)
print("ok: the reader agrees with sys._getframe in 11 kinds of frames")
