/*
 * faults.c — what an injected connect failure is made of.
 *
 * Each fault hands the caller's own socket to the kernel in a state where
 * the kernel itself produces the real event, so every later call on the
 * socket (poll, send, a second connect, SO_ERROR, getpeername) behaves as
 * it would on the real network.  Measured against the real events on
 * loopback in a network namespace (tests/fidelity/):
 *
 *   refuse        connect to 127.0.0.1:0 / [::1]:0, closed by construction
 *                 (binding port 0 means "pick one", so nothing ever listens
 *                 there): the SYN is answered by RST.  No fd held.
 *   hang/timeout  connect to the private *sink*: a loopback listener with
 *                 backlog 0 whose accept queue one connection of ours
 *                 already fills, and that nobody accepts from.  The kernel
 *                 drops every further SYN, so the caller's socket is a real
 *                 SYN-SENT socket: not readable or writable, send() EAGAIN,
 *                 a second connect() EALREADY, SYN retransmits, and ETIMEDOUT
 *                 after net.ipv4.tcp_syn_retries — a blackhole.
 *   unreachable   ICMP net/host unreachable.  The real event (kernel 6.x):
 *                 IPv4 non-blocking connects see POLLERR and SO_ERROR = E at
 *                 once (a soft error while the SYN is retried); blocking
 *                 IPv4 connects and all IPv6 ones fail with E at the first
 *                 SYN retransmit, ~1 s.  Made of: IPv4 non-blocking, a
 *                 refusal whose SO_ERROR is reported as E; otherwise the sink
 *                 with TCP_USER_TIMEOUT = 1 ms, which the kernel enforces at
 *                 the first retransmit (~1 s), its ETIMEDOUT reported as E.
 *   reset(N)      connect to the private *reset listener* (TCP_DEFER_ACCEPT:
 *                 a connection becomes acceptable only when the client has
 *                 sent data).  connect succeeds; when data arrives a helper
 *                 thread accepts the connection and closes it with SO_LINGER
 *                 0 once more than N bytes came, so the kernel sends RST: the
 *                 client's write succeeded, its next read (or write) fails
 *                 with ECONNRESET.
 *
 * fds the shim holds for this, each created on the first fault that needs
 * it and kept for the life of the process (constant, never one per fault;
 * FD_CLOEXEC, so an exec'd child makes its own):
 *   sink:  per address family used, a listener and the connection that
 *          fills its queue (2 fds);
 *   reset: per family, a listener (1 fd), plus one helper thread in all;
 *          transiently, the accepted end of a reset connection, closed as
 *          soon as more than N bytes arrived (at once for reset).
 * A program that closes fds it does not own (closefrom) may close them; the
 * shim notices (inode check) and makes new ones.
 */
#include "shim.h"
#include "inj_unreach.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* ---- SO_ERROR translations ------------------------------------------------- */

/*
 * Some faults are made of a different real kernel error than the one they
 * model (unreachable: a refusal or a user timeout).  The fd is marked
 * (kernel errno -> modelled errno) and the hooked getsockopt(SO_ERROR)
 * reports the modelled one, once.  fds below PENDING_DIRECT index a plain
 * array; larger ones (a process with a high RLIMIT_NOFILE) go to a small
 * open-addressed table, so every fd is covered.  No allocation, no lock.
 */
#define PENDING_DIRECT 65536
#define PENDING_HIGH 256

static uint16_t g_pending[PENDING_DIRECT];
static struct {
  int fd;
  uint16_t v;
} g_pending_high[PENDING_HIGH];

static uint16_t *pending_slot(int fd, int create) {
  unsigned h;
  if (fd < 0)
    return NULL;
  if (fd < PENDING_DIRECT)
    return &g_pending[fd];
  h = ((unsigned)fd * 2654435761u) % PENDING_HIGH;
  for (unsigned i = 0; i < PENDING_HIGH; i++) {
    unsigned k = (h + i) % PENDING_HIGH;
    int cur = __atomic_load_n(&g_pending_high[k].fd, __ATOMIC_ACQUIRE);
    if (cur == fd + 1)
      return &g_pending_high[k].v;
    if (cur == 0) {
      int expect = 0;
      if (!create)
        return NULL;
      if (__atomic_compare_exchange_n(&g_pending_high[k].fd, &expect, fd + 1, 0, __ATOMIC_ACQ_REL,
                                      __ATOMIC_ACQUIRE) ||
          expect == fd + 1)
        return &g_pending_high[k].v;
    }
  }
  return NULL; /* 256 high fds with a pending fault at once: not marked */
}

/* PENDING_SOFT: the real event holds the modelled errno from the start as
   a soft error (an ICMP answered inside connect), which the first
   SO_ERROR read takes, while the socket the model made holds none yet
   (the kernel's errors here are all below 128, so the bit is free). */
#define PENDING_SOFT 0x8000u

static void pending_set(int fd, int kernel_err, int modelled, int soft) {
  uint16_t *p = pending_slot(fd, 1);
  if (!p)
    return;
  __atomic_store_n(
    p, (uint16_t)((soft ? PENDING_SOFT : 0) | (kernel_err & 0x7f) << 8 | (modelled & 0xff)),
    __ATOMIC_RELEASE);
  __atomic_fetch_or(&inj__hot, HOT_PENDING, __ATOMIC_RELEASE);
}

void inj__pending_clear(int fd) {
  uint16_t *p = pending_slot(fd, 0);
  if (p)
    __atomic_store_n(p, 0, __ATOMIC_RELAXED);
}

