/*
 * shim.c — libfdsoak-inject.so, the LD_PRELOAD fault injector.
 *
 * Hot-path contract (why the code looks the way it does):
 *   - A hooked call whose operation has no rule costs one relaxed load of
 *     g_hot and one branch, then a call through a pointer resolved once.
 *   - Nothing on the hot path allocates, locks or opens a file descriptor.
 *     Rules live in two static tables (double buffer for the control file),
 *     counters in a static page or the mmap'd stats page.
 *   - The shim's own libc calls (backtrace, stat, write) may re-enter the
 *     hooks; a thread-local guard (initial-exec TLS: no allocation on first
 *     touch) sends those straight to the real functions.
 *   - Files the shim itself opens (stats page, control file, log line) are
 *     opened with raw syscalls so they never meet the hooks, and closed
 *     before the hooked call returns: between calls the shim holds no fd.
 */
#include "internal.h"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <execinfo.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))

/* g_hot: what the hooks must look at.  Bits 0..INJ_OP_COUNT-1 mirror the
   active table's opmask; the others switch on work that is independent of
   the rules. */
#define HOT_OP(op)   (1u << (op))
#define HOT_CTRL     (1u << 8)   /* poll the control file */
#define HOT_TRACK    (1u << 9)   /* record fd origins in the stats page */
#define HOT_PENDING  (1u << 10)  /* some fd awaits an SO_ERROR translation */

#define PENDING_FDS  65536

static uint32_t g_hot;
static uint64_t g_my_generation;   /* page generation this process applied */
static inj_spec_t g_tables[2];
static unsigned g_active;
static inj_stats_page_t g_private_page;
static inj_stats_page_t *g_page = &g_private_page;
static int g_log_enabled;
static char g_log_path[PATH_MAX];
/* Errno that getsockopt(SO_ERROR) reports instead of ECONNREFUSED, per fd. */
static uint16_t g_pending_err[PENDING_FDS];

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

static __thread int t_guard __attribute__((tls_model("initial-exec")));

/* ---- real functions ----------------------------------------------------- */

typedef int (*connect_fn)(int, const struct sockaddr *, socklen_t);
typedef int (*bind_fn)(int, const struct sockaddr *, socklen_t);
typedef int (*socket_fn)(int, int, int);
typedef int (*gai_fn)(const char *, const char *, const struct addrinfo *,
                      struct addrinfo **);
typedef int (*getsockopt_fn)(int, int, int, void *, socklen_t *);
typedef int (*open_fn)(const char *, int, ...);
typedef int (*openat_fn)(int, const char *, int, ...);
typedef int (*open2_fn)(const char *, int);
typedef int (*openat2_fn)(int, const char *, int);

static connect_fn real_connect;
static bind_fn real_bind;
static socket_fn real_socket;
static gai_fn real_getaddrinfo;
static getsockopt_fn real_getsockopt;
static open_fn real_open, real_open64;
static openat_fn real_openat, real_openat64;
static open2_fn real___open_2, real___open64_2;
static openat2_fn real___openat_2, real___openat64_2;

static void resolve_real(void) {
  /* Idempotent; a hook that runs before our constructor (another library's
     constructor opening a file) calls it lazily. */
#define R(name) if (!real_##name) *(void **)&real_##name = dlsym(RTLD_NEXT, #name)
  R(connect); R(bind); R(socket); R(getaddrinfo); R(getsockopt);
  R(open); R(open64); R(openat); R(openat64);
  R(__open_2); R(__open64_2); R(__openat_2); R(__openat64_2);
#undef R
}

#define ENSURE(name) do { if (INJ_UNLIKELY(!real_##name)) resolve_real(); } while (0)

/* ---- small utilities ------------------------------------------------------ */

