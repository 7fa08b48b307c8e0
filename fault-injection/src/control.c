/*
 * control.c — the control file (FDSOAK_INJECT_CONTROL): a new spec picked
 * up at runtime from inside hooked calls, swapped in with one atomic store.
 */
#include "shim.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static struct {
  char path[PATH_MAX];
  uint64_t interval_ns;
  uint64_t next_check_ns;
  uint64_t last_swap_ns;
  int busy;
  dev_t dev;
  ino_t ino;
  off_t size;
  struct timespec mtim;
  char buf[INJ_SPEC_MAX + 2];
} g_ctl;

static void ctl_error(const char *what) {
  char msg[PATH_MAX + 400];
  snprintf(msg, sizeof msg,
           "fdsoak-inject: FDSOAK_INJECT_CONTROL %s: %s (keeping the previous rules)\n", g_ctl.path,
           what);
  inj__say(msg);
  inj__add64(&inj__page->control_errors, 1);
}

/* Read the control file into g_ctl.buf.  Returns length, or -1. */
static ssize_t ctl_read(void) {
  ssize_t n = 0, r;
  int fd = inj__raw_open(g_ctl.path, O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0)
    return -1;
  while (n < (ssize_t)sizeof g_ctl.buf - 1 &&
         (r = read(fd, g_ctl.buf + n, sizeof g_ctl.buf - 1 - (size_t)n)) > 0)
    n += r;
  close(fd);
  g_ctl.buf[n] = '\0';
  return n;
}

/*
 * Called from hooks when HOT_CTRL is set.  One thread at a time looks, at
 * most every interval; a changed file (inode, size or mtime) is parsed into
 * the inactive table, which then becomes active with one atomic store.
 * Readers of the previous table finish within microseconds; swaps are kept
 * at least two intervals apart so no reader can still be inside a table
 * that is being overwritten.
 */
void inj__ctl_poll(void) {
  uint64_t now = inj__mono_ns(CLOCK_MONOTONIC_COARSE);
  uint64_t next = __atomic_load_n(&g_ctl.next_check_ns, __ATOMIC_RELAXED);
  struct stat st;
  char err[256];
  unsigned idx;

  if (INJ_LIKELY(now < next))
    return;
  if (__atomic_exchange_n(&g_ctl.busy, 1, __ATOMIC_ACQUIRE))
    return;
  __atomic_store_n(&g_ctl.next_check_ns, now + g_ctl.interval_ns, __ATOMIC_RELAXED);
  if (stat(g_ctl.path, &st) < 0)
    goto out;
  if (st.st_dev == g_ctl.dev && st.st_ino == g_ctl.ino && st.st_size == g_ctl.size &&
      st.st_mtim.tv_sec == g_ctl.mtim.tv_sec && st.st_mtim.tv_nsec == g_ctl.mtim.tv_nsec)
    goto out;
  if (now - g_ctl.last_swap_ns < 2 * g_ctl.interval_ns)
    goto out; /* look again next interval */
  g_ctl.dev = st.st_dev;
  g_ctl.ino = st.st_ino;
  g_ctl.size = st.st_size;
  g_ctl.mtim = st.st_mtim;
  if (ctl_read() < 0) {
    ctl_error(strerror(errno));
    goto out;
  }
  idx = !__atomic_load_n(&inj__active, __ATOMIC_ACQUIRE);
  if (inj_spec_parse(g_ctl.buf, &inj__tables[idx], err, sizeof err) < 0) {
    ctl_error(err);
    goto out;
  }
  g_ctl.last_swap_ns = now;
  /* In a process tree sharing one page, every process sees the same control
     file change; the first one resets the counters, the others adopt its
     generation instead of resetting them again. */
  inj__publish(idx, inj__mono_ns(CLOCK_MONOTONIC),
               !(__atomic_load_n(&inj__page->generation, __ATOMIC_ACQUIRE) != inj__my_generation &&
                 inj__page_matches_spec(inj__page, &inj__tables[idx])));
out:
  __atomic_store_n(&g_ctl.busy, 0, __ATOMIC_RELEASE);
}

void inj__ctl_atfork_child(void) { __atomic_store_n(&g_ctl.busy, 0, __ATOMIC_RELAXED); }

static void ctl_die(const char *err) {
  char msg[512];
  snprintf(msg, sizeof msg, "fdsoak-inject: FDSOAK_INJECT_CONTROL %s\n", err);
  inj__say(msg);
  _exit(2);
}

int inj__ctl_init(const char *path, const char *interval_ms, inj_spec_t *table0) {
  struct stat st;
  long v = interval_ms ? strtol(interval_ms, NULL, 10) : 100;
  char err[256];

  if (inj__strlcpy(g_ctl.path, path, sizeof g_ctl.path) < 0)
    ctl_die("path too long");
  g_ctl.interval_ns = (uint64_t)(v > 0 ? v : 100) * 1000000u;
  /* A control file already present at start (and not blank) wins over
     FDSOAK_INJECT, and must be valid like it: the harness may write it
     before starting the target. */
  if (stat(path, &st) == 0) {
    ssize_t n;
    g_ctl.dev = st.st_dev;
    g_ctl.ino = st.st_ino;
    g_ctl.size = st.st_size;
    g_ctl.mtim = st.st_mtim;
    n = ctl_read();
    if (n > 0 && strspn(g_ctl.buf, " \t\r\n") != (size_t)n) {
      if (inj_spec_parse(g_ctl.buf, table0, err, sizeof err) < 0)
        ctl_die(err);
      return 1;
    }
  }
  return 0;
}
