/* cli.c - what every verb of fdsoak shares: where its files are (its own
 * directory, the shim), the preload, timestamps, the progress bar, the
 * summary on stdout.  (Flags and the error printer: args.c.) */
#include "driver.h"
#include "results_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "inj.h"

int fsk__exe_dir(char *buf, size_t len) {
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

  if (n < 0)
    return -errno;
  exe[n] = '\0';
  snprintf(buf, len, "%s", dirname(exe));
  return 0;
}

#ifndef FSK_BIN_TO_LIBEXEC
#define FSK_BIN_TO_LIBEXEC "../libexec/fdsoak"
#endif
#ifndef FSK_LIBEXEC_TO_BIN
#define FSK_LIBEXEC_TO_BIN "../../bin"
#endif

int fsk__sibling_path(const char *name, char *buf, size_t len) {
  /* Beside this executable (the build tree; bin/ for bin/), then across
   * the install layout: bin/fdsoak finds libexec/fdsoak/fdsoak-regress, and
   * the regress worker there finds bin/fdsoak-platformd. */
  static const char *const rel[] = {".", FSK_BIN_TO_LIBEXEC, FSK_LIBEXEC_TO_BIN};
  char dir[PATH_MAX];
  size_t i;
  int rc;

  if ((rc = fsk__exe_dir(dir, sizeof(dir))) != 0)
    return rc;
  for (i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
    snprintf(buf, len, "%s/%s/%s", dir, rel[i], name);
    if (access(buf, X_OK) == 0)
      return 0;
  }
  snprintf(buf, len, "%s/%s", dir, name); /* the name the error quotes */
  return -ENOENT;
}

/* The shim from this executable's directory: the install layout's libdir
 * by soname (the build sets the path), else the build tree's lib/. */
#ifndef FSK_SHIM_INSTALL_PATH
#define FSK_SHIM_INSTALL_PATH "../lib/fdsoak/libfdsoak-inject.so.0"
#endif

int fsk__shim_path(char *buf, size_t len) {
  static const char *const rel[] = {FSK_SHIM_INSTALL_PATH, "../lib/libfdsoak-inject.so"};
  const char *env = getenv("FDSOAK_INJECT_LIB");
  char dir[PATH_MAX];
  size_t i;
  int rc;

  if (env != NULL && env[0] != '\0') {
    snprintf(buf, len, "%s", env);
  } else {
    if ((rc = fsk__exe_dir(dir, sizeof(dir))) != 0)
      return rc;
    for (i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
      snprintf(buf, len, "%s/%s", dir, rel[i]);
      if (access(buf, R_OK) == 0)
        return 0;
    }
  }
  return access(buf, R_OK) == 0 ? 0 : -errno;
}

