/*
 * hooks.c — the exported wrappers (generated from hooks.def), the re-entry
 * guard, each hook's slow path, and the constructor.
 *
 * Hot-path contract (why the code looks the way it does):
 *   - A hooked call whose operation has no rule costs one relaxed load of
 *     inj__hot and one branch, then a call through a pointer resolved once.
 *   - Nothing on the hot path allocates, locks or opens a file descriptor.
 *
 * The re-entry guard.  The shim's own libc calls (backtrace, snprintf, ...)
 * could re-enter the hooks; a thread-local guard sends those straight to the
 * real functions.  It used to be held across the whole hooked call,
 * including a blocking connect: a program that left that connect by
 * siglongjmp from a signal handler (wget's alarm timeout) kept the guard set
 * for good, and every later call on the thread went through undecided — the
 * shim silently stopped injecting.  Now:
 *   1. The guard covers only the shim's own work (deciding, logging, the
 *      control file, fd records), never the real call or a fault, which
 *      may block for as long as the real network event would.
 *   2. It records the frame address of the hook that took it.  The stack
 *      grows down, so a genuine re-entry (from inside the shim's work, or a
 *      signal handler running on top of it) sits deeper, below that
 *      address; a call at or above it means the frame that took the guard
 *      is gone (left by longjmp or unwinding), and the guard is reclaimed.
 *   3. A call that is sent through undecided while its op has a rule is
 *      counted in the page's `undecided`, so it can never go unnoticed.
 */
#include "shim.h"

#include <errno.h>
#include <execinfo.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* The result of a real fd-creating call: one that failed because a table
   was full is the program's own evidence of fd exhaustion, counted on the
   page (an injected failure never reaches here).  errno is kept. */
static int fd_result(int r) {
  if (INJ_UNLIKELY(r < 0)) {
    int e = errno;

    if (e == EMFILE || e == ENFILE) {
      __atomic_fetch_add(e == EMFILE ? &inj__page->real_emfile : &inj__page->real_enfile, 1,
                         __ATOMIC_RELAXED);
      __atomic_store_n(&inj__page->exhausted_pid, (uint32_t)getpid(), __ATOMIC_RELAXED);
    }
    errno = e;
  }
  return r;
}

/* hooks.def's fallback for the open family while dlsym has not answered yet
   (a hook called from inside dlsym itself). */
static int sys_openat(int dirfd, const char *path, int flags, mode_t mode) {
  return (int)syscall(SYS_openat, dirfd, path, flags, mode);
}

/* ---- the re-entry guard (see the top of the file) ------------------------- */

static __thread uintptr_t t_guard __attribute__((tls_model("initial-exec")));

/* Take the guard for the calling hook's frame; 0 when the thread is
   genuinely inside the shim already (the call must pass undecided). */
static inline int guard_take(uintptr_t here, uint32_t opbit) {
  uintptr_t g = t_guard;
  if (INJ_UNLIKELY(g != 0) && here < g) {
    if (__atomic_load_n(&inj__hot, __ATOMIC_RELAXED) & opbit)
      inj__add64(&inj__page->undecided, 1);
    return 0;
  }
  t_guard = here;
  return 1;
}
#define GUARD_TAKE(opbit) guard_take((uintptr_t)__builtin_frame_address(0), (opbit))
#define GUARD_DROP() (t_guard = 0)

/* Decide a call of an op whose only actions are errno/eai/pass (and the
   connect faults, which the caller carries out).  Returns the firing rule or
   NULL; runs under the guard. */
