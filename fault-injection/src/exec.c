/*
 * exec.c - `fdsoak watch --engine auto` through exec: the shim hands a
 * static or Go program over to fdsoak's seccomp supervisor.
 *
 * LD_PRELOAD reaches nothing in a static or Go program.  So when fdsoak
 * started the tree under the shim and listens for hand-overs (FDSOAK_SUP,
 * inj_sec.h), every exec of the shim looks at the file about to run (the
 * same ELF test as fdsoak's own, sec.c).  For a static or Go program it
 * installs the supervisor's filter with a new listener, sends the listener
 * to fdsoak over the unix socket FDSOAK_SUP names (close-on-exec; both the
 * socket and its own copy of the listener are closed before the exec), and
 * execs with FDSOAK_SUPERVISED=1 added to the environment.  The filter is
 * inherited: the supervisor serves the program and all it starts.
 *
 * No call is handled twice.  The shim stands down for the system-call ops
 * (connect, bind, socket, open) in a process that is under the filter: one
 * that finds FDSOAK_SUPERVISED with "Seccomp: 2" in /proc/self/status when
 * it loads (a dynamic program started below a supervised one, LD_PRELOAD
 * still set), and one whose exec failed after the filter went in (the
 * filter cannot be removed; from then on the supervisor serves the
 * process).  getaddrinfo, a libc function the supervisor never sees, stays
 * with the shim.
 *
 * posix_spawn runs the exec inside glibc (clone, then the internal
 * __execve), where no hook reaches; and a filter installed in the parent
 * would stay there.  So the spawn is made of a trampoline: the parent's own
 * executable (/proc/self/exe, a dynamic program that loads the shim again)
 * with FDSOAK_EXEC_VIA naming the real file; the shim's constructor in that
 * child does the hand-over and execs the real file with the caller's argv
 * and environment.  The child keeps its pid, the file actions and
 * attributes are glibc's, and an exec that fails there ends the child with
 * 127, as a shell does.
 *
 * Everything here runs just before an exec, possibly in a vfork child that
 * shares its parent's memory: no allocation, raw system calls for the
 * shim's own files and sockets, and no shim state written unless this is a
 * process of its own (getpid() matches the one the shim knows).
 */
#include "inj_sec.h"
#include "shim.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif

#define VIA "FDSOAK_EXEC_VIA"
#define VIA_UNSET "FDSOAK_EXEC_UNSET_PRELOAD"

extern char **environ;

uint32_t inj__sup_down;
static char g_sock[108]; /* the abstract name, without its leading NUL */
static uint32_t g_opmask;
static int g_have; /* FDSOAK_SUP was set and valid */
static pid_t g_pid;

static int (*real_execve)(const char *, char *const[], char *const[]);
static int (*real_execveat)(int, const char *, char *const[], char *const[], int);
static int (*real_fexecve)(int, char *const[], char *const[]);
static int (*real_execv)(const char *, char *const[]);
static int (*real_execvp)(const char *, char *const[]);
static int (*real_execvpe)(const char *, char *const[], char *const[]);
static int (*real_posix_spawn)(pid_t *, const char *, const posix_spawn_file_actions_t *,
                               const posix_spawnattr_t *, char *const[], char *const[]);
static int (*real_posix_spawnp)(pid_t *, const char *, const posix_spawn_file_actions_t *,
                                const posix_spawnattr_t *, char *const[], char *const[]);

static void resolve(void) {
  if (real_execve != NULL)
    return;
  *(void **)&real_execveat = dlsym(RTLD_NEXT, "execveat");
  *(void **)&real_fexecve = dlsym(RTLD_NEXT, "fexecve");
  *(void **)&real_execv = dlsym(RTLD_NEXT, "execv");
  *(void **)&real_execvp = dlsym(RTLD_NEXT, "execvp");
  *(void **)&real_execvpe = dlsym(RTLD_NEXT, "execvpe");
  *(void **)&real_posix_spawn = dlsym(RTLD_NEXT, "posix_spawn");
  *(void **)&real_posix_spawnp = dlsym(RTLD_NEXT, "posix_spawnp");
  *(void **)&real_execve = dlsym(RTLD_NEXT, "execve");
}