static uint64_t mono_ns(clockid_t clk) {
  struct timespec ts;
  clock_gettime(clk, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void say(const char *msg) {
  size_t n = strlen(msg);
  while (n) {
    ssize_t w = write(2, msg, n);
    if (w <= 0)
      break;
    msg += w;
    n -= (size_t)w;
  }
}

static int raw_open(const char *path, int flags, mode_t mode) {
  return (int)syscall(SYS_openat, AT_FDCWD, path, flags, mode);
}

static uint64_t add64(uint64_t *p, uint64_t v) {
  return __atomic_fetch_add(p, v, __ATOMIC_RELAXED);
}

/* ---- applying a spec ------------------------------------------------------ */

static int page_matches_spec(const inj_stats_page_t *pg, const inj_spec_t *s) {
  if (pg->nrules != s->nrules)
    return 0;
  for (unsigned i = 0; i < s->nrules; i++)
    if (strncmp(pg->rules[i].text, s->rules[i].text, sizeof pg->rules[i].text - 1))
      return 0;
  return 1;
}

/* Publish table idx as the active one, with fresh counters in the page. */
static void publish(unsigned idx, uint64_t now, int reset) {
  inj_stats_page_t *pg = g_page;
  const inj_spec_t *s = &g_tables[idx];

  if (reset) {
    for (unsigned i = 0; i < INJ_MAX_RULES; i++) {
      __atomic_store_n(&pg->rules[i].calls_seen, 0, __ATOMIC_RELAXED);
      __atomic_store_n(&pg->rules[i].matched, 0, __ATOMIC_RELAXED);
      __atomic_store_n(&pg->rules[i].injected, 0, __ATOMIC_RELAXED);
      __atomic_store_n(&pg->rules[i].observed, 0, __ATOMIC_RELAXED);
      memset(pg->rules[i].text, 0, sizeof pg->rules[i].text);
      if (i < s->nrules)
        strncpy(pg->rules[i].text, s->rules[i].text, sizeof pg->rules[i].text - 1);
    }
    __atomic_store_n(&pg->nrules, s->nrules, __ATOMIC_RELAXED);
    __atomic_store_n(&pg->applied_mono_ns, now, __ATOMIC_RELAXED);
    g_my_generation = __atomic_add_fetch(&pg->generation, 1, __ATOMIC_RELEASE);
  } else {
    g_my_generation = __atomic_load_n(&pg->generation, __ATOMIC_ACQUIRE);
  }
  __atomic_store_n(&g_active, idx, __ATOMIC_RELEASE);
  {
    uint32_t old = __atomic_load_n(&g_hot, __ATOMIC_RELAXED), nw;
    do
      nw = (old & ~((1u << INJ_OP_COUNT) - 1)) | s->opmask;
    while (!__atomic_compare_exchange_n(&g_hot, &old, nw, 1, __ATOMIC_RELEASE,
                                        __ATOMIC_RELAXED));
  }
}

/* ---- stats page ----------------------------------------------------------- */

static void stats_attach(const char *path) {
  inj_stats_page_t *pg;
  struct stat st;
  int fd;

  fd = raw_open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0)
    goto fail;
  /* Serialise initialisation with sibling processes starting at once.  The
     lock must be dropped explicitly: the mapping keeps the open file
     description (and with it an flock) alive after close(). */
  flock(fd, LOCK_EX);
  if (fstat(fd, &st) < 0)
    goto fail_fd;
  if ((size_t)st.st_size < sizeof *pg && ftruncate(fd, sizeof *pg) < 0)
    goto fail_fd;
  pg = mmap(NULL, sizeof *pg, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (pg == MAP_FAILED)
    goto fail_fd;
  if (pg->magic == INJ_STATS_MAGIC && pg->version == INJ_STATS_VERSION &&
      page_matches_spec(pg, &g_tables[0])) {
    /* A parent with the same spec set it up: share its counters, so a
       process tree is one target and first(K) counts across it. */
    g_page = pg;
    add64(&pg->attached, 1);
    flock(fd, LOCK_UN);
    close(fd);
    publish(0, 0, 0);
    return;
  }
  memset(pg, 0, sizeof *pg);
  pg->version = INJ_STATS_VERSION;
  pg->size = sizeof *pg;
  pg->pid = (uint32_t)getpid();
  pg->attached = 1;
  g_page = pg;
  publish(0, mono_ns(CLOCK_MONOTONIC), 1);
  __atomic_store_n(&pg->magic, INJ_STATS_MAGIC, __ATOMIC_RELEASE);
  flock(fd, LOCK_UN);
  close(fd);
  return;

fail_fd:
  close(fd);
fail:
  {
    char msg[PATH_MAX + 128];
    snprintf(msg, sizeof msg, "fdsoak-inject: FDSOAK_INJECT_STATS %s: %s\n",
             path, strerror(errno));
    say(msg);
  }
  _exit(2);
}

/* ---- decisions ------------------------------------------------------------ */

typedef struct call {
  int op;
  const struct sockaddr *sa;   /* connect, bind */
  socklen_t salen;
  int family, type;            /* socket */
  const char *str;             /* host or path */
} call_t;

static int rule_matches(const inj_rule_t *r, const call_t *c) {
  switch (c->op) {
  case INJ_OP_CONNECT:
  case INJ_OP_BIND:
    return inj_match_sockaddr(r, c->sa, c->salen);
  case INJ_OP_SOCKET:
    return (!r->sock_family || r->sock_family == c->family) &&
           (!r->sock_type || r->sock_type == (c->type & 0xf));
  default:
    return !r->glob[0] || inj_glob_match(r->glob, c->str ? c->str : "");
  }
}

/*
 * Evaluate the active table.  Returns the index of the rule that fires, or
 * -1; *matched_rule is the first rule whose filter matched (for the log).
 * *seq receives the decision number when any rule matched.
 */
static int decide(const inj_spec_t *t, const call_t *c, int *matched_rule,
                  uint64_t *seq) {
  inj_stats_page_t *pg = g_page;
  int first = -1;

  for (unsigned i = 0; i < t->nrules; i++) {
    const inj_rule_t *r = &t->rules[i];
    uint64_t n, elapsed = 0;
    if (r->op != c->op)
      continue;
    add64(&pg->rules[i].calls_seen, 1);
    if (!rule_matches(r, c))
      continue;
    if (first < 0)
      first = (int)i;
    n = add64(&pg->rules[i].matched, 1);
    if (r->when == INJ_WHEN_WINDOW)
      elapsed = mono_ns(CLOCK_MONOTONIC) -
                __atomic_load_n(&pg->applied_mono_ns, __ATOMIC_RELAXED);
    if (inj_when_fires(r, n, elapsed)) {
      if (r->action == INJ_DO_PASS) {
        /* Observed, not failed: the call goes through for real, and the
           harness counts it as an attempt.  The first rule that fires
           decides, so a pass rule shadows the rules after it. */
        add64(&pg->rules[i].observed, 1);
        add64(&pg->observed_total, 1);
        *matched_rule = (int)i;
        *seq = add64(&pg->seq, 1) + 1;
        return -1;
      }
      add64(&pg->rules[i].injected, 1);
      add64(&pg->injected_total, 1);
      *matched_rule = (int)i;
      *seq = add64(&pg->seq, 1) + 1;
      return (int)i;
    }
  }
  *matched_rule = first;
  if (first >= 0)
    *seq = add64(&pg->seq, 1) + 1;
  return -1;
}

/* ---- JSONL log ------------------------------------------------------------ */

static size_t json_str(char *o, size_t cap, const char *s) {
  size_t n = 0;
  if (cap < 3)
    return 0;
  o[n++] = '"';
  for (; *s && n + 8 < cap; s++) {
    unsigned char ch = (unsigned char)*s;
    if (ch == '"' || ch == '\\') { o[n++] = '\\'; o[n++] = (char)ch; }
    else if (ch < 0x20) n += (size_t)snprintf(o + n, cap - n, "\\u%04x", ch);
    else o[n++] = (char)ch;
  }
  o[n++] = '"';
  o[n] = '\0';
  return n;
}

static void format_dest(const call_t *c, char *buf, size_t cap) {
  char a[INET6_ADDRSTRLEN];
  buf[0] = '\0';
  if (c->op == INJ_OP_CONNECT || c->op == INJ_OP_BIND) {
    const struct sockaddr *sa = c->sa;
    if (!sa) return;
    if (sa->sa_family == AF_INET && c->salen >= sizeof(struct sockaddr_in)) {
      const struct sockaddr_in *in = (const void *)sa;
      inet_ntop(AF_INET, &in->sin_addr, a, sizeof a);
      snprintf(buf, cap, "%s:%u", a, ntohs(in->sin_port));
    } else if (sa->sa_family == AF_INET6 && c->salen >= sizeof(struct sockaddr_in6)) {
      const struct sockaddr_in6 *in6 = (const void *)sa;
      inet_ntop(AF_INET6, &in6->sin6_addr, a, sizeof a);
      snprintf(buf, cap, "[%s]:%u", a, ntohs(in6->sin6_port));
    } else if (sa->sa_family == AF_UNIX) {
      const struct sockaddr_un *un = (const void *)sa;
      snprintf(buf, cap, "unix:%s", un->sun_path[0] ? un->sun_path : "@");
    } else {
      snprintf(buf, cap, "family:%d", sa->sa_family);
    }
  } else if (c->op == INJ_OP_SOCKET) {
    snprintf(buf, cap, "%s/%s",
             c->family == AF_INET ? "inet" : c->family == AF_INET6 ? "inet6"
             : c->family == AF_UNIX ? "unix" : "other",
             (c->type & 0xf) == SOCK_STREAM ? "stream"
             : (c->type & 0xf) == SOCK_DGRAM ? "dgram" : "other");
  } else if (c->str) {
    snprintf(buf, cap, "%s", c->str);
  }
}

static const char *action_name(const inj_rule_t *r) {
  switch (r->action) {
  case INJ_DO_ERRNO: return "errno";
  case INJ_DO_ASYNC: return r->code == ECONNREFUSED ? "refuse" : "async";
  case INJ_DO_HANG:  return "hang";
  case INJ_DO_PASS:  return "observe";
  default:           return "eai";
  }
}

/*
 * One line per decision.  The log file is opened, appended to and closed for
 * each line (O_APPEND keeps lines from several threads and processes whole),
 * so the shim holds no fd between calls; this costs ~3 µs per matched call,
 * only when FDSOAK_INJECT_LOG is set.
 */
static void log_decision(const call_t *c, const inj_rule_t *r, int fired,
                         int rule_no, uint64_t seq) {
  char line[PATH_MAX + 512], dest[PATH_MAX + 16];
  const char *ename = NULL;
  size_t n;
  int fd;

  if (!g_log_enabled)
    return;
  format_dest(c, dest, sizeof dest);
  if (fired)
    ename = r->action == INJ_DO_EAI ? inj_eai_name(r->code)
          : r->action == INJ_DO_HANG ? NULL : inj_errno_name(r->code);
  n = (size_t)snprintf(line, sizeof line,
                       "{\"seq\":%llu,\"pid\":%d,\"tid\":%d,\"op\":\"%s\",\"dest\":",
                       (unsigned long long)seq, (int)getpid(), (int)gettid(),
                       inj_op_name(c->op));
  n += json_str(line + n, sizeof line - n - 200, dest);
  n += (size_t)snprintf(line + n, sizeof line - n,
                        ",\"rule\":%d,\"action\":\"%s\",\"errno\":",
                        rule_no + 1, fired ? action_name(r) : "pass");
  if (ename)
    n += (size_t)snprintf(line + n, sizeof line - n, "\"%s\"", ename);
  else if (fired && r->action != INJ_DO_HANG)
    n += (size_t)snprintf(line + n, sizeof line - n, "%d", r->code);
  else
    n += (size_t)snprintf(line + n, sizeof line - n, "null");
  n += (size_t)snprintf(line + n, sizeof line - n, ",\"mono_ns\":%llu}\n",
                        (unsigned long long)mono_ns(CLOCK_MONOTONIC));
  fd = raw_open(g_log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0)
    return;
  if (write(fd, line, n) < 0) {
    /* Nothing sensible to do: the decision itself stands. */
  }
  close(fd);
}

/* ---- control file --------------------------------------------------------- */

static void ctl_error(const char *what) {
  char msg[PATH_MAX + 400];
  snprintf(msg, sizeof msg,
           "fdsoak-inject: FDSOAK_INJECT_CONTROL %s: %s (keeping the previous rules)\n",
           g_ctl.path, what);
  say(msg);
  add64(&g_page->control_errors, 1);
}

/* Read the control file into g_ctl.buf.  Returns length, or -1. */
static ssize_t ctl_read(void) {
  ssize_t n = 0, r;
  int fd = raw_open(g_ctl.path, O_RDONLY | O_CLOEXEC, 0);
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
static void ctl_poll(void) {
  uint64_t now = mono_ns(CLOCK_MONOTONIC_COARSE);
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
    goto out;  /* look again next interval */
  g_ctl.dev = st.st_dev;
  g_ctl.ino = st.st_ino;
  g_ctl.size = st.st_size;
  g_ctl.mtim = st.st_mtim;
  if (ctl_read() < 0) {
    ctl_error(strerror(errno));
    goto out;
  }
  idx = !__atomic_load_n(&g_active, __ATOMIC_ACQUIRE);
  if (inj_spec_parse(g_ctl.buf, &g_tables[idx], err, sizeof err) < 0) {
    ctl_error(err);
    goto out;
  }
  g_ctl.last_swap_ns = now;
  /* In a process tree sharing one page, every process sees the same control
     file change; the first one resets the counters, the others adopt its
     generation instead of resetting them again. */
  publish(idx, mono_ns(CLOCK_MONOTONIC),
          !(__atomic_load_n(&g_page->generation, __ATOMIC_ACQUIRE) != g_my_generation &&
            page_matches_spec(g_page, &g_tables[idx])));
out:
  __atomic_store_n(&g_ctl.busy, 0, __ATOMIC_RELEASE);
}

/* ---- fd origin tracking --------------------------------------------------- */

static void track_fd(int fd, int op) {
  inj_fd_record_t *rec;
  void *frames[INJ_BT_FRAMES + 2];
  uint64_t s;
  int n;

  if (fd < 0)
    return;
  rec = &g_page->fds[inj_fd_slot((int)getpid(), fd)];
  add64(&g_page->fd_records, 1);
  n = backtrace(frames, INJ_BT_FRAMES + 2);
  /* Skip track_fd and the hook itself: the first frame kept is the caller. */
  n = n > 2 ? n - 2 : 0;
  s = __atomic_load_n(&rec->seq, __ATOMIC_RELAXED);
  __atomic_store_n(&rec->seq, (s | 1) + 0, __ATOMIC_RELAXED);
  __atomic_thread_fence(__ATOMIC_RELEASE);
  rec->fd = fd;
  rec->pid = (int32_t)getpid();
  rec->op = (uint16_t)op;
  rec->nframes = (uint16_t)n;
  rec->mono_ns = mono_ns(CLOCK_MONOTONIC);
  for (int i = 0; i < INJ_BT_FRAMES; i++)
    rec->frames[i] = i < n ? (uint64_t)(uintptr_t)frames[i + 2] : 0;
  __atomic_store_n(&rec->seq, (s | 1) + 1, __ATOMIC_RELEASE);
}

/* ---- connect actions ------------------------------------------------------ */

/*
 * Loopback port 0 is closed by construction: bind() to port 0 means "pick a
 * port", so no socket can ever listen there, and the kernel answers a SYN to
 * it with RST.  A private copy of the caller's address pointed there gives a
 * real refusal (EINPROGRESS, POLLERR, SO_ERROR = ECONNREFUSED for a
 * non-blocking socket; ECONNREFUSED at once for a blocking one) without
 * holding any fd and without touching the caller's memory.
 */
static int loopback_port0(int family, struct sockaddr_storage *ss, socklen_t *len) {
  memset(ss, 0, sizeof *ss);
  if (family == AF_INET) {
    struct sockaddr_in *in = (void *)ss;
    in->sin_family = AF_INET;
    in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    *len = sizeof *in;
    return 0;
  }
  if (family == AF_INET6) {
    struct sockaddr_in6 *in6 = (void *)ss;
    in6->sin6_family = AF_INET6;
    in6->sin6_addr = in6addr_loopback;
    *len = sizeof *in6;
    return 0;
  }
  return -EAFNOSUPPORT;
}

static int sock_is_stream(int fd) {
  int type = 0;
  socklen_t len = sizeof type;
  ENSURE(getsockopt);
  return real_getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 &&
         type == SOCK_STREAM;
}

static int do_async(int fd, const struct sockaddr *sa, int code) {
  struct sockaddr_storage ss;
  socklen_t len;
  int rc, e;

  if (!sa || !sock_is_stream(fd) ||
      loopback_port0(sa->sa_family, &ss, &len) < 0) {
    errno = code;   /* AF_UNIX and datagram connects fail synchronously */
    return -1;
  }
  rc = real_connect(fd, (struct sockaddr *)&ss, len);
  e = errno;
  if (rc == 0) {
    /* Cannot happen on a sane kernel; never report success for a fault. */
    errno = code;
    return -1;
  }
  if (e == EINPROGRESS) {
    if (code != ECONNREFUSED && fd < PENDING_FDS) {
      __atomic_store_n(&g_pending_err[fd], (uint16_t)code, __ATOMIC_RELEASE);
      __atomic_fetch_or(&g_hot, HOT_PENDING, __ATOMIC_RELEASE);
    }
    errno = EINPROGRESS;
    return -1;
  }
  /* Blocking socket (ECONNREFUSED from the kernel) or an odd state such as
     a socket bound to an address that cannot reach loopback: report the
     requested errno at once. */
  errno = code;
  return -1;
}

/*
 * Hang: turn the caller's socket into a listener on loopback.  A listening
 * TCP socket never polls writable and has no error, so an event loop waiting
 * for POLLOUT keeps waiting until its own timer closes the fd; nothing is
 * sent anywhere.  An unbound socket is bound to 127.0.0.1:0 / [::1]:0 in
 * place (keeping its options); a socket the caller already bound is replaced
 * with dup3() by a fresh loopback listener with the same O_NONBLOCK and
 * FD_CLOEXEC.  A blocking socket blocks in poll() until SO_SNDTIMEO (then
 * EINPROGRESS, as the kernel does) or forever, or until a signal (EINTR).
 */
static int do_hang(int fd, const struct sockaddr *sa, socklen_t salen) {
  struct sockaddr_storage ss, cur;
  socklen_t len, curlen = sizeof cur;
  int fl, fdfl, bound = 1;

  if (!sa || !sock_is_stream(fd) || loopback_port0(sa->sa_family, &ss, &len) < 0)
    return real_connect(fd, sa, salen);  /* only TCP connects can hang */
  fl = fcntl(fd, F_GETFL);
  fdfl = fcntl(fd, F_GETFD);
  if (fl < 0 || fdfl < 0)
    return -1;
  if (getsockname(fd, (struct sockaddr *)&cur, &curlen) == 0) {
    if (cur.ss_family == AF_INET)
      bound = ((struct sockaddr_in *)&cur)->sin_port != 0;
    else if (cur.ss_family == AF_INET6)
      bound = ((struct sockaddr_in6 *)&cur)->sin6_port != 0;
  }
  if (!bound) {
    if (real_bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 0) < 0)
      return -1;
  } else {
    int nfd = real_socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC |
                          ((fl & O_NONBLOCK) ? SOCK_NONBLOCK : 0), 0);
    if (nfd < 0)
      return -1;
    if (real_bind(nfd, (struct sockaddr *)&ss, len) < 0 || listen(nfd, 0) < 0 ||
        dup3(nfd, fd, (fdfl & FD_CLOEXEC) ? O_CLOEXEC : 0) < 0) {
      int e = errno;
      close(nfd);
      errno = e;
      return -1;
    }
    close(nfd);
  }
  if (fl & O_NONBLOCK) {
    errno = EINPROGRESS;
    return -1;
  }
  {
    struct timeval tv = { 0, 0 };
    socklen_t tl = sizeof tv;
    int ms = -1;
    struct pollfd p = { fd, POLLOUT, 0 };
    if (real_getsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, &tl) == 0 &&
        (tv.tv_sec || tv.tv_usec))
      ms = (int)(tv.tv_sec * 1000 + tv.tv_usec / 1000);
    if (poll(&p, 1, ms) < 0)
      return -1;   /* EINTR, as an interrupted connect */
    errno = EINPROGRESS;
    return -1;
  }
}