int inj__pending_take(int fd, int kernel_err) {
  uint16_t *p = pending_slot(fd, 0), v;
  if (!p || !(v = __atomic_load_n(p, __ATOMIC_ACQUIRE)) || ((v >> 8) & 0x7f) != (kernel_err & 0x7f))
    return 0;
  if (!__atomic_compare_exchange_n(p, &v, 0, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
    return 0;
  return v & 0xff;
}

int inj__pending_soft(int fd) {
  uint16_t *p = pending_slot(fd, 0), v;
  if (!p || !((v = __atomic_load_n(p, __ATOMIC_ACQUIRE)) & PENDING_SOFT))
    return 0;
  if (!__atomic_compare_exchange_n(p, &v, (uint16_t)(v & ~PENDING_SOFT), 0, __ATOMIC_ACQ_REL,
                                   __ATOMIC_RELAXED))
    return 0;
  return v & 0xff;
}

/* ---- addresses ----------------------------------------------------------- */

/* Where a fault for destination sa must point the caller's socket: the
   loopback of the destination's family (an IPv4-mapped destination of a
   dual-stack socket gets ::ffff:127.0.0.1), port `port`.  Returns the
   family of the private endpoint to use, or -1. */
static int target_addr(const struct sockaddr *sa, socklen_t salen, uint16_t port,
                       struct sockaddr_storage *ss, socklen_t *len) {
  memset(ss, 0, sizeof *ss);
  if (sa->sa_family == AF_INET && salen >= sizeof(struct sockaddr_in)) {
    struct sockaddr_in *in = (void *)ss;
    in->sin_family = AF_INET;
    in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    in->sin_port = htons(port);
    *len = sizeof *in;
    return AF_INET;
  }
  if (sa->sa_family == AF_INET6 && salen >= sizeof(struct sockaddr_in6)) {
    const struct sockaddr_in6 *dst = (const void *)sa;
    struct sockaddr_in6 *in6 = (void *)ss;
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(port);
    *len = sizeof *in6;
    if (IN6_IS_ADDR_V4MAPPED(&dst->sin6_addr)) {
      in6->sin6_addr.s6_addr[10] = 0xff;
      in6->sin6_addr.s6_addr[11] = 0xff;
      in6->sin6_addr.s6_addr[12] = 127;
      in6->sin6_addr.s6_addr[15] = 1;
      return AF_INET;
    }
    in6->sin6_addr = in6addr_loopback;
    return AF_INET6;
  }
  return -1;
}

static int sock_is_stream(int fd) {
  int type = 0;
  socklen_t len = sizeof type;
  return real_getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 && type == SOCK_STREAM;
}

static int sock_is_nonblocking(int fd) {
  int fl = fcntl(fd, F_GETFL);
  return fl >= 0 && (fl & O_NONBLOCK);
}

/* The shim's own bounded waits are in real time: under --speed the poll
   that resolves to libfaketime's would divide them by the speed. */
static int real_poll_ms(struct pollfd *p, nfds_t n, int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  return (int)syscall(SYS_ppoll, p, n, &ts, NULL, (size_t)8);
}

/* Connects whose kernel timeout the speed timer ends (below). */
#define DUE_MAX 64

static struct {
  int fd; /* -1: free */
  ino_t ino;
  long long due_ns; /* real CLOCK_MONOTONIC */
  int modelled;
} g_due[DUE_MAX];
static pthread_mutex_t g_due_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_due_cv = PTHREAD_COND_INITIALIZER;
static pid_t g_due_pid;
static int g_due_init;

/* ---- the shim's own fds, at the top of the range ----------------------------

   A program's fd numbers are part of its behaviour (a test that expects its
   first file on fd 3, a daemon that dup2()s onto fixed numbers, a log that
   names them), so the fds the shim keeps must not shift them: each is moved
   with F_DUPFD_CLOEXEC to the lowest free number at or above a floor just
   under the soft RLIMIT_NOFILE, as bash keeps its own at 255 and up and
   valgrind at the top of the range.  The floor is capped (FD_HIGH_CAP) so a
   limit of a million does not grow the kernel's fd table to a million
   slots.  The reserve above the floor is 32 numbers, a quarter of a lower
   limit (the fds count against the limit wherever they sit; only their
   place changes).  Under a tiny limit (FD_HIGH_MIN), or with no number
   above the floor free, the fd stays where the kernel put it: still
   correct, merely visible. */
#define FD_HIGH_RESERVE 32
#define FD_HIGH_CAP 4096
#define FD_HIGH_MIN 16

static int fd_high(int fd) {
  struct rlimit rl;
  rlim_t lim, reserve;
  int hi, e = errno;

  if (fd < 0 || getrlimit(RLIMIT_NOFILE, &rl) < 0)
    return fd;
  lim = rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > FD_HIGH_CAP ? FD_HIGH_CAP : rl.rlim_cur;
  reserve = lim >= 4 * FD_HIGH_RESERVE ? FD_HIGH_RESERVE : lim / 4;
  if (lim < FD_HIGH_MIN || fd >= (int)(lim - reserve))
    return fd;
  hi = fcntl(fd, F_DUPFD_CLOEXEC, (int)(lim - reserve));
  if (hi < 0) {
    errno = e;
    return fd;
  }
  close(fd);
  errno = e;
  return hi;
}

/* ---- private endpoints ------------------------------------------------------ */

typedef struct endpoint {
  int fd;  /* the listener, -1 until made */
  int aux; /* sink: the connection filling its queue; else -1 */
  ino_t ino, aux_ino;
  uint16_t port;
} endpoint_t;

static pthread_mutex_t g_ep_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t g_redir_lock = PTHREAD_MUTEX_INITIALIZER; /* the redirect table, below */
static endpoint_t g_sink[2] = {{-1, -1, 0, 0, 0}, {-1, -1, 0, 0, 0}};
static endpoint_t g_resetl[2] = {{-1, -1, 0, 0, 0}, {-1, -1, 0, 0, 0}};
/* reset(accept): listeners without TCP_DEFER_ACCEPT, reset as soon as a
   connection is in their queue. */
static endpoint_t g_acceptl[2] = {{-1, -1, 0, 0, 0}, {-1, -1, 0, 0, 0}};

static int fam_index(int fam) { return fam == AF_INET6; }

static ino_t fd_ino(int fd) {
  struct stat st;
  return fd >= 0 && fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode) ? st.st_ino : 0;
}

/* Still ours?  A program may close fds it does not own (closefrom) and get
   the numbers back for its own files: then they are not ours to close. */
static int ep_alive(endpoint_t *ep) {
  if (ep->fd < 0)
    return 0;
  if (fd_ino(ep->fd) == ep->ino && (ep->aux < 0 || fd_ino(ep->aux) == ep->aux_ino))
    return 1;
  if (fd_ino(ep->fd) == ep->ino)
    close(ep->fd);
  if (ep->aux >= 0 && fd_ino(ep->aux) == ep->aux_ino)
    close(ep->aux);
  ep->fd = ep->aux = -1;
  return 0;
}

static int loopback_listener(int fam, int backlog, int defer, endpoint_t *ep) {
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  int fd = fd_high(real_socket(fam, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)), one = 1;
  struct sockaddr_in any4 = {.sin_family = AF_INET};

  if (fd < 0)
    return -errno;
  target_addr((const struct sockaddr *)&any4, sizeof any4, 0, &ss, &len);
  if (fam == AF_INET6) {
    struct sockaddr_in6 *in6 = (void *)&ss;
    memset(in6, 0, sizeof *in6);
    in6->sin6_family = AF_INET6;
    in6->sin6_addr = in6addr_loopback;
    len = sizeof *in6;
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  }
  if (defer) {
    /* Long enough that only data (or the client's FIN) makes a
       connection acceptable. */
    int secs = 3600;
    setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &secs, sizeof secs);
  }
  if (real_bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, backlog) < 0 ||
      real_getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
    int e = errno;
    close(fd);
    return -e;
  }
  ep->fd = fd;
  ep->ino = fd_ino(fd);
  ep->port = ntohs(fam == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                  : ((struct sockaddr_in6 *)&ss)->sin6_port);
  return 0;
}