/* Is this process under a filter (any: the marker says it is ours)? */
static int under_filter(void) {
  char buf[2048];
  int fd = inj__raw_open("/proc/self/status", O_RDONLY | O_CLOEXEC, 0);
  ssize_t n;
  const char *p;

  if (fd < 0)
    return 0;
  n = syscall(SYS_read, fd, buf, sizeof buf - 1);
  syscall(SYS_close, fd);
  if (n <= 0)
    return 0;
  buf[n] = '\0';
  return (p = strstr(buf, "\nSeccomp:")) != NULL && strtol(p + 9, NULL, 10) == 2;
}

/* The ops the supervisor carries out in a process under its filter. */
#define SYSCALL_OPS                                                                                \
  (HOT_OP(INJ_OP_CONNECT) | HOT_OP(INJ_OP_BIND) | HOT_OP(INJ_OP_SOCKET) | HOT_OP(INJ_OP_OPEN))

/* The hand-over of a file: is it a program the shim cannot reach? */
static int wants_sup_fd(int fd) {
  int k = inj_sec_elf_kind(fd);

  return k > 0 && (k & (INJ_ELF_STATIC | INJ_ELF_GO)) != 0;
}

static int wants_sup_at(int dirfd, const char *path) {
  int fd, w;

  if (path == NULL || (fd = (int)syscall(SYS_openat, dirfd, path, O_RDONLY | O_CLOEXEC)) < 0)
    return 0;
  w = wants_sup_fd(fd);
  syscall(SYS_close, fd);
  return w;
}

static int active(void) {
  resolve();
  return g_have && !(__atomic_load_n(&inj__sup_down, __ATOMIC_RELAXED) & SYSCALL_OPS);
}

/* Connect to fdsoak, wait for its go-ahead (it has room for one more
 * listener), install the filter, send the listener.  0 with the filter in
 * place, or a negative errno with nothing changed. */
static int handoff(void) {
  struct sockaddr_un sa;
  struct sock_filter f[96];
  struct sock_fprog prog;
  inj_sec_hello_t h = {INJ_SEC_HELLO, 0, 0, 1};
  char ok = 0;
  struct pollfd p;
  struct timespec five = {5, 0};
  size_t nl = strlen(g_sock);
  long lfd = -1;
  int s, n, killable, nnp, rc = -EPROTO;

  if ((n = inj_sec_build(g_opmask, f, (int)(sizeof f / sizeof *f))) < 0)
    return n;
  prog.len = (unsigned short)n;
  prog.filter = f;
  if ((s = (int)syscall(SYS_socket, AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0)) < 0)
    return -errno;
  memset(&sa, 0, sizeof sa);
  sa.sun_family = AF_UNIX;
  memcpy(sa.sun_path + 1, g_sock, nl);
  if (syscall(SYS_connect, s, &sa, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + nl)) !=
      0) {
    rc = -errno;
    goto out;
  }
  p = (struct pollfd){s, POLLIN, 0};
  /* ppoll: arm64 has no poll system call. */
  if (syscall(SYS_ppoll, &p, 1, &five, NULL, (size_t)8) != 1 || syscall(SYS_read, s, &ok, 1) != 1 ||
      ok != 'y')
    goto out; /* fdsoak is gone, or has no room: the program runs without */
  if ((lfd = inj_sec_install(&prog, &killable, &nnp)) < 0) {
    rc = (int)lfd;
    goto out;
  }
  h.killable = killable;
  h.nnp = nnp;
  h.pid = (int32_t)syscall(SYS_getpid);
  /* Sent or not, the filter is in: a call it notifies with nobody
   * listening fails with ENOSYS, which is rare enough (fdsoak died between
   * its go-ahead and here) to accept. */
  (void)inj_sec_send(s, &h, sizeof h, (int)lfd);
  syscall(SYS_close, (int)lfd);
  rc = 0;
out:
  syscall(SYS_close, s);
  return rc;
}

/* How many entries envp has (the array for marked() is this plus 2). */
static size_t env_count(char *const envp[]) {
  size_t n = 0;

  while (envp != NULL && envp[n] != NULL)
    n++;
  return n;
}

