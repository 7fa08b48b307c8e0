/*
 * stats.c — the shared counter page (FDSOAK_INJECT_STATS): the shim's
 * writer (create or attach) and the harness's reader, side by side.
 *
 * The layout is an ABI between a running target and the harness, possibly
 * built at different times, so the offsets are pinned here.  The writer
 * uses no shim state (it is handed the spec and a callback), so the
 * inj_spec library that the harness links carries it without the hooks.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

_Static_assert(sizeof(inj_rule_stats_t) == 128, "rule stats layout");
_Static_assert(sizeof(inj_fd_record_t) == 96, "fd record layout");
_Static_assert(offsetof(inj_stats_page_t, generation) == 24, "page layout");
_Static_assert(offsetof(inj_stats_page_t, injected_total) == 40, "page layout");
_Static_assert(offsetof(inj_stats_page_t, seq) == 48, "page layout");
_Static_assert(offsetof(inj_stats_page_t, observed_total) == 80, "page layout");
_Static_assert(offsetof(inj_stats_page_t, fd_records) == 88, "page layout");
_Static_assert(offsetof(inj_stats_page_t, undecided) == 96, "page layout");
_Static_assert(offsetof(inj_stats_page_t, real_emfile) ==
                 offsetof(inj_stats_page_t, langs) + INJ_FD_SLOTS * sizeof(inj_lang_record_t),
               "page layout");
_Static_assert(offsetof(inj_stats_page_t, rules) == 128, "page layout");
_Static_assert(offsetof(inj_stats_page_t, fds) == 128 + INJ_MAX_RULES * 128, "page layout");

int inj_stats_open(const char *path, inj_stats_view_t *out) {
  struct stat st;
  void *p;
  int fd, rc = 0;

  if (!path || !out)
    return -EINVAL;
  fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -errno;
  if (fstat(fd, &st) < 0) {
    rc = -errno;
    goto out;
  }
  if ((size_t)st.st_size < sizeof(inj_stats_page_t)) {
    /* Created by the harness but never sized: no shim has initialised it. */
    rc = -EAGAIN;
    goto out;
  }
  p = mmap(NULL, sizeof(inj_stats_page_t), PROT_READ, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) {
    rc = -errno;
    goto out;
  }
  {
    const inj_stats_page_t *pg = p;
    uint64_t magic = __atomic_load_n(&pg->magic, __ATOMIC_ACQUIRE);
    if (magic == 0)
      rc = -EAGAIN;
    else if (magic != INJ_STATS_MAGIC || pg->version != INJ_STATS_VERSION)
      rc = -EPROTO;
    if (rc < 0) {
      munmap(p, sizeof(inj_stats_page_t));
      goto out;
    }
  }
  out->page = p;
  out->len = sizeof(inj_stats_page_t);
out:
  close(fd);
  return rc;
}

void inj_stats_close(inj_stats_view_t *v) {
  if (!v || !v->page)
    return;
  munmap((void *)v->page, v->len);
  v->page = NULL;
  v->len = 0;
}

int inj_stats_fd_record(const inj_stats_view_t *v, int pid, int fd, inj_fd_record_t *out) {
  const inj_fd_record_t *rec;
  uint64_t s1, s2;
  int tries = 100;

  if (!v || !v->page || fd < 0 || !out)
    return -EINVAL;
  rec = &v->page->fds[inj_fd_slot(pid, fd)];
  do {
    s1 = __atomic_load_n(&rec->seq, __ATOMIC_ACQUIRE);
    if (s1 & 1)
      continue; /* writer in progress */
    memcpy(out, rec, sizeof *out);
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    s2 = __atomic_load_n(&rec->seq, __ATOMIC_RELAXED);
    if (s1 == s2)
      break;
  } while (--tries);
  if (!tries)
    return -EBUSY;
  if (s1 == 0 || out->fd != fd || out->pid != pid)
    return -ENOENT;
  out->seq = s1;
  return 0;
}

int inj_stats_lang_record(const inj_stats_view_t *v, int pid, int fd, inj_lang_record_t *out) {
  const inj_lang_record_t *rec;
  uint64_t s1, s2;
  int tries = 100;

  if (!v || !v->page || fd < 0 || !out || v->len < sizeof *v->page)
    return -EINVAL;
  rec = &v->page->langs[inj_fd_slot(pid, fd)];
  do {
    s1 = __atomic_load_n(&rec->seq, __ATOMIC_ACQUIRE);
    if (s1 & 1)
      continue; /* writer in progress */
    memcpy(out, rec, sizeof *out);
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    s2 = __atomic_load_n(&rec->seq, __ATOMIC_RELAXED);
    if (s1 == s2)
      break;
  } while (--tries);
  if (!tries)
    return -EBUSY;
  if (s1 == 0 || out->fd != fd || out->pid != pid || out->len == 0 || out->len > sizeof out->text)
    return -ENOENT;
  out->seq = s1;
  return 0;
}

/* ---- writer (the shim) -------------------------------------------------------- */

int inj__page_matches_spec(const inj_stats_page_t *pg, const inj_spec_t *s) {
  if (pg->nrules != s->nrules)
    return 0;
  for (unsigned i = 0; i < s->nrules; i++)
    if (strncmp(pg->rules[i].text, s->rules[i].text, sizeof pg->rules[i].text - 1))
      return 0;
  return 1;
}