/* ---- the hooks ------------------------------------------------------------ */

static inline const inj_spec_t *active_table(void) {
  return &g_tables[__atomic_load_n(&g_active, __ATOMIC_ACQUIRE)];
}

EXPORT int connect(int fd, const struct sockaddr *sa, socklen_t len) {
  uint32_t hot = __atomic_load_n(&g_hot, __ATOMIC_RELAXED);
  const inj_spec_t *t;
  call_t c;
  int fire, mr, rc, e;
  uint64_t seq = 0;

  ENSURE(connect);
  if (INJ_LIKELY(!(hot & (HOT_OP(INJ_OP_CONNECT) | HOT_CTRL | HOT_PENDING))) || t_guard)
    return real_connect(fd, sa, len);
  t_guard = 1;
  if (hot & HOT_PENDING && fd >= 0 && fd < PENDING_FDS)
    __atomic_store_n(&g_pending_err[fd], 0, __ATOMIC_RELAXED);  /* fd reused */
  if (hot & HOT_CTRL)
    ctl_poll();
  t = active_table();
  if (!(t->opmask & HOT_OP(INJ_OP_CONNECT))) {
    t_guard = 0;
    return real_connect(fd, sa, len);
  }
  c = (call_t){ .op = INJ_OP_CONNECT, .sa = sa, .salen = len };
  fire = decide(t, &c, &mr, &seq);
  if (mr >= 0)
    log_decision(&c, &t->rules[mr], fire >= 0, mr, seq);
  if (fire < 0) {
    t_guard = 0;
    return real_connect(fd, sa, len);
  }
  switch (t->rules[fire].action) {
  case INJ_DO_ASYNC: rc = do_async(fd, sa, t->rules[fire].code); break;
  case INJ_DO_HANG:  rc = do_hang(fd, sa, len); break;
  default:           errno = t->rules[fire].code; rc = -1; break;
  }
  e = errno;
  t_guard = 0;
  errno = e;
  return rc;
}