static const inj_rule_t *decide_call(const inj__call_t *c) {
  static __thread inj_rule_t fired;
  const inj_spec_t *t;
  const inj_rule_t *r = NULL;
  int fire, mr, ctl = (__atomic_load_n(&inj__hot, __ATOMIC_RELAXED) & HOT_CTRL) != 0;
  unsigned idx = 0;
  uint64_t seq = 0;

  if (ctl) {
    inj__ctl_poll();
    /* Pin the table: counted in, then checked still active (a swap in
     * between makes it the next one to be rewritten: count out, again). */
    for (;;) {
      idx = __atomic_load_n(&inj__active, __ATOMIC_SEQ_CST);
      __atomic_add_fetch(&inj__readers[idx], 1, __ATOMIC_SEQ_CST);
      if (__atomic_load_n(&inj__active, __ATOMIC_SEQ_CST) == idx)
        break;
      __atomic_sub_fetch(&inj__readers[idx], 1, __ATOMIC_SEQ_CST);
    }
    t = &inj__tables[idx];
  } else {
    t = inj__active_table();
  }
  /* Under the supervisor's filter its decision is the one (exec.c). */
  if (t->opmask & HOT_OP(c->op) & ~__atomic_load_n(&inj__sup_down, __ATOMIC_RELAXED)) {
    fire = inj__decide(t, c, &mr, &seq);
    if (mr >= 0)
      inj__log_decision(c, &t->rules[mr], fire >= 0, mr, seq);
    if (fire >= 0) {
      /* The caller acts on the rule after the table is let go. */
      fired = t->rules[fire];
      r = &fired;
    }
  }
  if (ctl)
    __atomic_sub_fetch(&inj__readers[idx], 1, __ATOMIC_RELEASE);
  return r;
}

/* ---- slow paths ------------------------------------------------------------ */

static int slow_connect(int fd, const struct sockaddr *sa, socklen_t len) {
  uint32_t hot = __atomic_load_n(&inj__hot, __ATOMIC_RELAXED);
  const inj_rule_t *r;
  inj_rule_t rule;
  inj__call_t c = {.op = INJ_OP_CONNECT, .sa = sa, .salen = len};

  if (hot & HOT_PENDING)
    inj__pending_clear(fd); /* a new connect: the fd number was reused */
  if (hot & HOT_REDIRECT)
    inj__redirect_clear(fd);
  if (!GUARD_TAKE(HOT_OP(INJ_OP_CONNECT)))
    return real_connect(fd, sa, len);
  r = decide_call(&c);
  if (r)
    rule = *r; /* a control-file swap may reuse the table meanwhile */
  GUARD_DROP();
  if (!r)
    return real_connect(fd, sa, len);
  if (rule.action == INJ_DO_ERRNO) {
    errno = rule.code;
    return -1;
  }
  return inj__fault_connect(&rule, fd, sa, len);
}

static int slow_bind(int fd, const struct sockaddr *sa, socklen_t len) {
  inj__call_t c = {.op = INJ_OP_BIND, .sa = sa, .salen = len};
  const inj_rule_t *r;
  int code = 0;

  if (!GUARD_TAKE(HOT_OP(INJ_OP_BIND)))
    return real_bind(fd, sa, len);
  r = decide_call(&c);
  if (r)
    code = r->code;
  GUARD_DROP();
  if (r) {
    errno = code;
    return -1;
  }
  return real_bind(fd, sa, len);
}

__attribute__((noinline)) static int slow_socket(int family, int type, int proto) {
  inj__call_t c = {.op = INJ_OP_SOCKET, .family = family, .type = type};
  const inj_rule_t *r;
  int code = 0, fd, e;

  if (!GUARD_TAKE(HOT_OP(INJ_OP_SOCKET)))
    return fd_result(real_socket(family, type, proto));
  r = decide_call(&c);
  if (r)
    code = r->code;
  GUARD_DROP();
  if (r) {
    errno = code;
    return -1;
  }
  fd = fd_result(real_socket(family, type, proto));
  e = errno;
  if (__atomic_load_n(&inj__hot, __ATOMIC_RELAXED) & HOT_TRACK && GUARD_TAKE(0)) {
    inj__track_fd(fd, INJ_OP_SOCKET);
    GUARD_DROP();
  }
  errno = e;
  return fd;
}