/* Whether an existing file may become the stats page: a file the user
 * named by mistake (a log, a database) must never be overwritten.  The
 * shim writes only a file it created itself, an empty one (a harness's
 * mkstemp), one of exactly the page's size that is all zeros (a harness
 * that reserved the space), or one that already holds a page.  Called
 * with the page mapped; returns 1 when the page may be written. */
static int page_is_ours(const inj_stats_page_t *pg) {
  const uint64_t *w = (const uint64_t *)pg;
  size_t i;

  if (pg->magic == INJ_STATS_MAGIC && pg->size == sizeof *pg)
    return 1;
  for (i = 0; i < sizeof *pg / sizeof *w; i++)
    if (w[i] != 0)
      return 0;
  return 1;
}

int inj__stats_attach(const char *path, const inj_spec_t *s, inj_stats_page_t **out,
                      void (*init_cb)(inj_stats_page_t *pg, int fresh)) {
  inj_stats_page_t *pg = NULL;
  struct stat st;
  int fd, rc = 0, created = 1;

  /* Raw system calls: inside the shim, open() is our own hook.  A new file
   * is created exclusively; an existing one is opened without following a
   * symlink and without blocking (a FIFO would hang the program here). */
  fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0 && errno == EEXIST) {
    created = 0;
    fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  }
  if (fd < 0)
    return -errno;
  /* Serialise initialisation with sibling processes starting at once.  The
     lock must be dropped explicitly: the mapping keeps the open file
     description (and with it an flock) alive after close(). */
  flock(fd, LOCK_EX);
  if (fstat(fd, &st) < 0) {
    rc = -errno;
    goto out;
  }
  if (!S_ISREG(st.st_mode) || (st.st_size != 0 && (size_t)st.st_size != sizeof *pg)) {
    rc = -EEXIST;
    goto out;
  }
  if ((size_t)st.st_size < sizeof *pg && ftruncate(fd, sizeof *pg) < 0) {
    rc = -errno;
    goto out;
  }
  /* Reserve the blocks now: on a full file system a sparse page would
   * fail later, as a SIGBUS at the first counter written. */
  if ((rc = posix_fallocate(fd, 0, sizeof *pg)) != 0) {
    rc = rc == EOPNOTSUPP ? 0 : -rc;
    if (rc != 0)
      goto shrink;
  }
  pg = mmap(NULL, sizeof *pg, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (pg == MAP_FAILED) {
    rc = -errno;
    goto shrink;
  }
  if (!created && st.st_size != 0 && !page_is_ours(pg)) {
    munmap(pg, sizeof *pg);
    rc = -EEXIST;
    goto out;
  }
  *out = pg;
  if (pg->magic == INJ_STATS_MAGIC && pg->version == INJ_STATS_VERSION &&
      inj__page_matches_spec(pg, s)) {
    /* A parent with the same spec set it up: share its counters, so a
       process tree is one target and first(K) counts across it. */
    __atomic_fetch_add(&pg->attached, 1, __ATOMIC_RELAXED);
    init_cb(pg, 0);
    goto out;
  }
  memset(pg, 0, sizeof *pg);
  pg->version = INJ_STATS_VERSION;
  pg->size = sizeof *pg;
  pg->pid = (uint32_t)getpid();
  pg->attached = 1;
  init_cb(pg, 1);
  __atomic_store_n(&pg->magic, INJ_STATS_MAGIC, __ATOMIC_RELEASE);
  goto out;
shrink:
  /* Leave a file that was empty as it was found (or remove the one made
   * here), not a page-sized file of zeros. */
  if (created)
    syscall(SYS_unlinkat, AT_FDCWD, path, 0);
  else if (st.st_size == 0 && ftruncate(fd, 0) != 0)
    rc = rc ? rc : -errno;
out:
  flock(fd, LOCK_UN);
  close(fd);
  return rc;
}

/* ---- writer (another engine: fdsoak's supervisor) ------------------------------ */

static const inj_spec_t *g_create_spec;

static void create_init(inj_stats_page_t *pg, int fresh) {
  const inj_spec_t *s = g_create_spec;
  struct timespec ts;

  if (!fresh)
    return;
  for (unsigned i = 0; i < s->nrules && i < INJ_MAX_RULES; i++) {
    /* The page's text is shorter than the rule's: cut, terminated (the page
       is zeroed). */
    size_t n = strnlen(s->rules[i].text, sizeof pg->rules[i].text - 1);
    memcpy(pg->rules[i].text, s->rules[i].text, n);
  }
  pg->nrules = s->nrules;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  pg->applied_mono_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
  pg->generation = 1;
}

int inj_stats_create(const char *path, const inj_spec_t *s, inj_stats_page_t **out) {
  /* Single-threaded use (fdsoak before it starts a target): the callback
     has no argument, so the spec goes through a static. */
  g_create_spec = s;
  return inj__stats_attach(path, s, out, create_init);
}

void inj_stats_unmap(inj_stats_page_t *pg) {
  if (pg != NULL)
    munmap(pg, sizeof *pg);
}