/* envp with FDSOAK_SUPERVISED=1 (once) into out, which has room for
 * env_count(envp) + 2 entries (a variable-length array of the caller's, so
 * a plain exec reserves nothing on a stack that may be small). */
static char *const *marked(char *const envp[], char **out) {
  static char mark[] = INJ_SEC_MARK "=1";
  size_t i, n = 0;

  for (i = 0; envp != NULL && envp[i] != NULL; i++)
    if (strncmp(envp[i], INJ_SEC_MARK "=", sizeof INJ_SEC_MARK) != 0)
      out[n++] = envp[i];
  out[n++] = mark;
  out[n] = NULL;
  return out;
}

/* After a hand-over, exec: the filter is in whatever happens, so a failed
 * exec leaves the process to the supervisor (in a process of our own; a
 * vfork child shares the parent's memory and writes nothing). */
static int after_exec(int rc) {
  int e = errno;

  if ((pid_t)syscall(SYS_getpid) == g_pid)
    __atomic_fetch_or(&inj__sup_down, SYSCALL_OPS, __ATOMIC_RELAXED);
  errno = e;
  return rc;
}

EXPORT int execve(const char *path, char *const argv[], char *const envp[]) {
  if (!active() || !wants_sup_at(AT_FDCWD, path) || handoff() != 0)
    return real_execve(path, argv, envp);
  {
    char *env[env_count(envp) + 2];

    return after_exec(real_execve(path, argv, marked(envp, env)));
  }
}

EXPORT int execveat(int dirfd, const char *path, char *const argv[], char *const envp[],
                    int flags) {
  int w;

  resolve();
  if (!active())
    return real_execveat(dirfd, path, argv, envp, flags);
  w = (flags & AT_EMPTY_PATH) && path[0] == '\0' ? wants_sup_fd(dirfd) : wants_sup_at(dirfd, path);
  if (!w || handoff() != 0)
    return real_execveat(dirfd, path, argv, envp, flags);
  {
    char *env[env_count(envp) + 2];

    return after_exec(real_execveat(dirfd, path, argv, marked(envp, env), flags));
  }
}

EXPORT int fexecve(int fd, char *const argv[], char *const envp[]) {
  char proc[32];
  int w;

  resolve();
  if (!active())
    return real_fexecve(fd, argv, envp);
  /* An O_PATH descriptor cannot be read: its file through /proc. */
  w = wants_sup_fd(fd);
  if (!w) {
    size_t k = sizeof "/proc/self/fd/" - 1;
    int v = fd, d = 1;

    memcpy(proc, "/proc/self/fd/", k);
    while (v / d >= 10)
      d *= 10;
    for (; d > 0 && k < sizeof proc - 1; d /= 10)
      proc[k++] = (char)('0' + (v / d) % 10);
    proc[k] = '\0';
    w = fd >= 0 && wants_sup_at(AT_FDCWD, proc);
  }
  if (!w || handoff() != 0)
    return real_fexecve(fd, argv, envp);
  {
    char *env[env_count(envp) + 2];

    return after_exec(real_fexecve(fd, argv, marked(envp, env)));
  }
}

/* file as execvp finds it, into buf: 0, or -1 (not found: the real call
 * says so). */
static int search(const char *file, char *buf, size_t len) {
  const char *p = getenv("PATH");

  if (p == NULL)
    p = "/bin:/usr/bin";
  while (*p != '\0') {
    const char *c = strchr(p, ':');
    size_t n = c != NULL ? (size_t)(c - p) : strlen(p), fl = strlen(file);

    if (n + fl + 2 <= len) {
      memcpy(buf, n > 0 ? p : ".", n > 0 ? n : 1);
      n = n > 0 ? n : 1;
      buf[n] = '/';
      memcpy(buf + n + 1, file, fl + 1);
      if (syscall(SYS_faccessat, AT_FDCWD, buf, X_OK) == 0)
        return 0;
    }
    p += (c != NULL ? (size_t)(c - p) + 1 : strlen(p));
  }
  return -1;
}