/* Shared slow path of the hooks whose only action is an errno (or EAI). */
static int simple_decide(call_t *c, int *code) {
  const inj_spec_t *t;
  int fire, mr;
  uint64_t seq = 0;

  if (__atomic_load_n(&g_hot, __ATOMIC_RELAXED) & HOT_CTRL)
    ctl_poll();
  t = active_table();
  if (!(t->opmask & HOT_OP(c->op)))
    return 0;
  fire = decide(t, c, &mr, &seq);
  if (mr >= 0)
    log_decision(c, &t->rules[mr], fire >= 0, mr, seq);
  if (fire < 0)
    return 0;
  *code = t->rules[fire].code;
  return t->rules[fire].action == INJ_DO_EAI ? 2 : 1;
}

EXPORT int bind(int fd, const struct sockaddr *sa, socklen_t len) {
  uint32_t hot = __atomic_load_n(&g_hot, __ATOMIC_RELAXED);
  call_t c = { .op = INJ_OP_BIND, .sa = sa, .salen = len };
  int code = 0, f;

  ENSURE(bind);
  if (INJ_LIKELY(!(hot & (HOT_OP(INJ_OP_BIND) | HOT_CTRL))) || t_guard)
    return real_bind(fd, sa, len);
  t_guard = 1;
  f = simple_decide(&c, &code);
  t_guard = 0;
  if (f) {
    errno = code;
    return -1;
  }
  return real_bind(fd, sa, len);
}

