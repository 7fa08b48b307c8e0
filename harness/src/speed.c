/* speed.c - what `fdsoak watch --speed N` adds to starting a target.
 *
 * The mechanism, chosen on evidence (harness/tests/speed_probe.c): Debian's
 * libfaketime, preloaded after the shim with FAKETIME="+0 xN", scales the
 * clocks and most timed waits of the whole process tree (a child shares
 * the root's time base through libfaketime's shared memory); the shim
 * scales what it lacks when FDSOAK_SPEED is set (fault-injection/src/
 * vtime.c).  Both go into the child's environment only: fdsoak's own
 * clock, --timeout, --stall and sampling stay in real time.
 */
#include "speed.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

int fsk__speed_parse(const char *v, double *out, char *err, size_t len) {
  char *end;
  double x;

  if (v == NULL || v[0] == '\0') {
    snprintf(err, len, "--speed needs a factor, e.g. --speed 1000");
    return -EINVAL;
  }
  if (strcmp(v, "max") == 0) {
    snprintf(err, len,
             "--speed max (skipping idle time) is not implemented: give a factor such as 1000 "
             "(README, \"Virtual time\", says why)");
    return -EINVAL;
  }
  errno = 0;
  x = strtod(v, &end);
  if (errno != 0 || end == v || *end != '\0' || !isfinite(x)) {
    snprintf(err, len, "--speed: '%s' is not a number (a factor such as 1000)", v);
    return -EINVAL;
  }
  if (!(x > 1.0) || x > FSK_SPEED_MAX) {
    snprintf(err, len, "--speed: %s is out of range: the factor must be > 1 and <= %g", v,
             FSK_SPEED_MAX);
    return -EINVAL;
  }
  *out = x;
  return 0;
}

int fsk__speed_faketime_path(char *buf, size_t len) {
  static const char *const tries[] = {"/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1",
                                      "/usr/lib/aarch64-linux-gnu/faketime/libfaketimeMT.so.1",
                                      "/usr/lib/faketime/libfaketimeMT.so.1",
                                      "/usr/local/lib/faketime/libfaketimeMT.so.1"};
  const char *env = getenv("FDSOAK_FAKETIME_LIB");
  size_t i;

  if (env != NULL && env[0] != '\0') {
    snprintf(buf, len, "%s", env);
    return access(buf, R_OK) == 0 ? 0 : -ENOENT;
  }
  for (i = 0; i < sizeof tries / sizeof *tries; i++)
    if (access(tries[i], R_OK) == 0) {
      snprintf(buf, len, "%s", tries[i]);
      return 0;
    }
  snprintf(buf, len, "%s", tries[0]);
  return -ENOENT;
}

int fsk__speed_self_faked(void) {
  const char *pre = getenv("LD_PRELOAD");

  return pre != NULL && strstr(pre, "faketime") != NULL && getenv("FAKETIME") != NULL;
}

/* cmd as posix_spawnp would find it. */
static int which(const char *cmd, char *buf, size_t len) {
  const char *path = getenv("PATH"), *p;

  if (strchr(cmd, '/') != NULL) {
    snprintf(buf, len, "%s", cmd);
    return access(buf, X_OK) == 0 ? 0 : -ENOENT;
  }
  for (p = path != NULL ? path : "/usr/bin:/bin"; *p;) {
    const char *e = strchr(p, ':');
    size_t n = e != NULL ? (size_t)(e - p) : strlen(p);

    snprintf(buf, len, "%.*s/%s", (int)n, n ? p : ".", cmd);
    if (access(buf, X_OK) == 0)
      return 0;
    p += n + (e != NULL);
  }
  return -ENOENT;
}

/* 1: a static ELF, 0: dynamic or not ELF, -errno: unreadable.  A script
 * is judged by its interpreter (one level). */
