/*
 * track.c — fd origin records (FDSOAK_INJECT_TRACK=1): op and backtrace of
 * each created fd in the stats page ring, under a per-slot seqlock.
 */
#include "shim.h"

#include <dlfcn.h>
#include <execinfo.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- language origins ------------------------------------------------------

   The interpreter registers a callback (inj_lang_register); after each
   tracked fd is created the shim asks it for the interpreter's stack on
   that thread and appends one JSON line to FDSOAK_LANG_LOG.  The line is
   written like the decision log: opened, appended and closed with raw
   system calls, so the shim holds no fd and meets no hook. */

static char g_lang_path[PATH_MAX];
static char g_lang_name[16];
static inj_lang_cb g_lang_cb;
/* CPython's "is it shutting down" (3.11: _Py_IsFinalizing, 3.13:
   Py_IsFinalizing): a callback into a finalizing interpreter would crash. */
static int (*g_lang_finalizing)(void);

void inj__lang_init(const char *path) {
  /* A path too long is no path: never write to a truncated one. */
  if (path != NULL && inj__strlcpy(g_lang_path, path, sizeof g_lang_path) < 0)
    g_lang_path[0] = '\0';
}

EXPORT void inj_lang_register(inj_lang_cb cb, const char *lang) {
  if (cb != NULL && g_lang_finalizing == NULL) {
    *(void **)&g_lang_finalizing = dlsym(RTLD_DEFAULT, "Py_IsFinalizing");
    if (g_lang_finalizing == NULL)
      *(void **)&g_lang_finalizing = dlsym(RTLD_DEFAULT, "_Py_IsFinalizing");
  }
  snprintf(g_lang_name, sizeof g_lang_name, "%s", lang != NULL ? lang : "?");
  __atomic_store_n(&g_lang_cb, cb, __ATOMIC_RELEASE);
}

static const char *kind_of(int op) {
  return op == INJ_OP_OPEN ? "file" : op == INJ_REC_PIPE ? "pipe" : "socket";
}

static void lang_record(int fd, int op) {
  inj_lang_cb cb = __atomic_load_n(&g_lang_cb, __ATOMIC_ACQUIRE);
  char line[6144];
  int n, m, lfd;

  if (cb == NULL || g_lang_path[0] == '\0' || (g_lang_finalizing != NULL && g_lang_finalizing()))
    return;
  n = snprintf(
    line, sizeof line,
    "{\"pid\":%d,\"fd\":%d,\"t\":%llu,\"lang\":\"%s\",\"kind\":\"%s\",\"stack\":", (int)getpid(),
    fd, (unsigned long long)inj__mono_ns(CLOCK_MONOTONIC), g_lang_name, kind_of(op));
  m = cb(fd, op, line + n, (int)sizeof line - n - 3);
  if (m <= 0 || m > (int)sizeof line - n - 3)
    return;
  n += m;
  line[n++] = '}';
  line[n++] = '\n';
  lfd = inj__raw_open(g_lang_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (lfd < 0)
    return;
  if (write(lfd, line, (size_t)n) < 0) {
    /* nothing to do: the native record stands */
  }
  close(lfd);
}

void inj__track_fd(int fd, int op) {
  inj_fd_record_t *rec;
  void *frames[INJ_BT_FRAMES + 3];
  uint64_t s;
  int n;

  if (fd < 0)
    return;
  rec = &inj__page->fds[inj_fd_slot((int)getpid(), fd)];
  inj__add64(&inj__page->fd_records, 1);
  n = backtrace(frames, INJ_BT_FRAMES + 3);
  /* Skip this function, the hook's slow path (noinline, hooks.c) and the
     hook itself: the first frame kept is the caller. */
  n = n > 3 ? n - 3 : 0;
  s = __atomic_load_n(&rec->seq, __ATOMIC_RELAXED);
  __atomic_store_n(&rec->seq, (s | 1) + 0, __ATOMIC_RELAXED);
  __atomic_thread_fence(__ATOMIC_RELEASE);
  rec->fd = fd;
  rec->pid = (int32_t)getpid();
  rec->op = (uint16_t)op;
  rec->nframes = (uint16_t)n;
  rec->mono_ns = inj__mono_ns(CLOCK_MONOTONIC);
  /* The attempt it was born in, exactly: a sample comes several attempts
   * later on a fast program, and all its fds would share that one. */
  {
    uint64_t a = __atomic_load_n(&inj__page->injected_total, __ATOMIC_RELAXED) +
                 __atomic_load_n(&inj__page->observed_total, __ATOMIC_RELAXED);

    rec->attempt = a < UINT32_MAX - 1 ? (uint32_t)a + 1 : UINT32_MAX;
  }
  for (int i = 0; i < INJ_BT_FRAMES; i++)
    rec->frames[i] = i < n ? (uint64_t)(uintptr_t)frames[i + 3] : 0;
  __atomic_store_n(&rec->seq, (s | 1) + 1, __ATOMIC_RELEASE);
  lang_record(fd, op);
}