EXPORT int socket(int family, int type, int proto) {
  uint32_t hot = __atomic_load_n(&g_hot, __ATOMIC_RELAXED);
  call_t c = { .op = INJ_OP_SOCKET, .family = family, .type = type };
  int code = 0, f, fd, e;

  ENSURE(socket);
  if (INJ_LIKELY(!(hot & (HOT_OP(INJ_OP_SOCKET) | HOT_CTRL | HOT_TRACK))) || t_guard)
    return real_socket(family, type, proto);
  t_guard = 1;
  f = simple_decide(&c, &code);
  if (f) {
    t_guard = 0;
    errno = code;
    return -1;
  }
  fd = real_socket(family, type, proto);
  e = errno;
  if (hot & HOT_TRACK)
    track_fd(fd, INJ_OP_SOCKET);
  t_guard = 0;
  errno = e;
  return fd;
}

EXPORT int getaddrinfo(const char *node, const char *service,
                       const struct addrinfo *hints, struct addrinfo **res) {
  uint32_t hot = __atomic_load_n(&g_hot, __ATOMIC_RELAXED);
  call_t c = { .op = INJ_OP_GETADDRINFO, .str = node };
  int code = 0, f;

  ENSURE(getaddrinfo);
  if (INJ_LIKELY(!(hot & (HOT_OP(INJ_OP_GETADDRINFO) | HOT_CTRL))) || t_guard)
    return real_getaddrinfo(node, service, hints, res);
  t_guard = 1;
  f = simple_decide(&c, &code);
  t_guard = 0;
  if (f == 2)
    return code;
  if (f == 1) {
    errno = code;
    return EAI_SYSTEM;
  }
  return real_getaddrinfo(node, service, hints, res);
}

