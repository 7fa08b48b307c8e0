/* cli.c - what every verb of fdsoak shares: where its files are (its own
 * directory, the shim), the preload, timestamps, the progress bar, the
 * summary on stdout, and the usage-error message. */
#include "driver.h"

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

int fsk__usage_error(const char *fmt, ...) {
  va_list ap;
  fputs("fdsoak: ", stderr);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputs("\n(see fdsoak --help)\n", stderr);
  return FSK_EXIT_USAGE;
}

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

void fsk__utc_now(char *iso, size_t isolen, char *compact, size_t compactlen) {
  time_t t = time(NULL);
  struct tm tm;

  gmtime_r(&t, &tm);
  if (iso != NULL)
    strftime(iso, isolen, "%Y-%m-%dT%H:%M:%SZ", &tm);
  if (compact != NULL)
    strftime(compact, compactlen, "%Y%m%dT%H%M%SZ", &tm);
}

void fsk__progress(const fsk_run_opts_t *o, const char *label, long done, long total) {
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
int fsk__set_preload(const char *shim, int asan_first) {
  const char *old = getenv("LD_PRELOAD");
  const char *rt = "";
  char buf[3 * PATH_MAX];

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