/* The sink: backlog 0 and one established connection in the accept queue.
   With the queue full the kernel drops every further SYN (counted as
   ListenOverflows), whatever tcp_syncookies says. */
static int sink_make(int fam, endpoint_t *ep) {
  struct sockaddr_storage ss;
  socklen_t len;
  struct sockaddr_in any4 = {.sin_family = AF_INET};
  struct sockaddr_in6 any6 = {.sin6_family = AF_INET6};
  struct pollfd p;
  int rc, fl, err = 0;
  socklen_t el = sizeof err;

  if ((rc = loopback_listener(fam, 0, 0, ep)) < 0)
    return rc;
  fl = fd_high(real_socket(fam, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (fl < 0)
    goto fail;
  target_addr(fam == AF_INET ? (struct sockaddr *)&any4 : (struct sockaddr *)&any6,
              fam == AF_INET ? sizeof any4 : sizeof any6, ep->port, &ss, &len);
  if (real_connect(fl, (struct sockaddr *)&ss, len) < 0 && errno != EINPROGRESS)
    goto fail_fl;
  /* Loopback: the handshake is done within microseconds; bounded wait. */
  p = (struct pollfd){fl, POLLOUT, 0};
  if (real_poll_ms(&p, 1, 2000) != 1 || real_getsockopt(fl, SOL_SOCKET, SO_ERROR, &err, &el) < 0 ||
      err != 0) {
    errno = err ? err : ETIMEDOUT;
    goto fail_fl;
  }
  ep->aux = fl;
  ep->aux_ino = fd_ino(fl);
  return 0;
fail_fl:
  rc = -errno;
  close(fl);
  close(ep->fd);
  ep->fd = -1;
  return rc;
fail:
  rc = -errno;
  close(ep->fd);
  ep->fd = -1;
  return rc;
}

static int sink_port(int fam, uint16_t *port) {
  endpoint_t *ep = &g_sink[fam_index(fam)];
  int rc = 0;
  pthread_mutex_lock(&g_ep_lock);
  if (!ep_alive(ep))
    rc = sink_make(fam, ep);
  if (rc == 0)
    *port = ep->port;
  pthread_mutex_unlock(&g_ep_lock);
  return rc;
}

/* ---- the reset helper thread -------------------------------------------------- */

#define RESET_HELD 64

/* Byte budget per client port, set by the connecting thread before it
   returns to the caller (so before the caller can send anything). */
static struct {
  uint32_t key;
  uint32_t n;
} g_budget[RESET_HELD];
static pid_t g_reset_pid; /* process whose helper thread runs */

static uint32_t budget_key(int fam, uint16_t port) { return (uint32_t)fam << 16 | port; }

static void budget_set(int fam, uint16_t port, uint32_t n) {
  uint32_t key = budget_key(fam, port);
  for (int i = 0; i < RESET_HELD; i++) {
    uint32_t cur = __atomic_load_n(&g_budget[i].key, __ATOMIC_ACQUIRE), zero = 0;
    if (cur == key ||
        (cur == 0 && __atomic_compare_exchange_n(&g_budget[i].key, &zero, key, 0, __ATOMIC_ACQ_REL,
                                                 __ATOMIC_ACQUIRE))) {
      __atomic_store_n(&g_budget[i].n, n, __ATOMIC_RELEASE);
      return;
    }
  }
}

static uint32_t budget_take(int fam, uint16_t port) {
  uint32_t key = budget_key(fam, port);
  for (int i = 0; i < RESET_HELD; i++)
    if (__atomic_load_n(&g_budget[i].key, __ATOMIC_ACQUIRE) == key) {
      uint32_t n = __atomic_load_n(&g_budget[i].n, __ATOMIC_ACQUIRE);
      __atomic_store_n(&g_budget[i].key, 0, __ATOMIC_RELEASE);
      return n;
    }
  return 0;
}

static void reset_now(int fd) {
  struct linger lg = {1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  close(fd); /* linger 0 (or unread data): the kernel sends RST */
}

/* The listeners the helper polls: [0..1] reset(N) (deferred accept) per
   family, [2..3] reset(accept) per family. */
#define RESET_LISTENERS 4

static endpoint_t *reset_listener(int i) { return i < 2 ? &g_resetl[i] : &g_acceptl[i - 2]; }

static void *reset_main(void *arg) {
  struct pollfd p[RESET_LISTENERS + RESET_HELD];
  uint32_t left[RESET_LISTENERS + RESET_HELD];
  int nheld = 0;
  char buf[4096];

  (void)arg;
  for (;;) {
    int n = 0;
    for (int f = 0; f < RESET_LISTENERS; f++)
      p[n++] =
        (struct pollfd){__atomic_load_n(&reset_listener(f)->fd, __ATOMIC_ACQUIRE), POLLIN, 0};
    for (int i = 0; i < nheld; i++)
      p[n + i].revents = 0;
    if (poll(p, (nfds_t)(n + nheld), -1) < 0)
      continue;
    /* Held connections first: compact the array while walking it. */
    for (int i = 0, w = 0, m = nheld; i < m; i++) {
      struct pollfd q = p[n + i];
      uint32_t l = left[n + i];
      if (q.revents) {
        ssize_t r = read(q.fd, buf, l + 1 < sizeof buf ? l + 1 : sizeof buf);
        if (r <= 0 || (uint32_t)r > l) {
          reset_now(q.fd);
          nheld--;
          continue;
        }
        l -= (uint32_t)r;
      }
      p[n + w] = q;
      p[n + w].events = POLLIN;
      left[n + w] = l;
      w++;
    }
    for (int f = 0; f < RESET_LISTENERS; f++) {
      int s;
      struct sockaddr_storage peer;
      socklen_t plen;
      if (p[f].fd < 0 || !(p[f].revents & POLLIN))
        continue;
      while (plen = sizeof peer, (s = accept4(p[f].fd, (struct sockaddr *)&peer, &plen,
                                              SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
        uint16_t port = ntohs(peer.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&peer)->sin6_port
                                                         : ((struct sockaddr_in *)&peer)->sin_port);
        uint32_t budget;
        if (f >= 2) {
          /* reset(accept): the server that accepts and resets at once. */
          reset_now(s);
          continue;
        }
        s = fd_high(s);
        budget = budget_take(f ? AF_INET6 : AF_INET, port);
        /* The connection became acceptable because data (or a FIN)
           arrived: take up to the budget, reset at the first byte over. */
        ssize_t r = read(s, buf, budget + 1 < sizeof buf ? budget + 1 : sizeof buf);
        if (r == 0 || (r > 0 && (uint32_t)r > budget) || nheld == RESET_HELD ||
            (r < 0 && errno != EAGAIN)) {
          reset_now(s);
          continue;
        }
        p[n + nheld] = (struct pollfd){s, POLLIN, 0};
        left[n + nheld] = budget - (r > 0 ? (uint32_t)r : 0);
        nheld++;
      }
    }
  }
  return NULL;
}

/* Listener for fam, and the helper thread of this process.  Both families'
   listeners exist before the thread polls them (the v6 one may fail: no
   IPv6 on the host). */
static int reset_port(int fam, int at_accept, uint16_t *port) {
  endpoint_t *ep = at_accept ? &g_acceptl[fam_index(fam)] : &g_resetl[fam_index(fam)];
  int rc = 0;

  pthread_mutex_lock(&g_ep_lock);
  if (g_reset_pid != getpid()) {
    pthread_t th;
    pthread_attr_t at;
    sigset_t all, old;
    for (int f = 0; f < RESET_LISTENERS; f++)
      if (!ep_alive(reset_listener(f)))
        loopback_listener(f % 2 ? AF_INET6 : AF_INET, 64, f < 2, reset_listener(f));
    /* The helper must never run the program's signal handlers. */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&at, 64 * 1024);
    rc = -pthread_create(&th, &at, reset_main, NULL);
    pthread_attr_destroy(&at);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc == 0) {
      g_reset_pid = getpid();
      pthread_setname_np(th, "fdsoak-reset");
    }
  }
  if (rc == 0 && ep->fd < 0)
    rc = -EAFNOSUPPORT;
  if (rc == 0)
    *port = ep->port;
  pthread_mutex_unlock(&g_ep_lock);
  return rc;
}

void inj__faults_atfork_child(void) {
  /* The child has no helper thread (nor the lock's owner): it starts its
     own on its first reset; the inherited endpoints stay usable. */
  pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;
  pthread_mutex_t fresh2 = PTHREAD_MUTEX_INITIALIZER;
  pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
  g_ep_lock = fresh;
  g_redir_lock = fresh;
  g_reset_pid = 0;
  /* Nor its speed timer: the parent's pending deadlines are not its own. */
  g_due_lock = fresh2;
  g_due_cv = cv;
  g_due_pid = 0;
  for (int i = 0; i < DUE_MAX && g_due_init; i++)
    g_due[i].fd = -1;
}

/* ---- the kernel's SYN timeout at the program's speed ------------------------- */

/*
 * Under --speed (inj__speed > 0) the program's own timeouts are scaled, but
 * the kernel still gives up on a SYN-SENT socket after ~127 real seconds
 * (net.ipv4.tcp_syn_retries), and TCP_USER_TIMEOUT cannot make that
 * shorter than the first retransmit, 1 s (measured).  So a helper thread
 * ends a faulted connect itself when its virtual time is up: shutdown() of
 * a SYN-SENT socket is the kernel's own disconnect -- POLLOUT|POLLERR|
 * POLLHUP, as a real timeout gives -- with SO_ERROR ECONNRESET, which the
 * SO_ERROR translation reports as the modelled error (ETIMEDOUT, or the
 * unreachable errno); a blocking connect returns it at once.
 */

static long long real_mono_ns(void) {
  struct timespec ts;
  syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* The kernel's SYN timeout in seconds: 1 + 2 + ... + 2^retries. */
static double syn_timeout_s(void) {
  char buf[16] = {0};
  int fd = inj__raw_open("/proc/sys/net/ipv4/tcp_syn_retries", O_RDONLY | O_CLOEXEC, 0), r = 6;

  if (fd >= 0) {
    if (read(fd, buf, sizeof buf - 1) > 0)
      r = (int)strtol(buf, NULL, 10);
    close(fd);
  }
  if (r < 1 || r > 30)
    r = 6;
  return (double)((1LL << (r + 1)) - 1);
}

static void due_fire(int i) {
  struct tcp_info ti;
  socklen_t tl = sizeof ti;
  int fd = g_due[i].fd;

  g_due[i].fd = -1;
  /* Only the socket we left in SYN-SENT: not a number reused since, not
     a connect that the caller already gave up on and closed. */
  if (fd_ino(fd) != g_due[i].ino || real_getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &tl) != 0 ||
      ti.tcpi_state != TCP_SYN_SENT)
    return;
  pending_set(fd, ECONNRESET, g_due[i].modelled, 0);
  shutdown(fd, SHUT_RDWR);
}

static void *due_main(void *arg) {
  (void)arg;
  pthread_mutex_lock(&g_due_lock);
  for (;;) {
    long long next = -1, now = real_mono_ns();
    struct timespec ts;
    int i;

    for (i = 0; i < DUE_MAX; i++) {
      if (g_due[i].fd < 0)
        continue;
      if (g_due[i].due_ns <= now)
        due_fire(i);
      else if (next < 0 || g_due[i].due_ns < next)
        next = g_due[i].due_ns;
    }
    if (next < 0) {
      pthread_cond_wait(&g_due_cv, &g_due_lock);
      continue;
    }
    /* Sleep in real time, in slices, so a shorter new deadline is never
       late by more than a slice. */
    if (next > now + 2000000LL)
      next = now + 2000000LL;
    pthread_mutex_unlock(&g_due_lock);
    ts.tv_sec = (time_t)(next / 1000000000LL);
    ts.tv_nsec = (long)(next % 1000000000LL);
    syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
    pthread_mutex_lock(&g_due_lock);
  }
  return NULL;
}

/* End fd's connect after virt_s of the program's time, as modelled. */
static void due_arm(int fd, double virt_s, int modelled) {
  long long due = real_mono_ns() + (long long)(virt_s / inj__speed * 1e9);
  int i;

  pthread_mutex_lock(&g_due_lock);
  if (!g_due_init) {
    for (i = 0; i < DUE_MAX; i++)
      g_due[i].fd = -1;
    g_due_init = 1;
  }
  if (g_due_pid != getpid()) {
    pthread_t th;
    pthread_attr_t at;
    sigset_t all, old;

    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&at, 64 * 1024);
    if (pthread_create(&th, &at, due_main, NULL) == 0) {
      g_due_pid = getpid();
      pthread_setname_np(th, "fdsoak-speed");
    }
    pthread_attr_destroy(&at);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
  }
  for (i = 0; i < DUE_MAX; i++)
    if (g_due[i].fd < 0 || g_due[i].fd == fd) {
      g_due[i].fd = fd;
      g_due[i].ino = fd_ino(fd);
      g_due[i].due_ns = due;
      g_due[i].modelled = modelled ? modelled : ETIMEDOUT;
      break;
    }
  pthread_cond_signal(&g_due_cv);
  pthread_mutex_unlock(&g_due_lock);
}

/* ---- the address the caller asked for ----------------------------------------

   A reset socket is really connected to the shim's private listener; what
   the program asks about it (getpeername, SO_PEERNAME, getsockname) must
   name the address it connected to, as on the real event (ssh prints
   "Connection reset by 127.0.0.1 port <the port it asked for>").  Each
   redirected fd gets an entry: the asked address, and the local address
   the kernel would have chosen for it.  An entry is trusted only while the
   fd's real peer is still the private listener it was pointed at, so a
   closed and reused fd number can never borrow it; an entry whose fd no
   longer is such a socket is reused when the table is full. */
#define REDIR_SLOTS 1024

typedef struct redirect {
  int fd1; /* fd + 1; 0 = free */
  uint16_t priv_port;
  ino_t ino; /* unreachable: the namespace's socket (0: not checked) */
  socklen_t asked_len, local_len;
  struct sockaddr_in6 asked, local; /* big enough for either family */
} redirect_t;

static redirect_t g_redir[REDIR_SLOTS];
/* fds below PENDING_DIRECT that may have an entry: once a reset fault has
   armed the hooks, every connect, getpeername and getsockname of the
   process asks, and most must get "no" without the lock or a scan. */
static uint8_t g_redir_maybe[PENDING_DIRECT];

static int redir_maybe(int fd) {
  return fd >= PENDING_DIRECT || (fd >= 0 && __atomic_load_n(&g_redir_maybe[fd], __ATOMIC_ACQUIRE));
}

static uint16_t sa_port(const struct sockaddr *sa) {
  return ntohs(sa->sa_family == AF_INET6 ? ((const struct sockaddr_in6 *)sa)->sin6_port
                                         : ((const struct sockaddr_in *)sa)->sin_port);
}

static void sa_set_port(struct sockaddr *sa, uint16_t port) {
  if (sa->sa_family == AF_INET6)
    ((struct sockaddr_in6 *)sa)->sin6_port = htons(port);
  else
    ((struct sockaddr_in *)sa)->sin_port = htons(port);
}

/* The real peer of fd is a private listener on port priv; for an
   unreachable socket (ino given), fd is still that socket: it has no peer
   to ask about (getpeername is ENOTCONN in SYN-SENT, as on the real
   event), and its inode is never reused while fd holds it. */
static int redir_still(int fd, uint16_t priv, ino_t ino) {
  struct sockaddr_storage peer;
  socklen_t len = sizeof peer;
  if (ino)
    return fd_ino(fd) == ino;
  return real_getpeername(fd, (struct sockaddr *)&peer, &len) == 0 &&
         (peer.ss_family == AF_INET || peer.ss_family == AF_INET6) &&
         sa_port((struct sockaddr *)&peer) == priv;
}

static int sa_is_loopback(const struct sockaddr *sa) {
  if (sa->sa_family == AF_INET)
    return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
  return sa->sa_family == AF_INET6 &&
         IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)sa)->sin6_addr);
}

