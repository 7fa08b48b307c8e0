/*
 * track.c — fd origin records (FDSOAK_INJECT_TRACK=1): op and backtrace of
 * each created fd in the stats page ring, under a per-slot seqlock, and the
 * interpreter's stack in the language slot beside it (FDSOAK_LANG_LOG).
 */
#include "shim.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- language origins ------------------------------------------------------

   A stack reader (inj_lang_cb) gives the interpreter's stack of the
   calling thread; after each tracked fd is created the shim puts it in
   the stats page's language slot of that fd, beside its native record.
   FDSOAK_LANG_LOG gets only notes (why a process gives no frames), written
   like the decision log: opened, appended and closed with raw system
   calls, so the shim holds no fd and meets no hook.

   The reader never enters the interpreter.  The old Python hook was a
   ctypes callback that took the GIL here, inside the program's open(): a
   thread that held SQLite's connection mutex waited for the GIL while the
   GIL's holder waited for that mutex (a deadlock), and signal handlers ran
   inside the callback, which swallowed their exceptions (issue 23).  Now,
   for CPython 3.11, the constructor loads libfdsoak-py311.so, which reads
   the thread's own frames as py-spy does from outside; nothing is imported
   into the program and its environment is untouched. */

static char g_lang_path[PATH_MAX];
static char g_lang_name[16];
static inj_lang_cb g_lang_cb;

void inj__lang_init(const char *path) {
  /* A path too long is no path: never write to a truncated one. */
  if (path != NULL && inj__strlcpy(g_lang_path, path, sizeof g_lang_path) < 0)
    g_lang_path[0] = '\0';
}

EXPORT void inj_lang_register(inj_lang_cb cb, const char *lang) {
  snprintf(g_lang_name, sizeof g_lang_name, "%s", lang != NULL ? lang : "?");
  __atomic_store_n(&g_lang_cb, cb, __ATOMIC_RELEASE);
}

static void lang_lost(int err) {
  inj__add64(&inj__page->lang_lost, 1);
  __atomic_store_n(&inj__page->lang_errno, (uint64_t)err, __ATOMIC_RELAXED);
}

/* One {"pid","note"} line: why this process gives no language frames.  The
   harness shows the first one it finds. */
