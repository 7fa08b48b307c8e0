/*
 * base.c — what every other unit of the shim stands on: the real functions
 * (resolved once through dlsym(RTLD_NEXT)), the hot word the hooks test, the
 * stats page the counters go to, and three small utilities (a clock read, a
 * message on stderr, an open that goes around the hooks).
 *
 * It sits near the bottom of the shim, so hooks.c, decide.c, faults.c,
 * log.c, control.c and track.c all call down into it and never back up
 * (tests/layering.sh checks the objects).  Under it is only vtime.c: the
 * clock read below goes through the clock_gettime vtime.c defines, on
 * purpose, so the shim's own schedules run in the program's virtual time
 * under --speed; vtime.c calls nothing back.
 */
#include "shim.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

uint32_t inj__hot;
/* The page the counters go to when FDSOAK_INJECT_STATS names no file. */
static inj_stats_page_t g_private_page;
inj_stats_page_t *inj__page = &g_private_page;

/* An X-macro over hooks.def: kept as written. */
/* clang-format off */
#define HOOK(name, ret, params, args, hot, kind, fallback) ret (*real_##name) params;
#include "hooks.def"
#undef HOOK
/* clang-format on */

void inj__resolve_real(void) {
  /* Idempotent; a hook that runs before our constructor (another library's
     constructor opening a file) calls it lazily. */
/* An X-macro over hooks.def: kept as written. */
/* clang-format off */
#define HOOK(name, ret, params, args, hot, kind, fallback) \
  if (!real_##name) *(void **)&real_##name = dlsym(RTLD_NEXT, #name);
#include "hooks.def"
#undef HOOK
  /* clang-format on */
}

void inj__page_init_private(void) {
  g_private_page.magic = INJ_STATS_MAGIC;
  g_private_page.version = INJ_STATS_VERSION;
  g_private_page.size = sizeof g_private_page;
  g_private_page.pid = (uint32_t)getpid();
  inj__page = &g_private_page;
}

uint64_t inj__mono_ns(int clk) {
  struct timespec ts;
  clock_gettime((clockid_t)clk, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void inj__say(const char *msg) {
  size_t n = strlen(msg);
  while (n) {
    ssize_t w = write(2, msg, n);
    if (w <= 0)
      break;
    msg += w;
    n -= (size_t)w;
  }
}

int inj__strlcpy(char *dst, const char *src, size_t cap) {
  size_t n = strlen(src);
  int rc = 0;

  if (cap == 0)
    return -ENAMETOOLONG;
  if (n >= cap) {
    n = cap - 1;
    rc = -ENAMETOOLONG;
  }
  memcpy(dst, src, n);
  dst[n] = '\0';
  return rc;
}

/* Files the shim opens itself go around the hooks. */
int inj__raw_open(const char *path, int flags, unsigned mode) {
  return (int)syscall(SYS_openat, AT_FDCWD, path, flags, mode);
}