static int slow_getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
                            struct addrinfo **res) {
  inj__call_t c = {.op = INJ_OP_GETADDRINFO, .str = node};
  const inj_rule_t *r;
  int code = 0, action = 0;
  uint64_t delay = 0;

  /* AI_NUMERICHOST: the program asked for no lookup, and glibc sends no
     query; no resolver event can touch it (ssh asks this way first). */
  if ((hints && (hints->ai_flags & AI_NUMERICHOST)) || !GUARD_TAKE(HOT_OP(INJ_OP_GETADDRINFO)))
    return real_getaddrinfo(node, service, hints, res);
  r = decide_call(&c);
  if (r) {
    code = r->code;
    action = r->action;
    delay = r->arg;
  }
  GUARD_DROP();
  if (r && action == INJ_DO_EAI) {
    /* eai(E,T): the resolver that never answers.  glibc waits out its
       timeout in poll() and resumes it after a signal; so does this, outside
       the guard (a longjmp out of it leaves the shim working). */
    if (delay) {
      struct timespec ts = {(time_t)(delay / 1000000000u), (long)(delay % 1000000000u)};
      int e = errno;
      while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
      errno = e;
    }
    /* glibc's resolver leaves EAGAIN behind its EAI_AGAIN (openssl prints
       it: "connect:errno=11"). */
    if (code == EAI_AGAIN)
      errno = EAGAIN;
    return code;
  }
  if (r) {
    errno = code;
    return EAI_SYSTEM;
  }
  return real_getaddrinfo(node, service, hints, res);
}

/*
 * getsockopt(SO_ERROR) is where an asynchronous connect error is read (libuv,
 * Python, Node, curl all do).  Some faults are built from a different real
 * kernel error (see faults.c); it is reported as the modelled one, once.
 */
static int slow_getsockopt(int fd, int level, int name, void *val, socklen_t *len) {
  int rc = real_getsockopt(fd, level, name, val, len);
  if (rc == 0 && level == SOL_SOCKET && name == SO_ERROR && val && len && *len >= sizeof(int) &&
      *(int *)val != 0) {
    int e = inj__pending_take(fd, *(int *)val);
    if (e)
      *(int *)val = e;
  } else if (rc == 0 && level == SOL_SOCKET && name == SO_ERROR && val && len &&
             *len >= sizeof(int) && *(int *)val == 0) {
    /* Before the model's socket holds its error: the real event's soft
       error, once (faults.c PENDING_SOFT). */
    int e = inj__pending_soft(fd);
    if (e)
      *(int *)val = e;
  }
  if (rc == 0 && level == SOL_SOCKET && name == SO_PEERNAME)
    inj__redirect_name(fd, 1, val, len);
  return rc;
}

/* A reset socket is connected to the shim's private listener: its names
   are reported as the program asked for them (faults.c). */
static int slow_getpeername(int fd, struct sockaddr *sa, socklen_t *len) {
  int rc = real_getpeername(fd, sa, len);
  if (rc == 0)
    inj__redirect_name(fd, 1, sa, len);
  return rc;
}

static int slow_getsockname(int fd, struct sockaddr *sa, socklen_t *len) {
  int rc = real_getsockname(fd, sa, len);
  if (rc == 0)
    inj__redirect_name(fd, 0, sa, len);
  return rc;
}

/* Decide an open; 0 to let it through, else the errno to fail with. */
static int open_pre(uint32_t hot, const char *path) {
  inj__call_t c = {.op = INJ_OP_OPEN, .str = path};
  const inj_rule_t *r;
  int code = 0;

  if (!(hot & (HOT_OP(INJ_OP_OPEN) | HOT_CTRL)) || !GUARD_TAKE(HOT_OP(INJ_OP_OPEN)))
    return 0;
  r = decide_call(&c);
  if (r)
    code = r->code;
  GUARD_DROP();
  return code;
}

__attribute__((noinline)) static int open_post(uint32_t hot, int fd) {
  if (hot & HOT_TRACK && fd >= 0) {
    int e = errno;
    if (GUARD_TAKE(0)) {
      inj__track_fd(fd, INJ_OP_OPEN);
      GUARD_DROP();
    }
    errno = e;
  }
  return fd;
}

