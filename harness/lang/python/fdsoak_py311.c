/*
 * fdsoak_py311.c - libfdsoak-py311.so: the Python stack of the calling
 * thread, read from C without entering the interpreter (CPython 3.11 only).
 *
 * The shim (fault-injection/src/track.c) loads this library into a process
 * whose Py_Version says 3.11 and calls fsk_py311_stack() right after each
 * fd it tracks is created, on the creating thread.  The old hook was a
 * ctypes callback that took the GIL there: it deadlocked a thread that held
 * SQLite's connection mutex while another held the GIL, and ran signal
 * handlers inside a callback that swallowed their exceptions (issue 23).
 *
 * Here nothing takes the GIL, allocates, calls into the interpreter or
 * touches a reference count.  The thread is inside a C call (open, socket,
 * SQLite's journal open), so its own frame chain cannot change until we
 * return: its frames, their code objects and the code objects' strings are
 * kept alive by the frames, and only this thread pushes or pops them.  What
 * is read, as py-spy does from outside:
 *
 *   PyGILState_GetThisThreadState()   pthread_getspecific of the thread's
 *                                     tstate (NULL: no Python on it)
 *   tstate->cframe->current_frame     the innermost _PyInterpreterFrame
 *   frame->f_code, ->previous         code object, caller
 *   frame->prev_instr                 the instruction being run: its line
 *                                     comes from co_linetable, decoded here
 *                                     (PyCode_Addr2Line may fill a lazily
 *                                     built cache, _co_linearray, that
 *                                     another thread could be creating)
 *   co_qualname, co_filename          bytes straight from the str object
 *
 * Layouts come from the 3.11 headers with Py_BUILD_CORE: they are the same
 * for every 3.11.x (the struct headers do not change in patch releases,
 * which debuggers rely on), and the shim loads this only for 3.11 and
 * never for a debug build (different object header).
 */
#define Py_BUILD_CORE 1
#include <Python.h>
#include <internal/pycore_frame.h>

#include <stdint.h>
#include <string.h>

#define MAX_FRAMES 16 /* frames written */
#define MAX_WALK 256  /* frames looked at: a bound against a corrupt chain */

typedef struct out {
  char *p;
  int len, used, full;
} fsk__py_out_t;

static void put(fsk__py_out_t *o, const char *s, int n) {
  if (o->full || o->used + n > o->len) {
    o->full = 1;
    return;
  }
  memcpy(o->p + o->used, s, (size_t)n);
  o->used += n;
}

static void put_int(fsk__py_out_t *o, long v) {
  char tmp[24];
  int n = 0;
  unsigned long u = v < 0 ? 0ul - (unsigned long)v : (unsigned long)v;

  do
    tmp[sizeof tmp - 1 - n++] = (char)('0' + u % 10);
  while ((u /= 10) != 0 && n < 20);
  if (v < 0)
    tmp[sizeof tmp - 1 - n++] = '-';
  put(o, tmp + sizeof tmp - n, n);
}

/* One code point as JSON string content (UTF-8, escapes for what JSON
 * requires; lone surrogates, which UTF-8 cannot carry, as \uXXXX). */
static void put_cp(fsk__py_out_t *o, uint32_t c) {
  static const char hex[] = "0123456789abcdef";
  char b[8];

  if (c == '"' || c == '\\') {
    b[0] = '\\';
    b[1] = (char)c;
    put(o, b, 2);
  } else if (c < 0x20 || (c >= 0xd800 && c < 0xe000)) {
    b[0] = '\\';
    b[1] = 'u';
    b[2] = hex[(c >> 12) & 15];
    b[3] = hex[(c >> 8) & 15];
    b[4] = hex[(c >> 4) & 15];
    b[5] = hex[c & 15];
    put(o, b, 6);
  } else if (c < 0x80) {
    b[0] = (char)c;
    put(o, b, 1);
  } else if (c < 0x800) {
    b[0] = (char)(0xc0 | (c >> 6));
    b[1] = (char)(0x80 | (c & 0x3f));
    put(o, b, 2);
  } else if (c < 0x10000) {
    b[0] = (char)(0xe0 | (c >> 12));
    b[1] = (char)(0x80 | ((c >> 6) & 0x3f));
    b[2] = (char)(0x80 | (c & 0x3f));
    put(o, b, 3);
  } else {
    b[0] = (char)(0xf0 | (c >> 18));
    b[1] = (char)(0x80 | ((c >> 12) & 0x3f));
    b[2] = (char)(0x80 | ((c >> 6) & 0x3f));
    b[3] = (char)(0x80 | (c & 0x3f));
    put(o, b, 4);
  }
}