/*
 * getsockopt(SO_ERROR) is where an asynchronous connect error is read (libuv,
 * Python, Node, curl all do).  For an async(E) fault the kernel holds a real
 * ECONNREFUSED; it is reported as E once, then the entry is cleared.
 */
EXPORT int getsockopt(int fd, int level, int name, void *val, socklen_t *len) {
  uint32_t hot = __atomic_load_n(&g_hot, __ATOMIC_RELAXED);
  int rc;

  ENSURE(getsockopt);
  if (INJ_LIKELY(!(hot & HOT_PENDING)) || level != SOL_SOCKET || name != SO_ERROR ||
      fd < 0 || fd >= PENDING_FDS)
    return real_getsockopt(fd, level, name, val, len);
  rc = real_getsockopt(fd, level, name, val, len);
  if (rc == 0 && val && len && *len >= sizeof(int) && *(int *)val == ECONNREFUSED) {
    uint16_t code = __atomic_exchange_n(&g_pending_err[fd], 0, __ATOMIC_ACQ_REL);
    if (code)
      *(int *)val = code;
  }
  return rc;
}

static int open_slow(const char *path, int *code) {
  call_t c = { .op = INJ_OP_OPEN, .str = path };
  return simple_decide(&c, code);
}

/* All open variants share this shape; `call` is the real call expression. */
#define OPEN_HOOK_BODY(realname, call)                                          \
  uint32_t hot = __atomic_load_n(&g_hot, __ATOMIC_RELAXED);                    \
  int code = 0, fd, e;                                                          \
  if (INJ_UNLIKELY(!realname))                                                  \
    resolve_real();                                                             \
  if (INJ_LIKELY(!(hot & (HOT_OP(INJ_OP_OPEN) | HOT_CTRL | HOT_TRACK))) || t_guard) \
    return call;                                                                \
  t_guard = 1;                                                                  \
  if (open_slow(path, &code)) {                                                 \
    t_guard = 0;                                                                \
    errno = code;                                                               \
    return -1;                                                                  \
  }                                                                             \
  fd = call;                                                                    \
  e = errno;                                                                    \
  if (hot & HOT_TRACK)                                                          \
    track_fd(fd, INJ_OP_OPEN);                                                  \
  t_guard = 0;                                                                  \
  errno = e;                                                                    \
  return fd;