__attribute__((noinline)) static int pair_post(int rc, int fds[2], int op) {
  if (rc == 0) {
    int e = errno;
    if (GUARD_TAKE(0)) {
      inj__track_fd(fds[0], op);
      inj__track_fd(fds[1], op);
      GUARD_DROP();
    }
    errno = e;
  }
  return rc;
}

/* ---- the wrappers, generated ------------------------------------------------- */

#define NEEDS_MODE(flags) ((O_CREAT & (flags)) || (__O_TMPFILE & (flags)) == __O_TMPFILE)

/* The one variadic-open prologue: fetch the mode only when the flags say a
   mode was passed (reading an absent vararg is undefined). */
/* The hook bodies are statement macros spliced by HOOK below: reflowing
   them would hide where one statement ends and the next begins. */
/* clang-format off */
#define PROLOGUE_NET
#define PROLOGUE_PAIR
#define PROLOGUE_OPEN const mode_t mode = 0; (void)mode;
#define PROLOGUE_OPENVA                                                        \
  mode_t mode = 0;                                                             \
  if (NEEDS_MODE(flags)) {                                                     \
    va_list ap;                                                                \
    va_start(ap, flags);                                                       \
    mode = va_arg(ap, mode_t);                                                 \
    va_end(ap);                                                                \
  }

#define REAL_CALL(name, args, fallback) (real_##name ? real_##name args : (fallback))

#define BODY_NET(name, args, fallback) return slow_##name args;
#define BODY_OPEN(name, args, fallback)                                        \
  {                                                                            \
    int e_ = open_pre(hot, path);                                              \
    if (e_) {                                                                  \
      errno = e_;                                                              \
      return -1;                                                               \
    }                                                                          \
    return open_post(hot, fd_result(REAL_CALL(name, args, fallback)));         \
  }
