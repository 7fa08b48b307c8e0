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
  /* The file as the last look saw it, read or not: a change is read only
   * once it is at rest. */
  off_t seen_size;
  struct timespec seen_mtim;
  ino_t seen_ino;
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

/* Read the control file into g_ctl.buf, whole and at rest.  Only a regular
 * file is read: a FIFO would block the program inside its own connect(),
 * and a device such as /dev/zero reads as NUL bytes that parse as an
 * empty spec, silently dropping every rule.  The file must not change
 * while it is read (a writer truncating and writing it in place would
 * hand over half a spec): its size and mtime are the same before and
 * after, on the open file and on the path, and the read got all of it.
 * Returns the length; -1 with *why set (an error to report); -2 when the
 * file was changing (look again at the next interval). */
static ssize_t ctl_read(const char **why, struct stat *at) {
  ssize_t n = 0, r;
  struct stat a, b, p;
  int fd = inj__raw_open(g_ctl.path, O_RDONLY | O_NONBLOCK | O_CLOEXEC, 0);

  *why = NULL;
  if (fd < 0) {
    *why = strerror(errno);
    return -1;
  }
  if (fstat(fd, &a) < 0 || !S_ISREG(a.st_mode)) {
    *why = "not a regular file (a FIFO or a device cannot hold a spec)";
    close(fd);
    return -1;
  }
  if (a.st_size > (off_t)INJ_SPEC_MAX) {
    *why = "longer than a spec can be";
    close(fd);
    return -1;
  }
  while (n < (ssize_t)sizeof g_ctl.buf - 1 &&
         (r = read(fd, g_ctl.buf + n, sizeof g_ctl.buf - 1 - (size_t)n)) > 0)
    n += r;
  if (fstat(fd, &b) < 0 || stat(g_ctl.path, &p) < 0 || n != a.st_size || b.st_size != a.st_size ||
      b.st_mtim.tv_sec != a.st_mtim.tv_sec || b.st_mtim.tv_nsec != a.st_mtim.tv_nsec ||
      p.st_ino != a.st_ino || p.st_dev != a.st_dev || p.st_size != a.st_size ||
      p.st_mtim.tv_sec != a.st_mtim.tv_sec || p.st_mtim.tv_nsec != a.st_mtim.tv_nsec) {
    close(fd);
    return -2;
  }
  close(fd);
  g_ctl.buf[n] = '\0';
  if (memchr(g_ctl.buf, '\0', (size_t)n) != NULL) {
    *why = "holds a NUL byte: not a spec";
    return -1;
  }
  *at = a;
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
  const char *why;
  ssize_t got;
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
  /* A file changed since this very look may still be being written: it is
   * read once it has kept the same size and mtime for a whole interval. */
  if (st.st_size != g_ctl.seen_size || st.st_mtim.tv_sec != g_ctl.seen_mtim.tv_sec ||
      st.st_mtim.tv_nsec != g_ctl.seen_mtim.tv_nsec || st.st_ino != g_ctl.seen_ino) {
    g_ctl.seen_size = st.st_size;
    g_ctl.seen_mtim = st.st_mtim;
    g_ctl.seen_ino = st.st_ino;
    goto out;
  }
  idx = !__atomic_load_n(&inj__active, __ATOMIC_ACQUIRE);
  if (__atomic_load_n(&inj__readers[idx], __ATOMIC_SEQ_CST) != 0)
    goto out; /* a thread is still inside the table to rewrite */
  if ((got = ctl_read(&why, &st)) == -2)
    goto out; /* still changing: look again next interval */
  g_ctl.dev = st.st_dev;
  g_ctl.ino = st.st_ino;
  g_ctl.size = st.st_size;
  g_ctl.mtim = st.st_mtim;
  if (got < 0) {
    ctl_error(why);
    goto out;
  }
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

void inj__ctl_atfork_child(void) {
  /* Only the forking thread lives on in the child, and it is not inside a
   * table: counts of the others would block every later swap. */
  __atomic_store_n(&inj__readers[0], 0, __ATOMIC_RELAXED);
  __atomic_store_n(&inj__readers[1], 0, __ATOMIC_RELAXED);
  __atomic_store_n(&g_ctl.busy, 0, __ATOMIC_RELAXED);
}

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
    const char *why;
    ssize_t n;
    g_ctl.dev = st.st_dev;
    g_ctl.ino = st.st_ino;
    g_ctl.size = st.st_size;
    g_ctl.mtim = st.st_mtim;
    g_ctl.seen_size = st.st_size;
    g_ctl.seen_mtim = st.st_mtim;
    g_ctl.seen_ino = st.st_ino;
    n = ctl_read(&why, &st);
    if (n == -1) {
      snprintf(err, sizeof err, "%s: %s", path, why);
      ctl_die(err);
    }
    if (n > 0 && strspn(g_ctl.buf, " \t\r\n") != (size_t)n) {
      if (inj_spec_parse(g_ctl.buf, table0, err, sizeof err) < 0)
        ctl_die(err);
      return 1;
    }
  }
  return 0;
}