static void lang_note(const char *what) {
  char line[768];
  int n, lfd;

  n = snprintf(line, sizeof line, "{\"pid\":%d,\"note\":\"", (int)getpid());
  for (const char *p = what; *p != '\0' && n < (int)sizeof line - 4; p++)
    if (*p != '"' && *p != '\\' && (unsigned char)*p >= 0x20)
      line[n++] = *p;
  line[n++] = '"';
  line[n++] = '}';
  line[n++] = '\n';
  lfd = inj__raw_open(g_lang_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (lfd < 0) {
    lang_lost(errno);
    return;
  }
  if (write(lfd, line, (size_t)n) != n)
    lang_lost(errno);
  close(lfd);
}

/* Which runtime this process is, and its stack reader.  Runs in the
   constructor (a dlopen inside somebody's open() could meet the loader's
   lock or a signal handler), after the program's libraries are mapped, so
   CPython's symbols are there to be found whether the interpreter is the
   executable or libpython. */
void inj__lang_detect(void) {
  const unsigned long *ver;
  char why[PATH_MAX + 256], lib[PATH_MAX];
  Dl_info self;
  void *h;
  inj_lang_cb cb;

  if (g_lang_path[0] == '\0')
    return;
  *(const void **)&ver = dlsym(RTLD_DEFAULT, "Py_Version");
  if (ver == NULL) {
    /* Py_Version is new in 3.11; any CPython has Py_GetVersion. */
    if (dlsym(RTLD_DEFAULT, "Py_GetVersion") != NULL)
      lang_note("Python older than 3.11: fdsoak reads CPython 3.11 frames only (native frames "
                "only for this process)");
    return;
  }
  if ((*ver >> 16) != 0x030b) {
    snprintf(why, sizeof why,
             "Python %lu.%lu: fdsoak reads CPython 3.11 frames only (native frames only for this "
             "process)",
             (*ver >> 24) & 0xff, (*ver >> 16) & 0xff);
    lang_note(why);
    return;
  }
  /* A debug build's objects carry extra header fields: other offsets. */
  if (dlsym(RTLD_DEFAULT, "_Py_RefTotal") != NULL) {
    lang_note("a debug build of Python 3.11: fdsoak reads release builds' frames only (native "
              "frames only for this process)");
    return;
  }
  if (dladdr((void *)inj_lang_register, &self) == 0 || self.dli_fname == NULL ||
      strrchr(self.dli_fname, '/') == NULL) {
    lang_note("the shim cannot tell its own directory, where libfdsoak-py311.so is (native "
              "frames only)");
    return;
  }
  snprintf(lib, sizeof lib, "%.*s/libfdsoak-py311.so",
           (int)(strrchr(self.dli_fname, '/') - self.dli_fname), self.dli_fname);
  h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
  if (h == NULL) {
    snprintf(why, sizeof why, "cannot load the Python 3.11 frame reader: %s (native frames only)",
             dlerror());
    lang_note(why);
    return;
  }
  *(void **)&cb = dlsym(h, "fsk_py311_stack");
  if (cb == NULL) {
    snprintf(why, sizeof why, "%s has no fsk_py311_stack (native frames only)", lib);
    lang_note(why);
    return;
  }
  inj_lang_register(cb, "py");
}

/* getpid() is a system call (glibc caches nothing since 2.25), and a
   system call is a large part of an open() in a virtual machine: the pid
   is kept here and renewed in the child of a fork (hooks.c's atfork
   handler; a vfork child execs before it creates an fd). */
static pid_t g_pid;

void inj__track_atfork_child(void) { g_pid = getpid(); }

static void lang_record(int slot, int pid, int fd, uint64_t mono) {
  inj_lang_cb cb = __atomic_load_n(&g_lang_cb, __ATOMIC_ACQUIRE);
  inj_lang_record_t *rec = &inj__page->langs[slot];
  uint64_t s;
  int m;

  if (cb == NULL)
    return;
  /* The reader writes straight into the slot, under the slot's seqlock: a
     stack costs no copy and no system call. */
  s = __atomic_load_n(&rec->seq, __ATOMIC_RELAXED);
  __atomic_store_n(&rec->seq, (s | 1) + 0, __ATOMIC_RELAXED);
  __atomic_thread_fence(__ATOMIC_RELEASE);
  rec->pid = pid;
  rec->fd = fd;
  rec->mono_ns = mono;
  memcpy(rec->lang, g_lang_name, sizeof rec->lang - 1);
  rec->lang[sizeof rec->lang - 1] = '\0';
  m = cb(fd, 0, rec->text, (int)sizeof rec->text);
  rec->len = m > 0 && m <= (int)sizeof rec->text ? (uint32_t)m : 0;
  __atomic_store_n(&rec->seq, (s | 1) + 1, __ATOMIC_RELEASE);
}

void inj__track_fd(int fd, int op) {
  inj_fd_record_t *rec;
  void *frames[INJ_BT_FRAMES + 3];
  uint64_t s, mono;
  unsigned slot;
  int n, pid;

  if (fd < 0)
    return;
  if (g_pid == 0)
    g_pid = getpid();
  pid = (int)g_pid;
  slot = inj_fd_slot(pid, fd);
  rec = &inj__page->fds[slot];
  inj__add64(&inj__page->fd_records, 1);
  n = inj__unwind(frames, INJ_BT_FRAMES + 3);
  /* Skip this function, the hook's slow path (noinline, hooks.c) and the
     hook itself: the first frame kept is the caller. */
  n = n > 3 ? n - 3 : 0;
  mono = inj__mono_ns(CLOCK_MONOTONIC);
  s = __atomic_load_n(&rec->seq, __ATOMIC_RELAXED);
  __atomic_store_n(&rec->seq, (s | 1) + 0, __ATOMIC_RELAXED);
  __atomic_thread_fence(__ATOMIC_RELEASE);
  rec->fd = fd;
  rec->pid = (int32_t)pid;
  rec->op = (uint16_t)op;
  rec->nframes = (uint16_t)n;
  rec->mono_ns = mono;
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
  lang_record((int)slot, pid, fd, mono);
}