#define BODY_OPENVA BODY_OPEN
#define BODY_PAIR(name, args, fallback)                                        \
  return pair_post(fd_result(REAL_CALL(name, args, fallback)), fds,            \
                   __builtin_strcmp(#name, "socketpair") == 0 ? INJ_REC_SOCKETPAIR \
                                                              : INJ_REC_PIPE);

/* Of the NET hooks only socket makes an fd: the others' -1 (or an EAI_
   code) says nothing about the fd table. */
#define FAST_NET(name, args, fallback)                                         \
  return __builtin_strcmp(#name, "socket") == 0 ? fd_result(real_##name args) \
                                                : real_##name args;
#define FAST_OPEN(name, args, fallback) return fd_result(REAL_CALL(name, args, fallback));
#define FAST_OPENVA FAST_OPEN
#define FAST_PAIR FAST_OPEN

#define HOOK(name, ret, params, args, hotbits, kind, fallback)                  \
  EXPORT ret name params {                                                     \
    PROLOGUE_##kind                                                            \
    uint32_t hot;                                                              \
    /* resolve first, load hot after: nothing lives across the cold call, so  \
       the fast path needs no frame (objdump: load, test, jmp *real_) */      \
    if (INJ_UNLIKELY(!real_##name))                                            \
      inj__resolve_real();                                                     \
    hot = __atomic_load_n(&inj__hot, __ATOMIC_RELAXED);                        \
    if (INJ_LIKELY(!(hot & (hotbits))))                                        \
      FAST_##kind(name, args, fallback)                                        \
    BODY_##kind(name, args, fallback)                                          \
  }
#include "hooks.def"
#undef HOOK
/* clang-format on */

/* ---- constructor ---------------------------------------------------------- */

/* A fork taken while another thread was inside the shim must not leave the
   child's state stuck. */
static void atfork_child(void) {
  inj__ctl_atfork_child();
  inj__faults_atfork_child();
  inj__track_atfork_child();
  inj__exec_atfork_child();
  t_guard = 0;
}

static void die_spec(const char *var, const char *err) {
  char msg[512];
  snprintf(msg, sizeof msg, "fdsoak-inject: %s %s\n", var, err);
  inj__say(msg);
  _exit(2);
}

static void init_page(inj_stats_page_t *pg, int fresh) {
  inj__page = pg;
  if (fresh)
    inj__publish(0, inj__mono_ns(CLOCK_MONOTONIC), 1);
  else
    inj__publish(0, 0, 0);
}

/* glibc passes the program's arguments to constructors: the posix_spawn
 * trampoline (exec.c) needs them. */
__attribute__((constructor)) static void inj_init(int argc, char **argv, char **envp) {
  const char *spec = getenv("FDSOAK_INJECT");
  const char *stats = getenv("FDSOAK_INJECT_STATS");
  const char *logp = getenv("FDSOAK_INJECT_LOG");
  const char *ctl = getenv("FDSOAK_INJECT_CONTROL");
  const char *track = getenv("FDSOAK_INJECT_TRACK");
  char err[256];
  uint32_t extra = 0;

  (void)argc;
  (void)envp;
  t_guard = (uintptr_t)__builtin_frame_address(0);
  inj__resolve_real();
  inj__exec_init(argv);
  if (inj__vtime_init(getenv("FDSOAK_SPEED")) != 0) {
    inj__say("fdsoak-inject: FDSOAK_SPEED must be a number > 1 and <= 1e6\n");
    _exit(2);
  }
  /* A malformed spec is the user's input: say so and stop. */
  if (inj_spec_parse(spec ? spec : "", &inj__tables[0], err, sizeof err) < 0)
    die_spec("FDSOAK_INJECT", err);
  /* The page first: a process that cannot reach it (one that switched to
     another user, who may not open a 0600 page) runs on uninstrumented --
     no faults, no records, no log -- rather than die over the shim's own
     bookkeeping.  Only the fd-exhaustion counters of the private page are
     kept, unseen.  A path that is not ours to write -- a file of other
     data, a symbolic link -- or a full file system is the user's input,
     as a malformed spec is: refuse it with a message and exit 2 (issue 24),
     before a byte is written. */
  if (stats && *stats) {
    int rc = inj__stats_attach(stats, &inj__tables[0], &inj__page, init_page);
    if (rc == -EEXIST || rc == -ELOOP || rc == -ENOSPC) {
      char msg[PATH_MAX + 128];
      snprintf(msg, sizeof msg, "fdsoak-inject: FDSOAK_INJECT_STATS %s: %s\n", stats,
               rc == -EEXIST  ? "exists and is not an fdsoak stats page (nor an empty file): "
                                "refusing to overwrite it; name a new file"
               : rc == -ELOOP ? "is a symbolic link: refusing to write through it"
                              : "no space left for the stats page (a full file system would "
                                "end the program with SIGBUS later)");
      inj__say(msg);
      _exit(2);
    }
    if (rc < 0) {
      inj_spec_parse("", &inj__tables[0], err, sizeof err);
      inj__page_init_private();
      inj__publish(0, inj__mono_ns(CLOCK_MONOTONIC), 1);
      t_guard = 0;
      return;
    }
  } else {
    inj__page_init_private();
    inj__publish(0, inj__mono_ns(CLOCK_MONOTONIC), 1);
  }
  if (ctl && *ctl) {
    inj__ctl_init(ctl, getenv("FDSOAK_INJECT_CONTROL_MS"), &inj__tables[0]);
    extra |= HOT_CTRL;
  }
  pthread_atfork(NULL, NULL, atfork_child);
  if (logp && *logp)
    inj__log_init(logp);
  inj__lang_init(getenv("FDSOAK_LANG_LOG"));
  if (track && *track == '1') {
    void *warm[2];
    /* The first backtrace() loads libgcc_s (dlopen, malloc): do it here,
       not inside somebody's open(). */
    backtrace(warm, 2);
    inj__page->fd_track = 1;
    extra |= HOT_TRACK;
    inj__lang_detect();
  }
  __atomic_fetch_or(&inj__hot, extra, __ATOMIC_RELEASE);
  t_guard = 0;
}