int fsk__stats_create(char *path, size_t len, const char *stem) {
  const char *tmp = getenv("TMPDIR");
  int fd, rc = 0;

  snprintf(path, len, "%s/%s-XXXXXX", tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp", stem);
  if ((fd = mkstemp(path)) < 0) {
    rc = -errno;
    path[0] = '\0';
    return rc;
  }
  /* The shim maps this file and writes its counters through the mapping:
   * a page that is only sparse would meet a full TMPDIR as a SIGBUS, in
   * the target and in fdsoak reading it.  Reserve its blocks here, where
   * ENOSPC is an error that can be reported. */
  rc = -posix_fallocate(fd, 0, (off_t)sizeof(inj_stats_page_t));
  if (rc == -EOPNOTSUPP)
    rc = 0;
  close(fd);
  if (rc != 0) {
    unlink(path);
    path[0] = '\0';
  }
  return rc;
}

int fsk__out_probe(const char *dir) {
  char probe[PATH_MAX + 64];
  int rc, fd;

  if ((rc = fsk__mkdir_p(dir)) != 0)
    return rc;
  /* mkdir -p succeeds on a directory that exists read-only: only a file
   * really created there proves the results can be written. */
  snprintf(probe, sizeof probe, "%s/.fdsoak-probe-%d", dir, (int)getpid());
  if ((fd = open(probe, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0)
    return -errno;
  close(fd);
  unlink(probe);
  return 0;
}

void fsk__utc_now(char *iso, size_t isolen, char *compact, size_t compactlen) {
  time_t t = time(NULL);
  struct tm tm;

  gmtime_r(&t, &tm);
  if (iso != NULL)
    strftime(iso, isolen, "%Y-%m-%dT%H:%M:%SZ", &tm);
  if (compact != NULL)
    strftime(compact, compactlen, "%Y%m%dT%H%M%SZ", &tm);
}

void fsk__progress(const fsk__run_opts_t *o, const char *label, long done, long total) {
  const int width = 30;
  int filled = total > 0 ? (int)(done * width / total) : width;

  if (!o->progress)
    return;
  fprintf(stderr, "\r%s[%.*s%*s]%s %-20s %ld/%ld", o->color ? "\033[32m" : "", filled,
          "##############################", width - filled, "", o->color ? "\033[0m" : "", label,
          done, total);
  if (done == total)
    fputc('\n', stderr);
  fflush(stderr);
}

/*
 * Put the shim first in LD_PRELOAD, keeping what the user had there.
 *
 * An ASan build made by gcc links ASan's shared runtime, and an instrumented
 * program aborts at start ("ASan runtime does not come first in initial
 * library list") when a preloaded library is ahead of it -- the worker would
 * die with exit 1, which reads as "leak".  The worker is this very build,
 * so with asan_first its runtime goes first; the shim needs no particular
 * place, it reaches the next definition through RTLD_NEXT wherever it sits.
 * A target of `watch` is not ours and may carry no ASan at all.
 */
/* The private link to the shim (see preload_name), removed at exit. */
static char shim_link_dir[PATH_MAX], shim_link[PATH_MAX + 32];

static void shim_link_remove(void) {
  if (shim_link[0] != '\0')
    unlink(shim_link);
  if (shim_link_dir[0] != '\0')
    rmdir(shim_link_dir);
}

/* LD_PRELOAD is split at spaces and colons, with no way to escape them: a
 * shim installed under "/opt/my tools" would never load.  Such a path is
 * reached through a symbolic link in a private directory whose name has
 * neither (TMPDIR, else /tmp), made once and removed when fdsoak exits.
 * Returns the name to preload, or NULL (errno set). */
static const char *preload_name(const char *shim) {
  const char *tmp = getenv("TMPDIR");

  if (strpbrk(shim, " :\t\n") == NULL)
    return shim;
  if (shim_link[0] != '\0')
    return shim_link;
  if (tmp == NULL || tmp[0] == '\0' || strpbrk(tmp, " :\t\n") != NULL)
    tmp = "/tmp";
  snprintf(shim_link_dir, sizeof shim_link_dir, "%s/fdsoak-shim-XXXXXX", tmp);
  if (mkdtemp(shim_link_dir) == NULL) {
    shim_link_dir[0] = '\0';
    return NULL;
  }
  snprintf(shim_link, sizeof shim_link, "%s/libfdsoak-inject.so", shim_link_dir);
  if (symlink(shim, shim_link) != 0) {
    int e = errno;

    shim_link[0] = '\0';
    rmdir(shim_link_dir);
    shim_link_dir[0] = '\0';
    errno = e;
    return NULL;
  }
  atexit(shim_link_remove);
  return shim_link;
}

int fsk__set_preload(const char *shim_path, int asan_first) {
  const char *old = getenv("LD_PRELOAD");
  const char *rt = "";
  const char *shim = preload_name(shim_path);
  char buf[3 * PATH_MAX];

  if (shim == NULL)
    return -errno;

#ifdef FSK_ASAN_RUNTIME
  if (asan_first)
    rt = FSK_ASAN_RUNTIME ":";
#else
  (void)asan_first;
#endif
  if (old != NULL && old[0] != '\0')
    snprintf(buf, sizeof(buf), "%s%s:%s", rt, shim, old);
  else
    snprintf(buf, sizeof(buf), "%s%s", rt, shim);
  return setenv("LD_PRELOAD", buf, 1) == 0 ? 0 : -errno;
}

void fsk__print_summary(const char *dir) {
  char file[PATH_MAX + 16];
  FILE *f;
  int ch;

  snprintf(file, sizeof(file), "%s/summary.json", dir);
  if ((f = fopen(file, "r")) == NULL)
    return;
  while ((ch = fgetc(f)) != EOF)
    putchar(ch);
  fclose(f);
}