static int elf_static(const char *file, int depth) {
  unsigned char head[256];
  Elf64_Ehdr eh;
  ssize_t n;
  int fd = open(file, O_RDONLY | O_CLOEXEC), rc = 0, i;

  if (fd < 0)
    return -errno;
  n = pread(fd, head, sizeof head, 0);
  if (n >= 4 && head[0] == '#' && head[1] == '!' && depth == 0) {
    char interp[PATH_MAX];
    size_t k = 0;
    const unsigned char *c = head + 2;

    while (c < head + n && (*c == ' ' || *c == '\t'))
      c++;
    while (c < head + n && *c != ' ' && *c != '\t' && *c != '\n' && k + 1 < sizeof interp)
      interp[k++] = (char)*c++;
    interp[k] = '\0';
    close(fd);
    return k > 0 ? elf_static(interp, 1) : 0;
  }
  if (n < (ssize_t)sizeof eh || memcmp(head, ELFMAG, SELFMAG) != 0 || head[EI_CLASS] != ELFCLASS64)
    goto out; /* not a 64-bit ELF: nothing to say */
  memcpy(&eh, head, sizeof eh);
  rc = 1;
  for (i = 0; i < eh.e_phnum; i++) {
    Elf64_Phdr ph;

    if (pread(fd, &ph, sizeof ph, (off_t)(eh.e_phoff + (Elf64_Off)i * eh.e_phentsize)) !=
        (ssize_t)sizeof ph)
      break;
    if (ph.p_type == PT_INTERP) {
      rc = 0;
      break;
    }
  }
out:
  close(fd);
  return rc;
}

int fsk__speed_static(const char *cmd, char *why, size_t len) {
  char file[PATH_MAX];

  if (which(cmd, file, sizeof file) != 0 || elf_static(file, 0) != 1)
    return 0; /* not found: the start itself says so */
  snprintf(why, len,
           "--speed: '%s' is statically linked (no ELF interpreter): the preloaded clock "
           "(libfaketime) never loads into it, so its time cannot be sped up; watch it without "
           "--speed",
           file);
  return 1;
}

static int drop(const char *e) {
  static const char *const names[] = {"LD_PRELOAD=", "FAKETIME", "FDSOAK_SPEED="};
  size_t i;

  for (i = 0; i < sizeof names / sizeof *names; i++)
    if (strncmp(e, names[i], strlen(names[i])) == 0)
      return 1;
  return 0;
}

char **fsk__speed_envp(double speed, const char *faketime_lib) {
  const char *pre = getenv("LD_PRELOAD");
  size_t n = 0, k = 0, i;
  char **env;
  char *s;

  while (environ[n] != NULL)
    n++;
  if ((env = calloc(n + 5, sizeof *env)) == NULL)
    return NULL;
  for (i = 0; i < n; i++)
    if (!drop(environ[i]) && (env[k] = strdup(environ[i])) != NULL)
      k++;
  /* The shim first, so its own calls to clock_gettime, nanosleep and poll
   * resolve to libfaketime's: its faults' timing follows the target's
   * clock.  What the user preloaded stays after both. */
  if (pre != NULL && pre[0] != '\0') {
    const char *sep = strchr(pre, ':');
    const char *rest = sep != NULL ? sep + 1 : "";

    if (asprintf(&s, "LD_PRELOAD=%.*s:%s%s%s",
                 (int)(sep != NULL ? (size_t)(sep - pre) : strlen(pre)), pre, faketime_lib,
                 rest[0] ? ":" : "", rest) < 0)
      goto fail;
  } else if (asprintf(&s, "LD_PRELOAD=%s", faketime_lib) < 0) {
    goto fail;
  }
  env[k++] = s;
  /* "+0": no offset, only the rate; DONT_RESET: an exec'd child keeps the
   * tree's time base instead of starting its own. */
  if (asprintf(&s, "FAKETIME=+0 x%.9g", speed) < 0)
    goto fail;
  env[k++] = s;
  if ((env[k++] = strdup("FAKETIME_DONT_RESET=1")) == NULL)
    goto fail;
  if (asprintf(&s, "FDSOAK_SPEED=%.9g", speed) < 0)
    goto fail;
  env[k++] = s;
  env[k] = NULL;
  return env;
fail:
  fsk__speed_envp_free(env);
  return NULL;
}

void fsk__speed_envp_free(char **envp) {
  size_t i;

  for (i = 0; envp != NULL && envp[i] != NULL; i++)
    free(envp[i]);
  free(envp);
}

void fsk__speed_cleanup(pid_t root) {
  char path[64];

  snprintf(path, sizeof path, "/dev/shm/faketime_shm_%d", (int)root);
  unlink(path);
  snprintf(path, sizeof path, "/dev/shm/sem.faketime_sem_%d", (int)root);
  unlink(path);
}