/* The source address the kernel would pick for dst: a UDP socket's
   connect only routes.  Loopback destinations keep the real local address
   (it is the same) unless always is set (the socket lives in another
   namespace); 0 when there is no route or no fd to ask with. */
static socklen_t local_for(int fd, const struct sockaddr *dst, socklen_t dlen,
                           struct sockaddr_in6 *out, int always) {
  struct sockaddr_storage me;
  socklen_t len = sizeof me;
  int u;

  if ((!always && sa_is_loopback(dst)) || real_getsockname(fd, (struct sockaddr *)&me, &len) < 0 ||
      me.ss_family != dst->sa_family)
    return 0;
  u = real_socket(dst->sa_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (u < 0)
    return 0;
  len = sizeof me;
  if (real_connect(u, dst, dlen) < 0 || real_getsockname(u, (struct sockaddr *)&me, &len) < 0 ||
      len > sizeof *out)
    len = 0;
  close(u);
  if (len)
    memcpy(out, &me, len);
  return len;
}

static void redir_set(int fd, const struct sockaddr *asked, socklen_t alen, uint16_t priv,
                      ino_t ino) {
  redirect_t e = {.fd1 = fd + 1, .priv_port = priv, .ino = ino};
  int slot = -1;

  if (alen > sizeof e.asked)
    return;
  memcpy(&e.asked, asked, alen);
  e.asked_len = alen;
  e.local_len = local_for(fd, asked, alen, &e.local, ino != 0);
  pthread_mutex_lock(&g_redir_lock);
  for (int i = 0; i < REDIR_SLOTS && slot < 0; i++)
    if (g_redir[i].fd1 == fd + 1)
      slot = i;
  for (int i = 0; i < REDIR_SLOTS && slot < 0; i++)
    if (g_redir[i].fd1 == 0)
      slot = i;
  for (int i = 0; i < REDIR_SLOTS && slot < 0; i++)
    if (!redir_still(g_redir[i].fd1 - 1, g_redir[i].priv_port, g_redir[i].ino))
      slot = i;
  if (slot >= 0) {
    g_redir[slot] = e;
    if (fd < PENDING_DIRECT)
      __atomic_store_n(&g_redir_maybe[fd], 1, __ATOMIC_RELEASE);
  }
  pthread_mutex_unlock(&g_redir_lock);
  __atomic_fetch_or(&inj__hot, HOT_REDIRECT, __ATOMIC_RELEASE);
}

void inj__redirect_clear(int fd) {
  if (!redir_maybe(fd))
    return;
  pthread_mutex_lock(&g_redir_lock);
  for (int i = 0; i < REDIR_SLOTS; i++)
    if (g_redir[i].fd1 == fd + 1)
      g_redir[i].fd1 = 0;
  if (fd < PENDING_DIRECT)
    __atomic_store_n(&g_redir_maybe[fd], 0, __ATOMIC_RELEASE);
  pthread_mutex_unlock(&g_redir_lock);
}

int inj__redirect_name(int fd, int peer, struct sockaddr *sa, socklen_t *len) {
  redirect_t e = {0};

  if (fd < 0 || !sa || !len || !redir_maybe(fd))
    return 0;
  pthread_mutex_lock(&g_redir_lock);
  for (int i = 0; i < REDIR_SLOTS; i++)
    if (g_redir[i].fd1 == fd + 1) {
      e = g_redir[i];
      break;
    }
  pthread_mutex_unlock(&g_redir_lock);
  if (!e.fd1 || !redir_still(fd, e.priv_port, e.ino))
    return 0;
  if (peer) {
    memcpy(sa, &e.asked, *len < e.asked_len ? *len : e.asked_len);
    *len = e.asked_len;
  } else if (e.local_len) {
    /* The real local port, on the address the kernel would have used. */
    struct sockaddr_storage me;
    socklen_t mlen = sizeof me;
    if (real_getsockname(fd, (struct sockaddr *)&me, &mlen) < 0)
      return 0;
    sa_set_port((struct sockaddr *)&e.local, sa_port((struct sockaddr *)&me));
    memcpy(sa, &e.local, *len < e.local_len ? *len : e.local_len);
    *len = e.local_len;
  }
  return 1;
}

/* ---- the faults ------------------------------------------------------------- */

static int fault_refuse(int fd, const struct sockaddr *sa, socklen_t salen, int modelled) {
  struct sockaddr_storage ss;
  socklen_t len;
  int rc, e;

  if (!sa || !sock_is_stream(fd) || target_addr(sa, salen, 0, &ss, &len) < 0) {
    errno = modelled; /* AF_UNIX and datagram connects fail synchronously */
    return -1;
  }
  rc = real_connect(fd, (struct sockaddr *)&ss, len);
  e = errno;
  if (rc == 0) {
    /* Cannot happen on a sane kernel; never report success for a fault. */
    errno = modelled;
    return -1;
  }
  if (e == EINPROGRESS) {
    if (modelled != ECONNREFUSED)
      pending_set(fd, ECONNREFUSED, modelled, 0);
    errno = EINPROGRESS;
    return -1;
  }
  /* Blocking socket (ECONNREFUSED from the kernel) or an odd state such as
     a socket bound to an address that cannot reach loopback. */
  errno = e == ECONNREFUSED ? modelled : e;
  return -1;
}

/* Point the caller's socket at the sink: a real SYN-SENT socket.  uto_ms > 0
   asks the kernel to give up at the first SYN retransmit (unreachable). */
static int fault_sink(int fd, const struct sockaddr *sa, socklen_t salen, int uto_ms,
                      int modelled) {
  struct sockaddr_storage ss;
  socklen_t len;
  uint16_t port = 0;
  int fam, rc;

  if (!sa || !sock_is_stream(fd))
    return real_connect(fd, sa, salen); /* only TCP has a handshake to lose */
  fam = target_addr(sa, salen, 0, &ss, &len);
  if (fam < 0)
    return real_connect(fd, sa, salen);
  if ((rc = sink_port(fam, &port)) < 0) {
    /* No silent pass: the caller sees the resource error. */
    errno = -rc;
    return -1;
  }
  target_addr(sa, salen, port, &ss, &len);
  if (inj__speed > 0) {
    /* The kernel's timing (the first retransmit for unreachable, the SYN
       retries for a blackhole) at the program's speed (above). */
    due_arm(fd, uto_ms > 0 ? 1.0 : syn_timeout_s(), modelled);
    rc = real_connect(fd, (struct sockaddr *)&ss, len);
    if (rc < 0 && errno == ECONNRESET) {
      inj__pending_take(fd, ECONNRESET);
      errno = modelled ? modelled : ETIMEDOUT;
    }
    return rc;
  }
  if (uto_ms > 0)
    setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &uto_ms, sizeof uto_ms);
  rc = real_connect(fd, (struct sockaddr *)&ss, len);
  if (rc < 0 && modelled) {
    if (errno == ETIMEDOUT)
      errno = modelled;
    else if (errno == EINPROGRESS)
      pending_set(fd, ETIMEDOUT, modelled, 1); /* unreachable: the ICMP's soft error */
  }
  return rc;
}