#define NEEDS_MODE(flags) (((flags) & O_CREAT) || ((flags) & __O_TMPFILE) == __O_TMPFILE)

/* Before dlsym has run (a hook called from an earlier constructor while the
   dynamic linker itself holds locks), fall back to the system call. */
static int sys_openat(int dirfd, const char *path, int flags, mode_t mode) {
  return (int)syscall(SYS_openat, dirfd, path, flags, mode);
}

EXPORT int open(const char *path, int flags, ...) {
  mode_t mode = 0;
  if (NEEDS_MODE(flags)) {
    va_list ap;
    va_start(ap, flags);
    mode = va_arg(ap, mode_t);
    va_end(ap);
  }
  OPEN_HOOK_BODY(real_open, (real_open ? real_open(path, flags, mode)
                                       : sys_openat(AT_FDCWD, path, flags, mode)))
}

EXPORT int open64(const char *path, int flags, ...) {
  mode_t mode = 0;
  if (NEEDS_MODE(flags)) {
    va_list ap;
    va_start(ap, flags);
    mode = va_arg(ap, mode_t);
    va_end(ap);
  }
  OPEN_HOOK_BODY(real_open64, (real_open64 ? real_open64(path, flags, mode)
                               : sys_openat(AT_FDCWD, path, flags | O_LARGEFILE, mode)))
}

EXPORT int openat(int dirfd, const char *path, int flags, ...) {
  mode_t mode = 0;
  if (NEEDS_MODE(flags)) {
    va_list ap;
    va_start(ap, flags);
    mode = va_arg(ap, mode_t);
    va_end(ap);
  }
  OPEN_HOOK_BODY(real_openat, (real_openat ? real_openat(dirfd, path, flags, mode)
                                           : sys_openat(dirfd, path, flags, mode)))
}

EXPORT int openat64(int dirfd, const char *path, int flags, ...) {
  mode_t mode = 0;
  if (NEEDS_MODE(flags)) {
    va_list ap;
    va_start(ap, flags);
    mode = va_arg(ap, mode_t);
    va_end(ap);
  }
  OPEN_HOOK_BODY(real_openat64, (real_openat64 ? real_openat64(dirfd, path, flags, mode)
                                 : sys_openat(dirfd, path, flags | O_LARGEFILE, mode)))
}