/* A str as a JSON string, read from its compact storage (every str the
 * compiler makes is compact); anything else is "?". */
static void put_str(fsk__py_out_t *o, PyObject *s) {
  PyASCIIObject *a = (PyASCIIObject *)s;
  Py_ssize_t n, i;

  put(o, "\"", 1);
  if (s == NULL || !PyUnicode_Check(s) || !a->state.compact || !a->state.ready) {
    put(o, "?", 1);
  } else {
    const void *data =
      a->state.ascii ? (const void *)(a + 1) : (const void *)((PyCompactUnicodeObject *)s + 1);
    int kind = a->state.kind;

    n = a->length;
    for (i = 0; i < n && !o->full; i++) {
      uint32_t c = kind == PyUnicode_1BYTE_KIND   ? ((const Py_UCS1 *)data)[i]
                   : kind == PyUnicode_2BYTE_KIND ? ((const Py_UCS2 *)data)[i]
                                                  : ((const Py_UCS4 *)data)[i];
      put_cp(o, c);
    }
  }
  put(o, "\"", 1);
}

/* co_linetable (3.11, Objects/locations.md): one entry per run of code
 * units; the first byte has bit 7 set, bits 3-6 the kind, bits 0-2 the
 * length - 1. */
static unsigned varint(const uint8_t **p, const uint8_t *end) {
  unsigned v = 0, shift = 0, b;

  do {
    if (*p >= end)
      return v;
    b = *(*p)++;
    v |= (b & 63u) << shift;
    shift += 6;
  } while ((b & 64) && shift < 30);
  return v;
}

static int svarint(const uint8_t **p, const uint8_t *end) {
  unsigned v = varint(p, end);
  return (v & 1) ? -(int)(v >> 1) : (int)(v >> 1);
}

static int addr2line(PyCodeObject *co, int unit) {
  PyObject *lt = co->co_linetable;
  const uint8_t *p, *end;
  int line = co->co_firstlineno, at = 0;

  if (unit < 0)
    return co->co_firstlineno;
  if (lt == NULL || !PyBytes_Check(lt))
    return 0;
  p = (const uint8_t *)((PyBytesObject *)lt)->ob_sval;
  end = p + Py_SIZE(lt);
  while (p < end) {
    uint8_t first = *p++;
    int kind = (first >> 3) & 15, units = (first & 7) + 1, delta = 0, none = 0;
    const uint8_t *q = p;

    if (kind == 15)
      none = 1;
    else if (kind == 14 || kind == 13)
      delta = svarint(&q, end);
    else if (kind >= 10)
      delta = kind - 10;
    line += delta;
    if (unit < at + units)
      return none ? 0 : line;
    at += units;
    while (p < end && (*p & 128) == 0)
      p++;
  }
  return 0;
}

/* The calling thread's Python stack, innermost first, as a JSON array of
 * {"fn","file","line"} in buf; its length, or 0 (no Python frames, or no
 * room).  The signature is the shim's inj_lang_cb (inj_lang.h). */
__attribute__((visibility("default"))) int fsk_py311_stack(int fd, int op, char *buf, int len) {
  PyThreadState *ts;
  _PyInterpreterFrame *f;
  fsk__py_out_t o = {buf, len - 1, 0, 0}; /* one byte kept for the closing ']' */
  int kept = 0, walked = 0;

  (void)fd;
  (void)op;
  if (buf == NULL || len < 3 || _Py_IsFinalizing())
    return 0;
  ts = PyGILState_GetThisThreadState();
  if (ts == NULL || ts->cframe == NULL)
    return 0;
  put(&o, "[", 1);
  for (f = ts->cframe->current_frame; f != NULL && kept < MAX_FRAMES && walked < MAX_WALK;
       f = f->previous, walked++) {
    PyCodeObject *co = f->f_code;
    int mark = o.used;

    /* A frame being set up has no instruction yet (CPython's own
     * tracebacks skip it too). */
    if (co == NULL || _PyFrame_IsIncomplete(f))
      continue;
    put(&o, kept ? ",{\"fn\":" : "{\"fn\":", kept ? 7 : 6);
    put_str(&o, co->co_qualname);
    put(&o, ",\"file\":", 8);
    put_str(&o, co->co_filename);
    put(&o, ",\"line\":", 8);
    put_int(&o, addr2line(co, _PyInterpreterFrame_LASTI(f)));
    put(&o, "}", 1);
    if (o.full) {
      /* Keep the frames that fitted, drop the one cut short. */
      o.used = mark;
      o.full = 0;
      break;
    }
    kept++;
  }
  if (kept == 0)
    return 0;
  buf[o.used++] = ']';
  return o.used;
}