/* reset(accept), in the connecting thread: the server that accepts and
   resets at once.  On the real event (fid_rstd: a C server blocked in
   accept() that closes with SO_LINGER 0) the client's outcome is a race:
   the RST mostly arrives before the client looks at its socket ("connect
   ECONNRESET" in Node, libuv, Perl, socat; poll POLLOUT|POLLERR|POLLHUP),
   sometimes after its request went out ("Recv failure").  A helper thread
   made the injected outcome a race as well; instead the connecting thread
   resets the connection itself before connect returns, so the outcome is
   always the first one, deterministic, and one the real event gives.  It
   accepts whatever the listener holds (every connection there is to be
   reset) until its own socket shows the reset, for at most a second. */
static void reset_accepted_now(int fd, int fam) {
  endpoint_t *ep = &g_acceptl[fam_index(fam)];
  long long end = real_mono_ns() + 1000000000LL; /* real time, as under --speed */

  for (;;) {
    struct pollfd me = {fd, 0, 0}, lp = {ep->fd, POLLIN, 0};
    int s;
    while ((s = accept4(ep->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0)
      reset_now(s);
    if (real_poll_ms(&me, 1, 0) < 0 || (me.revents & (POLLERR | POLLHUP)) || real_mono_ns() >= end)
      return;
    real_poll_ms(&lp, 1, 10);
  }
}

static int fault_reset(int fd, const struct sockaddr *sa, socklen_t salen, uint64_t arg) {
  int at_accept = arg == INJ_RESET_AT_ACCEPT;
  uint32_t budget = at_accept ? 0 : (uint32_t)arg;
  struct sockaddr_storage ss, me;
  socklen_t len, mlen = sizeof me;
  uint16_t port = 0;
  int fam, rc, e;

  if (!sa || !sock_is_stream(fd))
    return real_connect(fd, sa, salen);
  fam = target_addr(sa, salen, 0, &ss, &len);
  if (fam < 0)
    return real_connect(fd, sa, salen);
  if ((rc = reset_port(fam, at_accept, &port)) < 0) {
    errno = -rc;
    return -1;
  }
  target_addr(sa, salen, port, &ss, &len);
  rc = real_connect(fd, (struct sockaddr *)&ss, len);
  e = errno;
  if (rc == 0 || e == EINPROGRESS)
    redir_set(fd, sa, salen, port, 0);
  if ((rc == 0 || e == EINPROGRESS) && at_accept)
    reset_accepted_now(fd, fam);
  if ((rc == 0 || e == EINPROGRESS) && budget &&
      real_getsockname(fd, (struct sockaddr *)&me, &mlen) == 0)
    budget_set(fam,
               ntohs(me.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&me)->sin6_port
                                              : ((struct sockaddr_in *)&me)->sin_port),
               budget);
  errno = e;
  return rc;
}

/* ---- unreachable over IPv4, non-blocking: the real event ---------------------

   On the real event the ICMP answers the SYN inside connect(), while the
   socket is locked: a soft error, so poll gives POLLERR alone, the socket
   stays in SYN-SENT, and the ICMP for the first retransmit (~1 s) closes
   it.  Only routing in the socket's own network namespace can answer
   inside connect(), so fdsoak runs a helper in a namespace of its own
   (harness/src/unreachd.c) that makes sockets there and passes them over a
   unix socket named by FDSOAK_UNREACH.  The shim asks it for one (a fresh
   connection per fault: nothing shared, fork-safe), copies the program's
   file status flags and the socket options it changed, connects it to the
   helper's reserved address (the kernel answers as on the real event) and
   dup3s it over the program's fd, keeping FD_CLOEXEC as it was.  The
   asked address goes into the redirect table, so getpeername and
   getsockname name what the real event shows.

   Where that cannot be done the fault is the refusal below
   (POLLOUT|POLLERR|POLLHUP, same SO_ERROR and time), and the stats page
   says why (unreach_approx, unreach_why): no helper (the shim preloaded by
   hand), a socket the program bound (its address would be lost), one in an
   epoll set or with O_ASYNC (the program would watch the old socket). */

static void unreach_note(int why) {
  if (!inj__page)
    return;
  __atomic_store_n(&inj__page->unreach_why, (uint32_t)why, __ATOMIC_RELAXED);
  __atomic_fetch_add(&inj__page->unreach_approx, 1, __ATOMIC_RELAXED);
}

/* fd is in some epoll set of the process (its fdinfo lists it as a tfd). */
static int in_epoll(int fd) {
  char path[64], link[64], buf[4096];
  int dir = inj__raw_open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0), found = 0;
  long n;

  if (dir < 0)
    return 1; /* cannot tell: assume the worst */
  while (!found && (n = syscall(SYS_getdents64, dir, buf, sizeof buf)) > 0) {
    for (long off = 0; off < n && !found;) {
      struct {
        uint64_t ino;
        int64_t off;
        unsigned short reclen;
        unsigned char type;
        char name[];
      } *d = (void *)(buf + off);
      ssize_t k;
      off += d->reclen;
      if (d->name[0] == '.')
        continue;
      snprintf(path, sizeof path, "/proc/self/fd/%s", d->name);
      k = readlink(path, link, sizeof link - 1);
      if (k <= 0 || (size_t)k != strlen("anon_inode:[eventpoll]") ||
          memcmp(link, "anon_inode:[eventpoll]", (size_t)k) != 0)
        continue;
      snprintf(path, sizeof path, "/proc/self/fdinfo/%s", d->name);
      int f = inj__raw_open(path, O_RDONLY | O_CLOEXEC, 0);
      if (f < 0)
        continue;
      char info[4096];
      ssize_t got = read(f, info, sizeof info - 1);
      close(f);
      if (got <= 0)
        continue;
      info[got] = '\0';
      for (char *t = strstr(info, "tfd:"); t && !found; t = strstr(t + 4, "tfd:"))
        found = strtol(t + 4, NULL, 10) == fd;
    }
  }
  close(dir);
  return found;
}