/* _FORTIFY_SOURCE builds call these instead of open/openat. */
EXPORT int __open_2(const char *path, int flags) {
  OPEN_HOOK_BODY(real___open_2, (real___open_2 ? real___open_2(path, flags)
                                 : sys_openat(AT_FDCWD, path, flags, 0)))
}

EXPORT int __open64_2(const char *path, int flags) {
  OPEN_HOOK_BODY(real___open64_2, (real___open64_2 ? real___open64_2(path, flags)
                                   : sys_openat(AT_FDCWD, path, flags | O_LARGEFILE, 0)))
}

EXPORT int __openat_2(int dirfd, const char *path, int flags) {
  OPEN_HOOK_BODY(real___openat_2, (real___openat_2 ? real___openat_2(dirfd, path, flags)
                                   : sys_openat(dirfd, path, flags, 0)))
}

EXPORT int __openat64_2(int dirfd, const char *path, int flags) {
  OPEN_HOOK_BODY(real___openat64_2,
                 (real___openat64_2 ? real___openat64_2(dirfd, path, flags)
                                    : sys_openat(dirfd, path, flags | O_LARGEFILE, 0)))
}

/* ---- constructor ---------------------------------------------------------- */

/* A fork taken while another thread was polling the control file must not
   leave the child's poll flag stuck. */
static void atfork_child(void) {
  __atomic_store_n(&g_ctl.busy, 0, __ATOMIC_RELAXED);
  t_guard = 0;
}

static void die_spec(const char *var, const char *err) {
  char msg[512];
  snprintf(msg, sizeof msg, "fdsoak-inject: %s %s\n", var, err);
  say(msg);
  _exit(2);
}

__attribute__((constructor)) static void inj_init(void) {
  const char *spec = getenv("FDSOAK_INJECT");
  const char *stats = getenv("FDSOAK_INJECT_STATS");
  const char *logp = getenv("FDSOAK_INJECT_LOG");
  const char *ctl = getenv("FDSOAK_INJECT_CONTROL");
  const char *track = getenv("FDSOAK_INJECT_TRACK");
  char err[256];
  uint32_t extra = 0;

  t_guard = 1;
  resolve_real();
  if (inj_spec_parse(spec ? spec : "", &g_tables[0], err, sizeof err) < 0)
    die_spec("FDSOAK_INJECT", err);

  if (ctl && *ctl) {
    struct stat st;
    const char *ms = getenv("FDSOAK_INJECT_CONTROL_MS");
    long v = ms ? strtol(ms, NULL, 10) : 100;
    if (strlen(ctl) >= sizeof g_ctl.path)
      die_spec("FDSOAK_INJECT_CONTROL", "path too long");
    strcpy(g_ctl.path, ctl);
    g_ctl.interval_ns = (uint64_t)(v > 0 ? v : 100) * 1000000u;
    /* A control file already present at start (and not blank) wins over
       FDSOAK_INJECT, and must be valid like it: the harness may write it
       before starting the target. */
    if (stat(ctl, &st) == 0) {
      ssize_t n;
      g_ctl.dev = st.st_dev;
      g_ctl.ino = st.st_ino;
      g_ctl.size = st.st_size;
      g_ctl.mtim = st.st_mtim;
      n = ctl_read();
      if (n > 0 && strspn(g_ctl.buf, " \t\r\n") != (size_t)n &&
          inj_spec_parse(g_ctl.buf, &g_tables[0], err, sizeof err) < 0)
        die_spec("FDSOAK_INJECT_CONTROL", err);
    }
    extra |= HOT_CTRL;
    pthread_atfork(NULL, NULL, atfork_child);
  }
  if (logp && *logp) {
    if (strlen(logp) >= sizeof g_log_path)
      die_spec("FDSOAK_INJECT_LOG", "path too long");
    strcpy(g_log_path, logp);
    g_log_enabled = 1;
  }
  if (stats && *stats) {
    stats_attach(stats);
  } else {
    g_private_page.magic = INJ_STATS_MAGIC;
    g_private_page.version = INJ_STATS_VERSION;
    g_private_page.size = sizeof g_private_page;
    g_private_page.pid = (uint32_t)getpid();
    publish(0, mono_ns(CLOCK_MONOTONIC), 1);
  }
  if (track && *track == '1') {
    void *warm[2];
    /* The first backtrace() loads libgcc_s (dlopen, malloc): do it here,
       not inside somebody's open(). */
    backtrace(warm, 2);
    g_page->fd_track = 1;
    extra |= HOT_TRACK;
  }
  g_ctl.last_swap_ns = 0;
  __atomic_fetch_or(&g_hot, extra, __ATOMIC_RELEASE);
  t_guard = 0;
}