EXPORT int execvpe(const char *file, char *const argv[], char *const envp[]) {
  char path[4096];

  resolve();
  if (!active() || file[0] == '\0')
    return real_execvpe(file, argv, envp);
  if (strchr(file, '/') != NULL)
    return execve(file, argv, envp);
  /* Only a program found and handed over takes this path; anything else
   * (a script, ENOEXEC's fallback to sh, not found) is glibc's. */
  if (search(file, path, sizeof path) == 0 && wants_sup_at(AT_FDCWD, path))
    return execve(path, argv, envp);
  return real_execvpe(file, argv, envp);
}

EXPORT int execv(const char *path, char *const argv[]) {
  resolve();
  return active() ? execve(path, argv, environ) : real_execv(path, argv);
}

EXPORT int execvp(const char *file, char *const argv[]) {
  resolve();
  return active() ? execvpe(file, argv, environ) : real_execvp(file, argv);
}

/* The execl family: the arguments counted first, then gathered into an
 * argv of exactly that size on the stack (as glibc's own execl does: a
 * thread with a small stack can still exec). */
static size_t arg_count(const char *first, va_list *ap) {
  va_list cp;
  size_t n = 0;

  va_copy(cp, *ap);
  for (const char *a = first; a != NULL; a = va_arg(cp, const char *))
    n++;
  va_end(cp);
  return n;
}

static void arg_gather(char **args, const char *first, va_list *ap) {
  size_t n = 0;

  for (const char *a = first; a != NULL; a = va_arg(*ap, const char *))
    args[n++] = (char *)a;
  args[n] = NULL;
}

EXPORT int execl(const char *path, const char *arg, ...) {
  va_list ap;

  va_start(ap, arg);
  char *args[arg_count(arg, &ap) + 1];
  arg_gather(args, arg, &ap);
  va_end(ap);
  resolve();
  return execve(path, args, environ);
}

EXPORT int execlp(const char *file, const char *arg, ...) {
  va_list ap;

  va_start(ap, arg);
  char *args[arg_count(arg, &ap) + 1];
  arg_gather(args, arg, &ap);
  va_end(ap);
  resolve();
  return active() ? execvpe(file, args, environ) : real_execvp(file, args);
}

EXPORT int execle(const char *path, const char *arg, ...) {
  char *const *envp;
  va_list ap;

  va_start(ap, arg);
  char *args[arg_count(arg, &ap) + 1];
  arg_gather(args, arg, &ap);
  envp = va_arg(ap, char *const *);
  va_end(ap);
  resolve();
  return execve(path, args, envp);
}

/* ---- posix_spawn: the trampoline --------------------------------------- */

static int spawn_via(int (*real)(pid_t *, const char *, const posix_spawn_file_actions_t *,
                                 const posix_spawnattr_t *, char *const[], char *const[]),
                     pid_t *pid, const char *file, const char *path,
                     const posix_spawn_file_actions_t *fa, const posix_spawnattr_t *at,
                     char *const argv[], char *const envp[]) {
  static char unset[] = VIA_UNSET "=1";
  char via[4200], pre[4200], sup[160], cwd[4096];
  char *env[env_count(envp) + 5];
  const char *lp = getenv("LD_PRELOAD");
  size_t i, n = 0, k;
  int has_pre = 0, has_sup = 0;

  if (lp == NULL || lp[0] == '\0' || envp == NULL)
    return real(pid, file, fa, at, argv, envp);
  /* The trampoline runs the file from wherever a file action left it: an
   * absolute name. */
  k = sizeof VIA;
  memcpy(via, VIA "=", k);
  if (path[0] != '/') {
    if (syscall(SYS_getcwd, cwd, sizeof cwd) <= 0 ||
        strlen(cwd) + strlen(path) + k + 2 > sizeof via)
      return real(pid, file, fa, at, argv, envp);
    memcpy(via + k, cwd, strlen(cwd));
    k += strlen(cwd);
    via[k++] = '/';
  }
  if (strlen(path) + k + 1 > sizeof via || strlen(lp) + sizeof "LD_PRELOAD=" > sizeof pre)
    return real(pid, file, fa, at, argv, envp);
  memcpy(via + k, path, strlen(path) + 1);
  for (i = 0; envp[i] != NULL; i++) {
    if (strncmp(envp[i], VIA, sizeof VIA - 1) == 0)
      continue;
    has_pre |= strncmp(envp[i], "LD_PRELOAD=", 11) == 0;
    has_sup |= strncmp(envp[i], INJ_SEC_ENV "=", sizeof INJ_SEC_ENV) == 0;
    env[n++] = envp[i];
  }
  env[n++] = via;
  if (!has_pre) {
    /* The caller gave the child an environment of its own: the
     * trampoline needs the shim for a moment, and takes it out again. */
    memcpy(pre, "LD_PRELOAD=", 11);
    memcpy(pre + 11, lp, strlen(lp) + 1);
    env[n++] = pre;
    env[n++] = unset;
  }
  if (!has_sup) {
    size_t sl = strlen(g_sock);
    char hex[9];
    int d;

    for (d = 0; d < 8; d++)
      hex[d] = "0123456789abcdef"[(g_opmask >> (28 - 4 * d)) & 15];
    hex[8] = '\0';
    memcpy(sup, INJ_SEC_ENV "=", sizeof INJ_SEC_ENV);
    memcpy(sup + sizeof INJ_SEC_ENV, g_sock, sl);
    sup[sizeof INJ_SEC_ENV + sl] = ':';
    memcpy(sup + sizeof INJ_SEC_ENV + sl + 1, hex, 9);
    env[n++] = sup;
  }
  env[n] = NULL;
  return real_posix_spawn(pid, "/proc/self/exe", fa, at, argv, env);
}