/* 0 when fd can be replaced by a socket of the namespace, else INJ_UNREACH_*. */
static int unreach_movable(int fd) {
  struct sockaddr_in me;
  socklen_t len = sizeof me;
  int fl = fcntl(fd, F_GETFL);

  if (real_getsockname(fd, (struct sockaddr *)&me, &len) < 0 || me.sin_family != AF_INET ||
      me.sin_port != 0 || me.sin_addr.s_addr != htonl(INADDR_ANY))
    return INJ_UNREACH_BOUND;
  if (fl < 0 || (fl & O_ASYNC) || in_epoll(fd))
    return INJ_UNREACH_WATCHED;
  return 0;
}

/* The helper's socket and the option copy (raw system calls, past the
   shim's own hooks): unreach.c, shared with the seccomp engine (harness
   supervise.c). */

/* The real event through the helper: 0 (errno EINPROGRESS, fd replaced),
   or INJ_UNREACH_* when fd was left as it was. */
static int fault_unreach_ns(int fd, const struct sockaddr *sa, int code) {
  const char *name = getenv("FDSOAK_UNREACH");
  struct sockaddr_in dst = *(const struct sockaddr_in *)sa;
  int why, type = 0, proto = 0, nfd, fdfl, fl;
  socklen_t tl = sizeof type, pl = sizeof proto;
  uint32_t addr = 0;

  if (!name || !*name)
    return INJ_UNREACH_NO_HELPER;
  if ((why = unreach_movable(fd)) != 0)
    return why;
  if (real_getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) != 0 ||
      real_getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &pl) != 0 ||
      (fdfl = fcntl(fd, F_GETFD)) < 0 || (fl = fcntl(fd, F_GETFL)) < 0)
    return INJ_UNREACH_HELPER;
  nfd = inj_unreach_fetch(name, code == ENETUNREACH ? 0 : 1, type, proto, &addr);
  if (nfd < 0)
    return INJ_UNREACH_HELPER;
  inj_unreach_copy_opts(fd, nfd);
  fcntl(nfd, F_SETFL, fl);
  dst.sin_addr.s_addr = addr;
  /* Connected before it replaces the program's socket: should anything
     be off, the program's socket is still untouched. */
  if (real_connect(nfd, (struct sockaddr *)&dst, sizeof dst) == 0 || errno != EINPROGRESS ||
      dup3(nfd, fd, (fdfl & FD_CLOEXEC) ? O_CLOEXEC : 0) < 0) {
    close(nfd);
    return INJ_UNREACH_HELPER;
  }
  close(nfd);
  redir_set(fd, sa, sizeof(struct sockaddr_in), ntohs(dst.sin_port), fd_ino(fd));
  /* The next retransmit's ICMP closes the socket after 1 s of real time;
     under --speed, after 1 s of the program's (above). */
  if (inj__speed > 0)
    due_arm(fd, 1.0, code);
  errno = EINPROGRESS;
  return 0;
}

int inj__fault_connect(const inj_rule_t *r, int fd, const struct sockaddr *sa, socklen_t len) {
  switch (r->action) {
  case INJ_DO_ASYNC:
    return fault_refuse(fd, sa, len, r->code);
  case INJ_DO_HANG:
    return fault_sink(fd, sa, len, 0, 0);
  case INJ_DO_UNREACH:
    if (sa && sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in) &&
        sock_is_nonblocking(fd)) {
      /* Datagram sockets fail at once, as they do on the real event. */
      int why = sock_is_stream(fd) ? fault_unreach_ns(fd, sa, r->code) : -1;
      if (why == 0)
        return -1; /* EINPROGRESS, the real event under way */
      if (why > 0)
        unreach_note(why);
      return fault_refuse(fd, sa, len, r->code);
    }
    return fault_sink(fd, sa, len, 1, r->code);
  case INJ_DO_RESET:
    return fault_reset(fd, sa, len, r->arg);
  default:
    errno = r->code;
    return -1;
  }
}
