"""What a program sees of its own start-up: its sitecustomize (from
PYTHONPATH), what that module added to sys.path, and which of re, ctypes
and json are already imported (issue 23, perturbation 8).

    py_site.py RESULT_FILE
"""
import sys

seen = [m for m in ("re", "ctypes", "json") if m in sys.modules]
try:
    import sitecustomize

    mine = getattr(sitecustomize, "FDSOAK_TEST_MARK", None)
    where = getattr(sitecustomize, "__file__", None)
except ImportError:
    mine, where = None, None
added = [p for p in sys.path if p.endswith("fdsoak-site-added")]
with open(sys.argv[1], "w") as f:
    f.write("mark=%s file=%s added=%s preloaded=%s\n" % (mine, where, added, seen))