EXPORT int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
                       const posix_spawnattr_t *at, char *const argv[], char *const envp[]) {
  resolve();
  if (!active() || !wants_sup_at(AT_FDCWD, path))
    return real_posix_spawn(pid, path, fa, at, argv, envp);
  return spawn_via(real_posix_spawn, pid, path, path, fa, at, argv, envp);
}

EXPORT int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
                        const posix_spawnattr_t *at, char *const argv[], char *const envp[]) {
  char path[4096];

  resolve();
  if (!active())
    return real_posix_spawnp(pid, file, fa, at, argv, envp);
  if (strchr(file, '/') != NULL) {
    if (!wants_sup_at(AT_FDCWD, file))
      return real_posix_spawnp(pid, file, fa, at, argv, envp);
    return spawn_via(real_posix_spawnp, pid, file, file, fa, at, argv, envp);
  }
  if (search(file, path, sizeof path) != 0 || !wants_sup_at(AT_FDCWD, path))
    return real_posix_spawnp(pid, file, fa, at, argv, envp);
  return spawn_via(real_posix_spawnp, pid, file, path, fa, at, argv, envp);
}

/* ---- at load ------------------------------------------------------------ */

void inj__exec_atfork_child(void) { g_pid = (pid_t)syscall(SYS_getpid); }

void inj__exec_init(char **argv) {
  const char *sup = getenv(INJ_SEC_ENV), *via = getenv(VIA), *colon;
  char path[4200];

  /* dlsym now, not at the first exec: that exec may come in the child of
   * a multithreaded fork (CPython's _posixsubprocess), where dlsym, not
   * async-signal-safe, could wait on a loader lock another thread held at
   * the fork. */
  g_pid = (pid_t)syscall(SYS_getpid);
  resolve();
  if (sup != NULL && (colon = strrchr(sup, ':')) != NULL && colon > sup &&
      (size_t)(colon - sup) < sizeof g_sock) {
    memcpy(g_sock, sup, (size_t)(colon - sup));
    g_sock[colon - sup] = '\0';
    g_opmask = (uint32_t)strtoul(colon + 1, NULL, 16);
    g_have = 1;
  }
  if (getenv(INJ_SEC_MARK) != NULL && under_filter())
    inj__sup_down = SYSCALL_OPS;
  if (via == NULL)
    return;
  /* The trampoline of a posix_spawn (above): this process exists only to
   * hand the real file over and exec it. */
  if (inj__strlcpy(path, via, sizeof path) != 0 || argv == NULL) {
    inj__say("fdsoak-inject: " VIA " is too long\n");
    _exit(127);
  }
  unsetenv(VIA);
  if (getenv(VIA_UNSET) != NULL) {
    unsetenv(VIA_UNSET);
    unsetenv("LD_PRELOAD");
  }
  execve(path, argv, environ);
  inj__say("fdsoak-inject: the spawned program could not be run\n");
  _exit(127);
}
