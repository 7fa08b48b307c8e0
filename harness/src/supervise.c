/* supervise.c - the seccomp engine: the shim's rules for programs that make
 * their own system calls (static binaries, Go), served from inside fdsoak.
 *
 * An LD_PRELOAD shim reaches only calls that go through a dynamically
 * linked libc.  Here the started child installs a seccomp filter before it
 * execs the target: connect, bind, socket and the open calls of an op that
 * has rules stop in the kernel with SECCOMP_RET_USER_NOTIF, and the
 * filter's listener fd goes to fdsoak over a socketpair (SCM_RIGHTS); the
 * child closes its own copy, so the target's fd table holds nothing of
 * ours.  The filter is inherited through fork and exec: the whole tree is
 * served.  A thread of fdsoak receives each notification, decides it with
 * the shim's own code (inj_decide, on the same stats page, so the counters,
 * do=pass and the report are the same), and answers:
 *
 *   no rule fired, do=pass   SECCOMP_USER_NOTIF_FLAG_CONTINUE: the kernel
 *                            runs the call as it was (pass counts as
 *                            observed, in inj_decide);
 *   errno(E)                 the call fails with E, nothing else happens;
 *   refuse, hang             faithful, as the shim makes them: fdsoak takes
 *                            a copy of the caller's own socket
 *                            (pidfd_getfd), connects the copy to a closed
 *                            loopback port (the SYN is answered by RST) or
 *                            to a full-backlog sink (the SYNs are dropped),
 *                            and returns that connect's result.  The socket
 *                            is the caller's, registered in its epoll as it
 *                            was: the kernel delivers the RST, SO_ERROR and
 *                            the wake-up to it.  A blocking socket's connect
 *                            is started non-blocking and a helper thread
 *                            answers when the kernel has the result, so one
 *                            hanging caller never stops the others.
 *   unreachable(net|host)    over IPv4, the real event, as the shim makes
 *                            it: a socket of fdsoak's namespace helper
 *                            (unreachd.c), with the caller's flags and
 *                            options, connected there (the ICMP answers
 *                            the SYN inside that connect: poll gives
 *                            POLLERR alone, the socket stays in SYN-SENT)
 *                            and installed over the caller's fd
 *                            (SECCOMP_IOCTL_NOTIF_ADDFD, SETFD); a blocking
 *                            caller is answered by a helper thread when
 *                            the retransmit's ICMP ends it (~1 s).  A
 *                            bound socket, one in an epoll set or with
 *                            O_ASYNC, no helper, or a refused ADDFD keep
 *                            the model, counted on the stats page as the
 *                            shim counts them (unreach_approx/_why), as
 *                            does IPv6: a non-blocking connect a refusal,
 *                            any other the sink with TCP_USER_TIMEOUT
 *                            1 ms; getsockopt is notified too, and
 *                            SO_ERROR of a modelled socket reports the
 *                            modelled errno in place of the kernel's.
 *   getaddrinfo rules        connects to port 53 get the caller's socket
 *                            connected to fdsoak's DNS stub (dnsstub.c),
 *                            which answers as the rules say.
 *   reset(N)                 the copy connects to a listener of fdsoak's
 *                            that resets the connection after N bytes; the
 *                            caller's getpeername is answered with the
 *                            address it dialled.
 *
 * With origins on, open and socket calls are notified too: the caller's
 * thread is stopped in the kernel, so its Go stack is walked (gosym.c) and
 * kept by process and path for the report.
 *
 * The filter waits killably once a notification is received
 * (SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV, Linux 5.19): Go's preemption
 * signal (SIGURG, every 10 ms) would otherwise restart a call fdsoak already
 * acted on.  io_uring_setup fails with ENOSYS in the supervised tree, since
 * io_uring's operations bypass seccomp: a program then falls back to plain
 * system calls.  The syscall tables are x86-64's and arm64's; a call of
 * another ABI (x32, i386 compat) passes unseen.
 *
 * In a container whose seccomp profile refuses process_vm_readv and
 * pidfd_getfd (Docker's default without CAP_SYS_PTRACE), arguments are read
 * through /proc/TID/mem (gosym.c: fsk__peek) and connect faults are errno
 * only; the report's line says both.
 */
#include "supervise.h"
#include "bpfconn.h"
#include "../bpf/bpfconn_abi.h"
#include "csym.h"
#include "dnsstub.h"
#include "gosym.h"
#include "grow.h"
#include "inj_sec.h"
#include "inj_unreach.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/random.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif
/* Linux 6.6: wake the supervisor on the caller's CPU, and the caller on
 * the supervisor's, as a synchronous pair (the headers may predate it). */
#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#endif
#ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (1UL << 0)
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

/* Origins kept (a ring: the newest win), and Go programs whose tables are
 * loaded at once. */
#define SUP_ORIGINS 2048
#define SUP_PROGS 8

#define SUP_PEERNAME INJ_SEC_PEERNAME
#define SUP_SOCKOPT INJ_SEC_SOCKOPT

/* The serving thread's nice value, where fdsoak may set it (root, or
 * CAP_SYS_NICE): every notified call waits for this thread to be scheduled,
 * and on a loaded machine that wait, not the work (a few us), is most of a
 * round trip.  go_dial.sh measures it against fdsoak's own nice. */
#define SUP_SERVE_NICE (-10)

/* Helper threads waiting on blocking connects at once; past this a blocking
 * caller gets the fault's errno at once (and the report says so). */
#define SUP_WAITERS_MAX 64

/* Listeners served at once: the one of a started tree, and one per subtree
 * the shim hands over through exec (--engine auto).  A listener whose
 * filter has no process left is let go (its slot reused). */
#define SUP_LISTENERS 64

/* The listener the calling thread serves: each serving thread has one, and
 * a helper answering for it inherits it (respond and id_valid use it). */
static __thread int t_lfd = -1;

typedef struct sup_lst {
  struct fsk__sup *s;
  int fd;    /* the filter's notification fd */
  pid_t pid; /* the process that installed the filter */
  int state; /* 0 free, 1 reserved, 2 served by th */
  int stop;  /* the thread ends at its next wake-up */
  pthread_t th;
} sup_lst_t;

/* ------------------------------------------------------------------ */
/* Engines and program kinds                                           */
/* ------------------------------------------------------------------ */

int fsk__engine_parse(const char *s) {
  if (s == NULL)
    return -1;
  if (strcmp(s, "auto") == 0)
    return FSK_ENGINE_AUTO;
  if (strcmp(s, "preload") == 0)
    return FSK_ENGINE_PRELOAD;
  if (strcmp(s, "seccomp") == 0)
    return FSK_ENGINE_SECCOMP;
  return -1;
}

/* cmd as execvp would find it. */
static int resolve(const char *cmd, char *path, size_t len) {
  const char *p = getenv("PATH");

  if (strchr(cmd, '/') != NULL) {
    snprintf(path, len, "%s", cmd);
    return access(path, X_OK) == 0 ? 0 : -errno;
  }
  if (p == NULL)
    p = "/usr/local/bin:/usr/bin:/bin";
  while (*p != '\0') {
    const char *e = strchr(p, ':');
    size_t n = e != NULL ? (size_t)(e - p) : strlen(p);

    snprintf(path, len, "%.*s/%s", (int)n, n > 0 ? p : ".", cmd);
    if (access(path, X_OK) == 0)
      return 0;
    p += n + (e != NULL);
  }
  return -ENOENT;
}

int fsk__elf_kind(const char *cmd, char *path, size_t pathlen) {
  int fd, rc;

  if ((rc = resolve(cmd, path, pathlen)) != 0)
    return rc;
  if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
    return -errno;
  rc = inj_sec_elf_kind(fd);
  close(fd);
  return rc;
}

/* The DNS answer that makes a resolver return what an eai(E[,T]) rule
 * says getaddrinfo returns (glibc's own mapping: NXDOMAIN -> EAI_NONAME,
 * SERVFAIL -> EAI_AGAIN, no record -> EAI_NODATA; a
 * server that never answers -> EAI_AGAIN after the resolver's timeouts),
 * or -1 when no answer makes it. */
static int dns_rcode_of(const inj_rule_t *r) {
  if (r->action == INJ_DO_PASS)
    return FSK_DNS_FORWARD;
  if (r->action != INJ_DO_EAI)
    return -1;
  if (r->arg > 0)
    return r->code == EAI_AGAIN ? FSK_DNS_DROP : -1;
  switch (r->code) {
  case EAI_NONAME:
    return FSK_DNS_NXDOMAIN;
  case EAI_AGAIN:
    return FSK_DNS_SERVFAIL;
#ifdef EAI_NODATA
  case EAI_NODATA:
    return FSK_DNS_NOERROR;
#endif
  default:
    return -1;
  }
}

int fsk__sup_unsupported(const inj_spec_t *spec, char *why, size_t len) {
  uint32_t i;

  for (i = 0; i < spec->nrules; i++) {
    const inj_rule_t *r = &spec->rules[i];

    if (r->op == INJ_OP_GETADDRINFO && dns_rcode_of(r) == -1) {
      snprintf(why, len,
               "a static or Go program resolves names with its own queries, which the engine "
               "answers from a DNS stub: only eai(EAI_NONAME) (NXDOMAIN), eai(EAI_AGAIN) "
               "(SERVFAIL), eai(EAI_AGAIN,T) (no answer), eai(EAI_NODATA) (no record) and "
               "pass have an answer that makes them");
      return (int)i + 1;
    }
  }
  return 0;
}

/* ------------------------------------------------------------------ */
/* The filter                                                          */
/* ------------------------------------------------------------------ */

/* The filter itself is inj_sec_build (fault-injection sec.c), shared with
 * the shim, which installs it before an exec under --engine auto. */

/* ------------------------------------------------------------------ */
/* The supervisor                                                      */
/* ------------------------------------------------------------------ */

struct fsk__sup {
  inj_spec_t spec;
  inj_stats_page_t *page;
  /* Connects decided in the kernel (bpfconn.c): bpf set while loaded,
   * bpf_on once attached to the tree's cgroup, else bpf_why says why the
   * connects are notified ("" when BPF was not asked for). */
  fsk__bpfconn_t *bpf;
  int bpf_on;
  char bpf_why[200];
  /* Origins by eBPF stack capture (bpfconn.c's tracepoint programs): then
   * open and socket are not notified for origins.  bpf_origins once they
   * are attached, else origins_why says why they are notified ("" when
   * origins are off); the filter without connect, rebuilt by bpf_cg_ready
   * should the capture not attach. */
  int want_origins, bpf_origins, use_progb;
  /* origin_event's last program: valid while the record's tgid and the
   * tree's exec count are those it was found for, and the slot holds it. */
  struct {
    pid_t tgid;
    uint64_t execs;
    unsigned long long start;
    struct sup_prog *pg;
  } ev_last;
  char origins_why[200];
  struct sock_filter *fb;
  struct sock_fprog *progb;
  sup_lst_t lst[SUP_LISTENERS];
  /* Hand-overs through exec: an abstract unix socket the shim connects to,
   * and the thread that takes listeners on it (fsk__sup_listen). */
  int hand_fd, hand_wake[2], hand_running;
  pthread_t hand_thread;
  char hand_name[64];
  char stats_path[PATH_MAX]; /* the page, attached at the first hand-over */
  uint64_t handoffs, handoffs_refused;
  int killable;   /* the filter waits killably once received */
  int sync_wake;  /* SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP was accepted */
  int nnp;        /* no_new_privs had to be set in the child */
  int no_sync;    /* fsk__sup_tune: do not ask for it (the benchmark's A/B) */
  int niced;      /* a serving thread's nice was lowered */
  int serve_nice; /* the serving threads' nice value (0: as fdsoak) */
  /* unreachable: the namespace helper's socket name (unreachd.c, "" none),
   * and the faults it made the real event for. */
  char unreach[64];
  uint64_t unreach_real;
  int running;
  int stopping;
  int waiters; /* helper threads alive (atomic) */
  struct seccomp_notif_sizes sizes;
  /* sinks, one per family: a listener with backlog 0 and the connection
   * that fills its queue (fdsoak's fds, never the target's) */
  int sink_fd[2], sink_aux[2];
  uint16_t sink_port[2];
  /* reset(N): per family a listener that accepts a connection only once
   * data came (TCP_DEFER_ACCEPT), and one thread that resets each after
   * more than N bytes; the budgets go by the client's port. */
  int resetl[2], reset_wake[2], reset_running;
  uint16_t reset_port[2];
  pthread_t reset_thread;
  struct {
    uint32_t key, n;
  } budget[SUP_WAITERS_MAX];
  /* Sockets a reset(N) connected to the reset listener: their peer as the
   * program dialled it (a ring; checked by inode when asked). */
  struct {
    pid_t pid;
    int fd;
    ino_t ino;
    socklen_t len;
    struct sockaddr_storage peer;
  } peers[SUP_WAITERS_MAX];
  size_t npeers;
  /* counters for the report (atomic) */
  uint64_t notifications, faults, faithful, errno_only, getfd_failed, waited, waiters_full;
  uint64_t unread; /* calls whose arguments could not be read: not decided */
  /* fsk__sup_profile: time spent serving (RECV's return to SEND's), and in
   * SEND alone, in ns, over prof_n notifications */
  int profile;
  uint64_t prof_serve_ns, prof_send_ns, prof_n;
  /* Blocking connects interrupted by a signal with SA_RESTART: the kernel
   * restarts the call, which comes back as a new notification; it is the
   * same connect, already under way, and goes through undecided. */
  pthread_mutex_t lock;       /* restarted[], origins[] */
  pthread_mutex_t track_lock; /* progs[] (note_origin) */
  /* Origins (fsk__sup_track): the Go stack of each open and socket call
   * that went through, by process and path. */
  int track;
  struct sup_origin {
    pid_t pid;
    int op;
    int fd;           /* the fd the call was to get (the lowest free), -1 unknown */
    uint32_t attempt; /* 1 + the attempts counted before it, as the shim's records */
    uint64_t mono_ns; /* CLOCK_MONOTONIC when it was let through */
    char path[256];
    char stack[520]; /* "by GO-FRAMES" or "opened by OP() at C-FRAMES", or "" */
  } * origins;
  size_t norigins; /* written so far (the ring index is norigins % SUP_ORIGINS) */
  struct sup_prog {
    pid_t pid;
    unsigned long long start;
    dev_t dev; /* the program file: an exec keeps the pid and its start */
    ino_t ino;
    fsk__gosym_t *g; /* NULL: not a Go program we can read */
    fsk__csym_t *c;  /* its modules' unwind tables (not Go), NULL: none */
    int fddir;       /* /proc/PID/fd, read again from its start (-1: none) */
  } progs[SUP_PROGS];
  size_t nprogs;
  /* What naming the origins cost: stacks by kind, and the time in them. */
  uint64_t stacks_go, stacks_c, stacks_none, origin_ns;
  uint64_t tgids[256]; /* tid -> process, the last seen per slot: tid << 32 | tgid (atomic) */
  struct {
    pid_t tid;
    int fd;
  } restarted[SUP_WAITERS_MAX];
  /* getaddrinfo rules: the DNS stub the tree's port-53 sockets are pointed
   * at, and the decision of each lookup in flight (its A and AAAA queries
   * are one lookup, one attempt, one outcome). */
  fsk__dnsstub_t *dns;
  char dns_note[160]; /* why hand-overs have no stub, for the report ("" : none needed) */
  /* unreachable: sockets whose SO_ERROR, once the kernel's error
   * (`kernel`) is there, is reported as the modelled one (a ring; by
   * process, fd number and inode, as peers[]).  soft: the model is the
   * sink, whose socket holds no error until the first retransmit, where
   * the real event's holds the ICMP's errno from the SYN on (a soft
   * error, which the first SO_ERROR read takes). */
  struct {
    pid_t pid;
    int fd;
    ino_t ino;
    int kernel, modelled, soft;
  } pend[SUP_WAITERS_MAX];
  size_t npend;
  uint64_t dns_redirected;
  struct {
    char name[256];
    unsigned types; /* query types already given this decision */
    int d;
    double at;
  } lookups[16];
};

static uint64_t bump(uint64_t *p) { return __atomic_add_fetch(p, 1, __ATOMIC_RELAXED); }

static double now_s(void);

/* The stub's question: the getaddrinfo rules decide the name, as the shim
 * decides getaddrinfo's node.  A lookup is the queries of one name close
 * together, one per type: the second type within a second gets the
 * first's decision; a repeat of a type is a new lookup (a retry after a
 * timeout, or the program asking again). */
static int dns_decide(void *ctx, const char *name, int qtype) {
  fsk__sup_t *s = ctx;
  unsigned bit = qtype == 1 ? 1u : qtype == 28 ? 2u : 4u;
  double now = now_s();
  size_t i, oldest = 0;
  int d, fire, mr = -1;
  uint64_t seq = 0;
  inj_call_t c;

  pthread_mutex_lock(&s->lock);
  for (i = 0; i < sizeof s->lookups / sizeof *s->lookups; i++) {
    if (s->lookups[i].at < s->lookups[oldest].at)
      oldest = i;
    if (s->lookups[i].at > 0 && now - s->lookups[i].at < 1.0 && !(s->lookups[i].types & bit) &&
        strcmp(s->lookups[i].name, name) == 0) {
      s->lookups[i].types |= bit;
      d = s->lookups[i].d;
      pthread_mutex_unlock(&s->lock);
      return d;
    }
  }
  pthread_mutex_unlock(&s->lock);
  memset(&c, 0, sizeof c);
  c.op = INJ_OP_GETADDRINFO;
  c.str = name;
  if (s->page == NULL)
    return FSK_DNS_FORWARD; /* a hand-over's stub before any page: no rules yet */
  fire = inj_decide(&s->spec, s->page, &c, &mr, &seq);
  d = fire < 0 ? FSK_DNS_FORWARD : dns_rcode_of(&s->spec.rules[fire]);
  if (d == -1)
    d = FSK_DNS_FORWARD; /* refused at the start (fsk__sup_unsupported) */
  if (fire >= 0 && d != FSK_DNS_FORWARD) {
    bump(&s->faults);
    bump(&s->faithful);
  }
  pthread_mutex_lock(&s->lock);
  snprintf(s->lookups[oldest].name, sizeof s->lookups[oldest].name, "%s", name);
  s->lookups[oldest].types = bit;
  s->lookups[oldest].d = d;
  s->lookups[oldest].at = now;
  pthread_mutex_unlock(&s->lock);
  return d;
}

int fsk__sup_new(fsk__sup_t **out, const inj_spec_t *spec, const char *stats_path) {
  fsk__sup_t *s = calloc(1, sizeof *s);
  int rc;

  if (s == NULL)
    return -ENOMEM;
  s->spec = *spec;
  s->serve_nice = SUP_SERVE_NICE;
  pthread_mutex_init(&s->lock, NULL);
  pthread_mutex_init(&s->track_lock, NULL);
  s->hand_fd = s->hand_wake[0] = s->hand_wake[1] = -1;
  s->sink_fd[0] = s->sink_fd[1] = s->sink_aux[0] = s->sink_aux[1] = -1;
  s->resetl[0] = s->resetl[1] = s->reset_wake[0] = s->reset_wake[1] = -1;
  if ((rc = inj_stats_create(stats_path, spec, &s->page)) != 0) {
    free(s);
    return rc;
  }
  if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &s->sizes) != 0)
    memset(&s->sizes, 0, sizeof s->sizes);
  if ((spec->opmask & (1u << INJ_OP_GETADDRINFO)) &&
      (rc = fsk__dnsstub_start(&s->dns, dns_decide, s)) != 0) {
    inj_stats_unmap(s->page);
    pthread_mutex_destroy(&s->lock);
    free(s);
    return rc;
  }
  *out = s;
  return 0;
}

/* /proc/TID/status into buf with one read(): the faithful-fault path
 * needs a field or two of it per fault, and stdio's buffering, locking and
 * line-by-line scanning cost more than the read.  The fields used (Tgid,
 * the signal masks) are in the first 2 KiB on any kernel.  The length
 * read, or -1. */
static ssize_t status_read(pid_t tid, char *buf, size_t cap) {
  char path[64];
  ssize_t n;
  int fd;

  snprintf(path, sizeof path, "/proc/%d/status", (int)tid);
  if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
    return -1;
  n = read(fd, buf, cap - 1);
  close(fd);
  if (n <= 0)
    return -1;
  buf[n] = '\0';
  return n;
}

/* The value of "\nKEY:" in status text (base 10 or 16) into *v: 0, or
 * -ENOENT when absent. */
static int status_field(const char *buf, const char *key, int base, unsigned long long *v) {
  const char *p = strstr(buf, key);

  if (p == NULL)
    return -ENOENT;
  *v = strtoull(p + strlen(key), NULL, base);
  return 0;
}

/* The process of a notification's thread id. */
static pid_t tgid_of(pid_t tid) {
  char buf[1024]; /* Tgid is the fourth line, after a name of at most 64 bytes escaped */

  unsigned long long v;

  if (status_read(tid, buf, sizeof buf) < 0 || status_field(buf, "\nTgid:", 10, &v) != 0)
    return -1;
  return (pid_t)v;
}

/* tgid_of, remembered: a thread keeps its process, and the kernel makes
 * /proc/TID/status anew on each read (about 12 us, against 3.4 us for the
 * check below, on the 6.18 kernel of issue 20's machine; every fault
 * needs the process, for pidfd_getfd).  A remembered pair is trusted while
 * /proc/TGID/task/TID exists: a thread id names one live thread, so a tid
 * reused by another process fails the check and is read again. */
static pid_t tgid_cached(fsk__sup_t *s, pid_t tid) {
  unsigned k = (unsigned)tid % (sizeof s->tgids / sizeof *s->tgids);
  uint64_t e = __atomic_load_n(&s->tgids[k], __ATOMIC_RELAXED);
  char path[64];
  pid_t g;

  if (tid > 0 && (pid_t)(e >> 32) == tid) {
    g = (pid_t)(uint32_t)e;
    snprintf(path, sizeof path, "/proc/%d/task/%d", (int)g, (int)tid);
    if (access(path, F_OK) == 0)
      return g;
  }
  if ((g = tgid_of(tid)) <= 0)
    return -1;
  __atomic_store_n(&s->tgids[k], (uint64_t)(uint32_t)tid << 32 | (uint32_t)g, __ATOMIC_RELAXED);
  return g;
}

/* Copy len bytes at addr out of thread tid (gosym.c: process_vm_readv, or
 * /proc/TID/mem in a container that refuses it). */
static int peek(pid_t tid, uint64_t addr, void *buf, size_t len) {
  return fsk__peek(tid, addr, buf, len) == 0 ? 0 : -EFAULT;
}

/* A NUL-terminated path at addr, page by page (the next page may not be
 * mapped, and a read across it would fail whole). */
static int peek_path(pid_t tid, uint64_t addr, char *buf, size_t len) {
  size_t got = 0;

  while (got + 1 < len) {
    size_t chunk = 4096 - (size_t)((addr + got) & 4095);

    if (chunk > len - 1 - got)
      chunk = len - 1 - got;
    if (peek(tid, addr + got, buf + got, chunk) != 0)
      return -EFAULT;
    if (memchr(buf + got, '\0', chunk) != NULL)
      return 0;
    got += chunk;
  }
  buf[len - 1] = '\0';
  return 0;
}

static int id_valid(const fsk__sup_t *s, uint64_t id) {
  (void)s;
  return ioctl(t_lfd, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) == 0;
}

static uint64_t now_ns(void) {
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void respond(fsk__sup_t *s, uint64_t id, int err, int cont) {
  struct seccomp_notif_resp r;
  uint64_t t0 = s->profile ? now_ns() : 0;

  memset(&r, 0, sizeof r);
  r.id = id;
  r.error = err ? -err : 0;
  r.flags = cont ? SECCOMP_USER_NOTIF_FLAG_CONTINUE : 0;
  /* ENOENT: the caller is gone (killed while it waited); nothing to do. */
  (void)ioctl(t_lfd, SECCOMP_IOCTL_NOTIF_SEND, &r);
  if (s->profile)
    __atomic_add_fetch(&s->prof_send_ns, now_ns() - t0, __ATOMIC_RELAXED);
}

/* Where a fault points a socket bound for dst: the loopback of its family
 * (an IPv4-mapped destination of a dual-stack socket gets
 * ::ffff:127.0.0.1), at port.  The family index of the sink, or -1. */
static int loopback_for(const struct sockaddr_storage *dst, socklen_t dlen, uint16_t port,
                        struct sockaddr_storage *ss, socklen_t *len) {
  memset(ss, 0, sizeof *ss);
  if (dst->ss_family == AF_INET && dlen >= sizeof(struct sockaddr_in)) {
    struct sockaddr_in *in = (void *)ss;
    in->sin_family = AF_INET;
    in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    in->sin_port = htons(port);
    *len = sizeof *in;
    return 0;
  }
  if (dst->ss_family == AF_INET6 && dlen >= sizeof(struct sockaddr_in6)) {
    const struct sockaddr_in6 *d6 = (const void *)dst;
    struct sockaddr_in6 *in6 = (void *)ss;
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(port);
    *len = sizeof *in6;
    if (IN6_IS_ADDR_V4MAPPED(&d6->sin6_addr)) {
      in6->sin6_addr.s6_addr[10] = 0xff;
      in6->sin6_addr.s6_addr[11] = 0xff;
      in6->sin6_addr.s6_addr[12] = 127;
      in6->sin6_addr.s6_addr[15] = 1;
      return 0; /* the IPv4 sink serves it */
    }
    in6->sin6_addr = in6addr_loopback;
    return 1;
  }
  return -1;
}

/* The sink of family index fi: backlog 0 and one established connection in
 * its accept queue, which nobody accepts.  With the queue full the kernel
 * drops every further SYN, so a socket pointed at it stays in SYN-SENT. */
static int sink_port(fsk__sup_t *s, int fi, uint16_t *port) {
  struct sockaddr_storage ss, any;
  socklen_t len = sizeof ss;
  struct pollfd p;
  int l = -1, c = -1, err = 0, one = 1;
  socklen_t el = sizeof err;

  if (s->sink_fd[fi] >= 0) {
    *port = s->sink_port[fi];
    return 0;
  }
  memset(&any, 0, sizeof any);
  any.ss_family = fi ? AF_INET6 : AF_INET;
  loopback_for(&any, sizeof any, 0, &ss, &len);
  if ((l = socket(any.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0)
    goto fail;
  if (fi)
    setsockopt(l, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  if (bind(l, (struct sockaddr *)&ss, len) != 0 || listen(l, 0) != 0 ||
      getsockname(l, (struct sockaddr *)&ss, &len) != 0)
    goto fail;
  if ((c = socket(any.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0)
    goto fail;
  if (connect(c, (struct sockaddr *)&ss, len) != 0 && errno != EINPROGRESS)
    goto fail;
  p = (struct pollfd){c, POLLOUT, 0};
  if (poll(&p, 1, 2000) != 1 || getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &el) != 0 || err != 0) {
    errno = err ? err : ETIMEDOUT;
    goto fail;
  }
  s->sink_fd[fi] = l;
  s->sink_aux[fi] = c;
  s->sink_port[fi] =
    ntohs(fi ? ((struct sockaddr_in6 *)&ss)->sin6_port : ((struct sockaddr_in *)&ss)->sin_port);
  *port = s->sink_port[fi];
  return 0;
fail:
  err = errno;
  if (l >= 0)
    close(l);
  if (c >= 0)
    close(c);
  return -err;
}

/* ---- reset(N) --------------------------------------------------------- */

#define RESET_HELD 64

static void budget_set(fsk__sup_t *s, int fi, uint16_t port, uint32_t n) {
  uint32_t key = (uint32_t)(fi + 1) << 16 | port;
  int i, free_i = -1;

  pthread_mutex_lock(&s->lock);
  for (i = 0; i < SUP_WAITERS_MAX; i++) {
    if (s->budget[i].key == key) {
      free_i = i;
      break;
    }
    if (free_i < 0 && s->budget[i].key == 0)
      free_i = i;
  }
  if (free_i >= 0) {
    s->budget[free_i].key = key;
    s->budget[free_i].n = n;
  }
  pthread_mutex_unlock(&s->lock);
}

static uint32_t budget_take(fsk__sup_t *s, int fi, uint16_t port) {
  uint32_t key = (uint32_t)(fi + 1) << 16 | port, n = 0;
  int i;

  pthread_mutex_lock(&s->lock);
  for (i = 0; i < SUP_WAITERS_MAX; i++)
    if (s->budget[i].key == key) {
      n = s->budget[i].n;
      s->budget[i].key = 0;
      break;
    }
  pthread_mutex_unlock(&s->lock);
  return n;
}

static void reset_now(int fd) {
  struct linger lg = {1, 0};

  setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  close(fd); /* linger 0: the kernel sends RST */
}

static void *reset_main(void *arg) {
  fsk__sup_t *s = arg;
  struct pollfd p[3 + RESET_HELD];
  uint32_t left[3 + RESET_HELD];
  int nheld = 0, i;
  char buf[4096];

  for (;;) {
    int n = 0, w, m;

    p[n++] = (struct pollfd){s->reset_wake[0], POLLIN, 0};
    for (i = 0; i < 2; i++)
      p[n++] = (struct pollfd){s->resetl[i], POLLIN, 0};
    for (i = 0; i < nheld; i++)
      p[n + i].revents = 0;
    if (poll(p, (nfds_t)(n + nheld), -1) < 0)
      continue;
    if (p[0].revents)
      break;
    /* Held connections: each reset at its first byte over the budget (or
     * at the client's FIN). */
    for (i = 0, w = 0, m = nheld; i < m; i++) {
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
    for (i = 0; i < 2; i++) {
      struct sockaddr_storage peer;
      socklen_t plen;
      int c;

      if (p[1 + i].fd < 0 || !(p[1 + i].revents & POLLIN))
        continue;
      while (plen = sizeof peer, (c = accept4(p[1 + i].fd, (struct sockaddr *)&peer, &plen,
                                              SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
        uint16_t port = ntohs(peer.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&peer)->sin6_port
                                                         : ((struct sockaddr_in *)&peer)->sin_port);
        uint32_t budget = budget_take(s, i, port);
        /* Acceptable because data (or a FIN) came: take up to the budget,
         * reset at the first byte over. */
        ssize_t r = read(c, buf, budget + 1 < sizeof buf ? budget + 1 : sizeof buf);

        if (r == 0 || (r > 0 && (uint32_t)r > budget) || nheld == RESET_HELD ||
            (r < 0 && errno != EAGAIN)) {
          reset_now(c);
          continue;
        }
        p[n + nheld] = (struct pollfd){c, POLLIN, 0};
        left[n + nheld] = budget - (r > 0 ? (uint32_t)r : 0);
        nheld++;
      }
    }
  }
  for (i = 0; i < nheld; i++)
    close(p[3 + i].fd);
  return NULL;
}

/* The reset listener of family index fi, and the thread (once). */
static int reset_port(fsk__sup_t *s, int fi, uint16_t *port) {
  int f, rc;

  if (!s->reset_running) {
    sigset_t all, old;

    for (f = 0; f < 2; f++) {
      struct sockaddr_storage ss, any;
      socklen_t len = sizeof ss;
      int l, one = 1, secs = 3600;

      memset(&any, 0, sizeof any);
      any.ss_family = f ? AF_INET6 : AF_INET;
      loopback_for(&any, sizeof any, 0, &ss, &len);
      if ((l = socket(any.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0)
        continue; /* no IPv6 here: IPv4 resets only */
      if (f)
        setsockopt(l, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
      /* Long enough that only data (or the client's FIN) makes a
       * connection acceptable. */
      setsockopt(l, IPPROTO_TCP, TCP_DEFER_ACCEPT, &secs, sizeof secs);
      if (bind(l, (struct sockaddr *)&ss, len) != 0 || listen(l, 64) != 0 ||
          getsockname(l, (struct sockaddr *)&ss, &len) != 0) {
        close(l);
        continue;
      }
      s->resetl[f] = l;
      s->reset_port[f] =
        ntohs(f ? ((struct sockaddr_in6 *)&ss)->sin6_port : ((struct sockaddr_in *)&ss)->sin_port);
    }
    if (pipe2(s->reset_wake, O_CLOEXEC) != 0)
      return -errno;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    rc = pthread_create(&s->reset_thread, NULL, reset_main, s);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0)
      return -rc;
    s->reset_running = 1;
  }
  if (s->resetl[fi] < 0)
    return -EAFNOSUPPORT;
  *port = s->reset_port[fi];
  return 0;
}

/* The inode of process pid's fd, from /proc (0 if it is not a socket). */
static ino_t sock_ino(pid_t pid, int fd) {
  char path[64], link[64];
  unsigned long long ino = 0;
  ssize_t l;

  snprintf(path, sizeof path, "/proc/%d/fd/%d", (int)pid, fd);
  if ((l = readlink(path, link, sizeof link - 1)) <= 0)
    return 0;
  link[l] = '\0';
  return sscanf(link, "socket:[%llu]", &ino) == 1 ? (ino_t)ino : 0;
}

static void peer_note(fsk__sup_t *s, pid_t pid, int fd, int copy,
                      const struct sockaddr_storage *dst, socklen_t dlen) {
  struct stat st;
  size_t k;

  if (fstat(copy, &st) != 0)
    return;
  pthread_mutex_lock(&s->lock);
  k = s->npeers++ % SUP_WAITERS_MAX;
  s->peers[k].pid = pid;
  s->peers[k].fd = fd;
  s->peers[k].ino = st.st_ino;
  s->peers[k].len = dlen;
  s->peers[k].peer = *dst;
  pthread_mutex_unlock(&s->lock);
}

/* getpeername on a socket a reset(N) redirected: the dialled address, as
 * the real peer would give it.  1 when answered, 0 to let the call run. */
static int peer_answer(fsk__sup_t *s, const struct seccomp_notif *n) {
  pid_t tgid = tgid_cached(s, (pid_t)n->pid);
  int fd = (int)n->data.args[0], found = 0;
  ino_t ino;
  socklen_t len = 0, dlen = 0;
  struct sockaddr_storage peer;
  size_t k;

  if (tgid <= 0 || (ino = sock_ino(tgid, fd)) == 0)
    return 0;
  pthread_mutex_lock(&s->lock);
  for (k = 0; k < SUP_WAITERS_MAX && !found; k++)
    if (s->peers[k].pid == tgid && s->peers[k].fd == fd && s->peers[k].ino == ino) {
      peer = s->peers[k].peer;
      dlen = s->peers[k].len;
      found = 1;
    }
  pthread_mutex_unlock(&s->lock);
  if (!found || peek((pid_t)n->pid, n->data.args[2], &len, sizeof len) != 0)
    return 0;
  /* As the kernel does: copy at most the caller's length, return the full
   * one. */
  if (!id_valid(s, n->id) ||
      fsk__poke((pid_t)n->pid, n->data.args[1], &peer, len < dlen ? len : dlen) != 0 ||
      fsk__poke((pid_t)n->pid, n->data.args[2], &dlen, sizeof dlen) != 0)
    return 0;
  respond(s, n->id, 0, 0);
  return 1;
}

/* An unreachable's socket: its SO_ERROR will be `kernel`, reported as
 * `modelled`. */
static void pend_note(fsk__sup_t *s, pid_t pid, int fd, int copy, int kernel, int modelled) {
  struct stat st;
  size_t k;

  if (fstat(copy, &st) != 0)
    return;
  pthread_mutex_lock(&s->lock);
  k = s->npend++ % SUP_WAITERS_MAX;
  s->pend[k].pid = pid;
  s->pend[k].fd = fd;
  s->pend[k].ino = st.st_ino;
  s->pend[k].kernel = kernel;
  s->pend[k].modelled = modelled;
  s->pend[k].soft = kernel == ETIMEDOUT;
  pthread_mutex_unlock(&s->lock);
}

/* getsockopt(SO_ERROR) on an unreachable's socket: the socket's own error
 * (read, and so cleared, through a copy), the modelled errno in place of
 * the kernel's, once, as the shim's hooked getsockopt does.  1 when
 * answered, 0 to let the call run. */
static int sockopt_answer(fsk__sup_t *s, const struct seccomp_notif *n) {
  pid_t tgid;
  int fd = (int)n->data.args[0], found = -1, copy = -1, pidfd, v = 0;
  socklen_t len = 0, vl = sizeof v, four = sizeof v;
  ino_t ino;
  size_t k;
  struct iovec l, r;

  if ((int)n->data.args[1] != SOL_SOCKET || (int)n->data.args[2] != SO_ERROR ||
      (tgid = tgid_cached(s, (pid_t)n->pid)) <= 0 || (ino = sock_ino(tgid, fd)) == 0)
    return 0;
  pthread_mutex_lock(&s->lock);
  for (k = 0; k < SUP_WAITERS_MAX && found < 0; k++)
    if (s->pend[k].pid == tgid && s->pend[k].fd == fd && s->pend[k].ino == ino &&
        s->pend[k].kernel != 0)
      found = (int)k;
  pthread_mutex_unlock(&s->lock);
  if (found < 0 || peek((pid_t)n->pid, n->data.args[4], &len, sizeof len) != 0)
    return 0;
  if ((pidfd = (int)syscall(SYS_pidfd_open, tgid, 0)) >= 0) {
    copy = (int)syscall(SYS_pidfd_getfd, pidfd, fd, 0);
    close(pidfd);
  }
  if (copy < 0)
    return 0;
  if (!id_valid(s, n->id) || getsockopt(copy, SOL_SOCKET, SO_ERROR, &v, &vl) != 0) {
    close(copy);
    return 0;
  }
  close(copy);
  pthread_mutex_lock(&s->lock);
  if (v != 0 && s->pend[found].ino == ino) {
    if (v == s->pend[found].kernel)
      v = s->pend[found].modelled;
    s->pend[found].kernel = 0; /* reported: the socket's error is gone */
  } else if (v == 0 && s->pend[found].ino == ino && s->pend[found].soft) {
    /* Before the first retransmit: the real event's soft error, once (the
     * kernel's read clears it; the hard error comes at the retransmit). */
    v = s->pend[found].modelled;
    s->pend[found].soft = 0;
  }
  pthread_mutex_unlock(&s->lock);
  /* As the kernel does: at most the caller's length, which becomes the
   * length written. */
  if (len > four)
    len = four;
  l = (struct iovec){&v, len};
  r = (struct iovec){(void *)(uintptr_t)n->data.args[3], len};
  if (len > 0 && process_vm_writev((pid_t)n->pid, &l, 1, &r, 1, 0) != (ssize_t)len)
    return 0;
  l = (struct iovec){&len, sizeof len};
  r = (struct iovec){(void *)(uintptr_t)n->data.args[4], sizeof len};
  if (process_vm_writev((pid_t)n->pid, &l, 1, &r, 1, 0) != (ssize_t)sizeof len)
    return 0;
  respond(s, n->id, 0, 0);
  return 1;
}

/* After the copy's connect: the reset thread must know the budget before
 * the caller can send (it is still stopped). */
static void reset_budget(fsk__sup_t *s, int fd, int fi, uint32_t n) {
  struct sockaddr_storage me;
  socklen_t mlen = sizeof me;

  if (getsockname(fd, (struct sockaddr *)&me, &mlen) == 0)
    budget_set(s, fi,
               ntohs(me.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&me)->sin6_port
                                              : ((struct sockaddr_in *)&me)->sin_port),
               n);
}

/* A blocking caller's connect, started non-blocking on fdsoak's copy: a
 * helper thread answers when the kernel has the result, as the caller's
 * own blocking connect would have returned then. */
typedef struct {
  fsk__sup_t *s;
  uint64_t id;
  pid_t tid;
  int cfd;              /* the caller's number for the socket */
  int lfd;              /* the listener the call came on */
  int fd;               /* fdsoak's copy of the caller's socket */
  double sndtimeo;      /* SO_SNDTIMEO: a blocking connect gives up then (0: never) */
  int kernel, modelled; /* the kernel's error answered as the modelled one */
  double started;       /* when the caller's connect came (its SO_SNDTIMEO runs from then) */
  /* The real unreachable: the ICMP for the first SYN is a soft error that
   * poll reports at once (POLLERR) while the kernel's blocking connect
   * waits on; it returns when the socket leaves SYN-SENT (the ICMP for
   * the retransmit closes it), and that is what is waited for. */
  int syn_wait;
} waiter_t;

static double now_s(void) {
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Does thread tid have a signal pending that it catches and does not block?
 * Then its real blocking connect would be interrupted now. */
static int signal_due(pid_t tid) {
  char buf[4096];
  unsigned long long pnd, shd, blk, cgt;

  if (status_read(tid, buf, sizeof buf) < 0)
    return 0;
  if (status_field(buf, "\nSigPnd:", 16, &pnd) != 0 ||
      status_field(buf, "\nShdPnd:", 16, &shd) != 0 ||
      status_field(buf, "\nSigBlk:", 16, &blk) != 0 ||
      status_field(buf, "\nSigCgt:", 16, &cgt) != 0)
    return 0; /* a field missing: nothing known to be due */
  return ((pnd | shd) & ~blk & cgt) != 0;
}

static void restarted_add(fsk__sup_t *s, pid_t tid, int fd) {
  int i;

  pthread_mutex_lock(&s->lock);
  for (i = 0; i < SUP_WAITERS_MAX; i++)
    if (s->restarted[i].tid == 0) {
      s->restarted[i].tid = tid;
      s->restarted[i].fd = fd;
      break;
    }
  pthread_mutex_unlock(&s->lock);
}

static int restarted_take(fsk__sup_t *s, pid_t tid, int fd) {
  int i, hit = 0;

  pthread_mutex_lock(&s->lock);
  for (i = 0; i < SUP_WAITERS_MAX && !hit; i++)
    if (s->restarted[i].tid == tid && s->restarted[i].fd == fd) {
      s->restarted[i].tid = 0;
      hit = 1;
    }
  pthread_mutex_unlock(&s->lock);
  return hit;
}

/* The kernel's "interrupted: restart the call if the handler has SA_RESTART,
 * else fail it with EINTR" (not in the uapi headers). */
#define SUP_ERESTARTSYS 512

static void *waiter_main(void *arg) {
  waiter_t *w = arg;
  double until = w->sndtimeo > 0 ? w->started + w->sndtimeo : 0;

  t_lfd = w->lfd;

  for (;;) {
    struct pollfd p = {w->fd, POLLOUT, 0};
    int r, err = 0;
    socklen_t el = sizeof err;

    if (w->syn_wait) {
      struct tcp_info ti;
      socklen_t til = sizeof ti;

      r = getsockopt(w->fd, IPPROTO_TCP, TCP_INFO, &ti, &til) != 0 || ti.tcpi_state != TCP_SYN_SENT;
      if (!r)
        poll(NULL, 0, 10);
    } else {
      r = poll(&p, 1, 50);
    }

    if (__atomic_load_n(&w->s->stopping, __ATOMIC_ACQUIRE) || !id_valid(w->s, w->id))
      break; /* fdsoak stops, or the caller was killed while it waited */
    if (r == 1 && until > 0 && now_s() >= until) {
      /* The caller's own timeout ran out first (an unreachable's error
       * comes at the first SYN retransmit, ~1 s, just after an
       * SO_SNDTIMEO of 1 s): what the kernel's connect returns then. */
      respond(w->s, w->id, EINPROGRESS, 0);
      break;
    }
    if (r == 1) {
      getsockopt(w->fd, SOL_SOCKET, SO_ERROR, &err, &el);
      if (w->modelled != 0 && err == w->kernel)
        err = w->modelled;
      respond(w->s, w->id, err, 0);
      break;
    }
    if (until > 0 && now_s() >= until) {
      respond(w->s, w->id, EINPROGRESS, 0); /* SO_SNDTIMEO ran out */
      break;
    }
    if (signal_due(w->tid)) {
      /* The wait is killable only, so the caller's handler waits for us:
       * end the call as the kernel's own connect would, and know the
       * restarted call (SA_RESTART) when it comes back. */
      restarted_add(w->s, w->tid, w->cfd);
      respond(w->s, w->id, SUP_ERESTARTSYS, 0);
      break;
    }
  }
  close(w->fd);
  __atomic_sub_fetch(&w->s->waiters, 1, __ATOMIC_RELEASE);
  free(w);
  return NULL;
}

/* A helper thread that answers call id once the connect under way on fd
 * (fdsoak's, handed over) ends; the kernel's error `kernel` is answered as
 * `modelled` (0: as it is).  0, or -1 when none could be started (fd
 * closed, the caller to get the fault's errno at once).  syn_wait: see
 * waiter_t. */
static int waiter_start(fsk__sup_t *s, uint64_t id, pid_t tid, int cfd_num, int fd, double started,
                        int kernel, int modelled, int syn_wait) {
  waiter_t *w = calloc(1, sizeof *w);
  struct timeval tv = {0, 0};
  socklen_t tvl = sizeof tv;
  pthread_t th;
  pthread_attr_t at;

  if (w != NULL && __atomic_add_fetch(&s->waiters, 1, __ATOMIC_ACQ_REL) <= SUP_WAITERS_MAX) {
    w->s = s;
    w->id = id;
    w->tid = tid;
    w->cfd = cfd_num;
    w->lfd = t_lfd;
    w->fd = fd;
    w->started = started;
    w->kernel = kernel;
    w->modelled = modelled;
    w->syn_wait = syn_wait;
    if (getsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, &tvl) == 0)
      w->sndtimeo = (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&at, 64 * 1024);
    if (pthread_create(&th, &at, waiter_main, w) == 0) {
      pthread_attr_destroy(&at);
      bump(&s->waited);
      return 0;
    }
    pthread_attr_destroy(&at);
  }
  if (w != NULL)
    __atomic_sub_fetch(&s->waiters, 1, __ATOMIC_RELEASE);
  free(w);
  close(fd);
  bump(&s->waiters_full);
  bump(&s->errno_only);
  return -1;
}

/* An unreachable the real event could not be made for (as the shim's
 * unreach_note): counted on the stats page with the reason. */
static void unreach_note(fsk__sup_t *s, int why) {
  if (s->page == NULL)
    return;
  __atomic_store_n(&s->page->unreach_why, (uint32_t)why, __ATOMIC_RELAXED);
  __atomic_fetch_add(&s->page->unreach_approx, 1, __ATOMIC_RELAXED);
}

/* The "flags:" of fd in process pid (octal in fdinfo), or -1. */
static long fdinfo_flags(pid_t pid, int fd) {
  char path[64], buf[512], *p;
  ssize_t n;
  int f;

  snprintf(path, sizeof path, "/proc/%d/fdinfo/%d", (int)pid, fd);
  if ((f = open(path, O_RDONLY | O_CLOEXEC)) < 0)
    return -1;
  n = read(f, buf, sizeof buf - 1);
  close(f);
  if (n <= 0)
    return -1;
  buf[n] = '\0';
  if ((p = strstr(buf, "flags:")) == NULL)
    return -1;
  return strtol(p + 6, NULL, 8);
}

/* Is fd in one of process pid's epoll sets (an epoll fd's fdinfo lists it
 * as "tfd: N")?  Where it cannot be told, it is taken to be. */
static int in_epoll_of(pid_t pid, int fd) {
  char path[80], link[64], *buf = NULL;
  struct dirent *d;
  DIR *dir;
  int found = 0;

  snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
  if ((dir = opendir(path)) == NULL || (buf = malloc(16384)) == NULL) {
    found = 1;
    goto out;
  }
  while (!found && (d = readdir(dir)) != NULL) {
    char *end;
    ssize_t k;
    long n;
    int f;

    /* Only the numeric entries are fds ("." and ".." are not). */
    n = strtol(d->d_name, &end, 10);
    if (end == d->d_name || *end != '\0' || n < 0 || n > INT_MAX)
      continue;
    snprintf(path, sizeof path, "/proc/%d/fd/%ld", (int)pid, n);
    k = readlink(path, link, sizeof link - 1);
    if (k != (ssize_t)strlen("anon_inode:[eventpoll]") ||
        memcmp(link, "anon_inode:[eventpoll]", (size_t)k) != 0)
      continue;
    snprintf(path, sizeof path, "/proc/%d/fdinfo/%ld", (int)pid, n);
    if ((f = open(path, O_RDONLY | O_CLOEXEC)) < 0)
      continue;
    k = read(f, buf, 16383);
    close(f);
    if (k <= 0)
      continue;
    buf[k] = '\0';
    for (char *t = strstr(buf, "tfd:"); t != NULL && !found; t = strstr(t + 4, "tfd:"))
      found = strtol(t + 4, NULL, 10) == fd;
  }
out:
  if (dir != NULL)
    closedir(dir);
  free(buf);
  return found;
}

/* unreachable over IPv4 as the real event, as the shim makes it
 * (faults.c, fault_unreach_ns): a socket of the helper's namespace
 * (unreachd.c), with the caller's file status flags and the options the
 * shim copies (read from `copy`, fdsoak's pidfd_getfd copy of the
 * caller's socket), connected to the helper's address (the kernel answers
 * the SYN with the ICMP inside that connect: a soft error, poll gives
 * POLLERR alone, the socket stays in SYN-SENT), and installed over the
 * caller's fd by SECCOMP_IOCTL_NOTIF_ADDFD (SETFD: in place, as dup3,
 * O_CLOEXEC as the caller had it).  A non-blocking caller gets EINPROGRESS;
 * a blocking one is answered by a helper thread when the next SYN's ICMP
 * ends the connect (~1 s), as the kernel's own blocking connect returns
 * then.  0 with *answer set (an errno, or -1: a helper thread answers), or
 * INJ_UNREACH_* when the caller's socket was left as it was. */
static int unreach_real(fsk__sup_t *s, const inj_rule_t *r, uint64_t id, pid_t tid, pid_t tgid,
                        int cfd_num, int copy, int fl, const struct sockaddr_storage *dst,
                        double started, int *answer) {
  struct sockaddr_in me, to = *(const struct sockaddr_in *)dst;
  struct seccomp_notif_addfd add;
  socklen_t ml = sizeof me, tl = sizeof(int), pl = sizeof(int);
  int type = 0, proto = 0, nfd, e;
  long ffl;
  uint32_t addr = 0;

  if (s->unreach[0] == '\0')
    return INJ_UNREACH_NO_HELPER;
  /* A bound socket's address would be lost with it. */
  if (getsockname(copy, (struct sockaddr *)&me, &ml) != 0 || me.sin_family != AF_INET ||
      me.sin_port != 0 || me.sin_addr.s_addr != htonl(INADDR_ANY))
    return INJ_UNREACH_BOUND;
  /* The program would go on watching the socket replaced. */
  if ((fl & O_ASYNC) || in_epoll_of(tgid, cfd_num))
    return INJ_UNREACH_WATCHED;
  if (getsockopt(copy, SOL_SOCKET, SO_TYPE, &type, &tl) != 0 ||
      getsockopt(copy, SOL_SOCKET, SO_PROTOCOL, &proto, &pl) != 0 ||
      (ffl = fdinfo_flags(tgid, cfd_num)) < 0)
    return INJ_UNREACH_HELPER;
  nfd = inj_unreach_fetch(s->unreach, r->code == ENETUNREACH ? 0 : 1, type, proto, &addr);
  if (nfd < 0)
    return INJ_UNREACH_HELPER;
  inj_unreach_copy_opts(copy, nfd);
  /* Started non-blocking whatever the caller's socket is: a blocking
   * caller is answered by a helper thread, never by this one. */
  fcntl(nfd, F_SETFL, fl | O_NONBLOCK);
  to.sin_addr.s_addr = addr;
  if (connect(nfd, (struct sockaddr *)&to, sizeof to) == 0 || errno != EINPROGRESS) {
    close(nfd);
    return INJ_UNREACH_HELPER;
  }
  fcntl(nfd, F_SETFL, fl & ~O_ASYNC);
  /* Installed only over the socket of a call still waiting: the id is
   * checked by the kernel in the ioctl itself too. */
  memset(&add, 0, sizeof add);
  add.id = id;
  add.flags = SECCOMP_ADDFD_FLAG_SETFD;
  add.srcfd = (uint32_t)nfd;
  add.newfd = (uint32_t)cfd_num;
  add.newfd_flags = (ffl & O_CLOEXEC) ? O_CLOEXEC : 0;
  if (!id_valid(s, id) || ioctl(t_lfd, SECCOMP_IOCTL_NOTIF_ADDFD, &add) < 0) {
    e = errno;
    close(nfd);
    if (!id_valid(s, id)) {
      *answer = 0; /* the caller is gone: nothing to answer */
      return 0;
    }
    (void)e;
    return INJ_UNREACH_HELPER;
  }
  bump(&s->unreach_real);
  if (fl & O_NONBLOCK) {
    close(nfd);
    bump(&s->faithful);
    *answer = EINPROGRESS;
    return 0;
  }
  /* fdsoak's own reference (nfd) is what the helper thread polls: the
   * caller's blocking connect returns the socket's error once the kernel
   * has it (the ICMP for the first SYN retransmit). */
  if (waiter_start(s, id, tid, cfd_num, nfd, started, 0, 0, 1) == 0) {
    bump(&s->faithful);
    *answer = -1;
  } else {
    *answer = r->code;
  }
  return 0;
}

/* fault_connect's "let the call run as it was" (CONTINUE). */
#define SUP_CONTINUE (-2)

/* Carry out rule r on the caller's socket.  Returns the errno to answer
 * with (0: success), -1 when a helper thread answers later, or
 * SUP_CONTINUE. */
static int fault_connect(fsk__sup_t *s, const inj_rule_t *r, uint64_t id, pid_t tid, int cfd_num,
                         const struct sockaddr_storage *dst, socklen_t dlen) {
  struct sockaddr_storage lo;
  socklen_t lolen, tl = sizeof(int);
  pid_t tgid = tgid_cached(s, tid);
  int pidfd = -1, fd = -1, fi, type = 0, fl, rc, e, answer, v4nb = 0, kernel = 0;
  uint16_t port = 0;
  double started = now_s();

  if (tgid > 0)
    pidfd = (int)syscall(SYS_pidfd_open, tgid, 0);
  if (pidfd >= 0)
    fd = (int)syscall(SYS_pidfd_getfd, pidfd, cfd_num, 0);
  if (pidfd >= 0)
    close(pidfd);
  if (fd < 0) {
    /* No copy of the socket (no CAP_SYS_PTRACE over the target, or a
     * container that blocks pidfd_getfd): the fault's errno at once. */
    bump(&s->getfd_failed);
    bump(&s->errno_only);
    return r->action == INJ_DO_HANG ? ETIMEDOUT : r->code;
  }
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) != 0 || type != SOCK_STREAM ||
      (fi = loopback_for(dst, dlen, 0, &lo, &lolen)) < 0) {
    /* Datagram and AF_UNIX connects have no handshake.  A refusal fails
     * at once, as under the shim.  Lost SYNs, an ICMP error or a reset
     * cannot reach such a connect: on the real event it succeeds at once
     * and names the peer, so the call goes on as it was (the shim's
     * fault_sink and fault_reset do the same). */
    close(fd);
    if (r->action == INJ_DO_HANG || r->action == INJ_DO_UNREACH || r->action == INJ_DO_RESET) {
      bump(&s->faithful);
      return SUP_CONTINUE;
    }
    bump(&s->errno_only);
    return r->code;
  }
  fl = fcntl(fd, F_GETFL);
  if (r->action == INJ_DO_UNREACH && dst->ss_family == AF_INET && fl >= 0) {
    /* The real event where the helper can make it; else today's model,
     * counted with the reason for a non-blocking caller as the shim
     * counts it. */
    int why = unreach_real(s, r, id, tid, tgid, cfd_num, fd, fl, dst, started, &answer);

    if (why == 0) {
      close(fd);
      return answer;
    }
    if (fl & O_NONBLOCK)
      unreach_note(s, why);
  }
  if (r->action == INJ_DO_UNREACH) {
    /* The model, as the shim's (faults.c): an IPv4 non-blocking connect sees
     * the ICMP's error at once, made of a refusal (port 0 of loopback is
     * closed by construction); a blocking or IPv6 one at the first SYN
     * retransmit, made of the sink with TCP_USER_TIMEOUT 1 ms (~1 s).
     * Either way SO_ERROR, and a blocking connect's result, report the
     * modelled errno in place of the kernel's. */
    int uto = 1;

    v4nb = dst->ss_family == AF_INET && fl >= 0 && (fl & O_NONBLOCK);
    kernel = v4nb ? ECONNREFUSED : ETIMEDOUT;
    if (!v4nb) {
      if ((rc = sink_port(s, fi, &port)) != 0) {
        close(fd);
        return -rc;
      }
      loopback_for(dst, dlen, port, &lo, &lolen);
      setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &uto, sizeof uto);
    }
  }
  if (r->action == INJ_DO_HANG || r->action == INJ_DO_RESET) {
    rc = r->action == INJ_DO_HANG ? sink_port(s, fi, &port) : reset_port(s, fi, &port);
    if (rc != 0) {
      close(fd);
      return -rc; /* no silent pass: the caller sees the resource error */
    }
    loopback_for(dst, dlen, port, &lo, &lolen);
    if (r->action == INJ_DO_RESET)
      peer_note(s, tgid, cfd_num, fd, dst, dlen);
  }
  /* The caller may have gone, and its fd number been reused, since the
   * notification was read: act only on the socket of a live call. */
  if (!id_valid(s, id)) {
    close(fd);
    return 0;
  }
  if (fl >= 0 && !(fl & O_NONBLOCK)) {
    /* The file description is shared with the caller, who is stopped in
     * this very connect: its flags change for the instant of the call. */
    fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    rc = connect(fd, (struct sockaddr *)&lo, lolen);
    e = errno;
    fcntl(fd, F_SETFL, fl);
    if (r->action == INJ_DO_RESET && (rc == 0 || e == EINPROGRESS))
      reset_budget(s, fd, fi, (uint32_t)r->arg);
    if (rc != 0 && e == EINPROGRESS) {
      if (waiter_start(s, id, tid, cfd_num, fd, started, r->action == INJ_DO_UNREACH ? kernel : 0,
                       r->action == INJ_DO_UNREACH ? r->code : 0, 0) == 0) {
        bump(&s->faithful);
        return -1;
      }
      return r->action == INJ_DO_HANG ? ETIMEDOUT : r->code;
    }
    answer = rc == 0 ? 0 : e;
  } else {
    rc = connect(fd, (struct sockaddr *)&lo, lolen);
    answer = rc == 0 ? 0 : errno;
    if (r->action == INJ_DO_RESET && (rc == 0 || answer == EINPROGRESS))
      reset_budget(s, fd, fi, (uint32_t)r->arg);
    if (r->action == INJ_DO_UNREACH && answer == EINPROGRESS)
      pend_note(s, tgid, cfd_num, fd, kernel, r->code);
  }
  close(fd);
  bump(&s->faithful);
  if (r->action == INJ_DO_UNREACH && answer == kernel)
    answer = r->code;
  /* A refusal the kernel gave at once is the modelled errno (async(E)). */
  if (r->action == INJ_DO_ASYNC && answer == ECONNREFUSED)
    answer = r->code;
  return answer == 0 && r->action == INJ_DO_ASYNC ? r->code : answer;
}

/* Has process pid the shim loaded?  A dynamic program below a supervised
 * one keeps its shim, which stands down for the system-call ops but keeps
 * getaddrinfo (exec.c): its lookups were decided there already, and its
 * queries go out as they are, or each would be decided twice.  Read from
 * /proc/PID/maps in pieces, a name cut at a piece's end kept for the next. */
static int has_shim(pid_t pid) {
  static const char lib[] = "libfdsoak-inject";
  char path[64], buf[4096 + sizeof lib];
  size_t keep = 0;
  ssize_t n;
  int fd, hit = 0;

  snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
  if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
    return 0;
  while (!hit && (n = read(fd, buf + keep, sizeof buf - 1 - keep)) > 0) {
    size_t have = keep + (size_t)n;

    buf[have] = '\0';
    hit = strstr(buf, lib) != NULL;
    keep = have < sizeof lib - 1 ? have : sizeof lib - 1;
    memmove(buf, buf + have - keep, keep);
  }
  close(fd);
  return hit;
}

/* A connect to port 53 with getaddrinfo rules: the caller's own socket (a
 * copy, pidfd_getfd) is connected to the DNS stub instead, which answers as
 * the rules say and relays the rest to the nameserver dialled (remembered
 * by the copy's local port); the caller's getpeername still gives that
 * nameserver.  1 when answered, 0 to let the call run as it was. */
static int dns_redirect(fsk__sup_t *s, const struct seccomp_notif *n,
                        const struct sockaddr_storage *dst, socklen_t dlen) {
  struct sockaddr_storage lo, me;
  socklen_t lolen, mlen = sizeof me, tl = sizeof(int);
  pid_t tgid = tgid_cached(s, (pid_t)n->pid);
  int pidfd = -1, fd = -1, fi, type = 0, fl, rc, e, cfd = (int)n->data.args[0];
  uint16_t port = 0;

  if (tgid > 0 && has_shim(tgid))
    return 0;
  if (tgid > 0)
    pidfd = (int)syscall(SYS_pidfd_open, tgid, 0);
  if (pidfd >= 0)
    fd = (int)syscall(SYS_pidfd_getfd, pidfd, cfd, 0);
  if (pidfd >= 0)
    close(pidfd);
  if (fd < 0) {
    bump(&s->getfd_failed);
    return 0;
  }
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) != 0 ||
      (type != SOCK_DGRAM && type != SOCK_STREAM) ||
      (fi = loopback_for(dst, dlen, 0, &lo, &lolen)) < 0 ||
      fsk__dnsstub_port(s->dns, fi, type, &port) != 0) {
    close(fd);
    return 0;
  }
  loopback_for(dst, dlen, port, &lo, &lolen);
  if (!id_valid(s, n->id)) {
    close(fd);
    return 1; /* the caller is gone: nothing to answer */
  }
  /* Non-blocking for the instant of the call (the description is shared
   * with the stopped caller), so this thread never waits on it. */
  fl = fcntl(fd, F_GETFL);
  if (fl >= 0 && !(fl & O_NONBLOCK))
    fcntl(fd, F_SETFL, fl | O_NONBLOCK);
  rc = connect(fd, (struct sockaddr *)&lo, lolen);
  e = rc == 0 ? 0 : errno;
  if (fl >= 0 && !(fl & O_NONBLOCK)) {
    fcntl(fd, F_SETFL, fl);
    if (e == EINPROGRESS) {
      /* A blocking caller: the stub's listener is on loopback and
       * accepting, so the handshake is all but done. */
      struct pollfd p = {fd, POLLOUT, 0};
      socklen_t el = sizeof e;
      if (poll(&p, 1, 1000) == 1)
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el);
      else
        e = ETIMEDOUT;
    }
  }
  if ((e == 0 || e == EINPROGRESS) && getsockname(fd, (struct sockaddr *)&me, &mlen) == 0) {
    fsk__dnsstub_route(s->dns, fi, type,
                       ntohs(me.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&me)->sin6_port
                                                      : ((struct sockaddr_in *)&me)->sin_port),
                       (const struct sockaddr *)dst, dlen);
    peer_note(s, tgid, cfd, fd, dst, dlen);
    bump(&s->dns_redirected);
  }
  close(fd);
  respond(s, n->id, e, 0);
  return 1;
}

void fsk__sup_profile(fsk__sup_t *s) { s->profile = 1; }

void fsk__sup_tune(fsk__sup_t *s, int sync_wake, int serve_nice) {
  s->no_sync = !sync_wake;
  s->serve_nice = serve_nice;
}

void fsk__sup_unreach(fsk__sup_t *s, const char *name) {
  snprintf(s->unreach, sizeof s->unreach, "%s", name != NULL ? name : "");
}

void fsk__sup_track(fsk__sup_t *s) {
  if (s->origins == NULL)
    s->origins = calloc(SUP_ORIGINS, sizeof *s->origins);
  s->track = s->origins != NULL;
}

/* The symbol tables of process pid's program, loaded once per program the
 * process runs (a reused pid has another start time; an exec keeps it, and
 * has another program file: sh -c's child becomes the Go program): Go's
 * .gopclntab, else the DWARF unwind tables of its modules. */
static struct sup_prog *prog_of(fsk__sup_t *s, pid_t pid) {
  unsigned long long start = 0;
  char exe[64];
  struct stat st;
  size_t i, k;

  fsk__proc_start(pid, &start);
  snprintf(exe, sizeof exe, "/proc/%d/exe", (int)pid);
  if (stat(exe, &st) != 0)
    memset(&st, 0, sizeof st);
  for (i = 0; i < s->nprogs; i++)
    if (s->progs[i].pid == pid && s->progs[i].start == start && s->progs[i].dev == st.st_dev &&
        s->progs[i].ino == st.st_ino)
      return &s->progs[i];
  k = s->nprogs < SUP_PROGS ? s->nprogs++ : (size_t)pid % SUP_PROGS;
  if (k < s->nprogs && s->progs[k].pid != 0) {
    fsk__gosym_free(s->progs[k].g);
    fsk__csym_free(s->progs[k].c);
    if (s->progs[k].fddir >= 0)
      close(s->progs[k].fddir);
  }
  s->progs[k].pid = pid;
  s->progs[k].start = start;
  s->progs[k].dev = st.st_dev;
  s->progs[k].ino = st.st_ino;
  s->progs[k].g = NULL;
  s->progs[k].c = NULL;
  snprintf(exe, sizeof exe, "/proc/%d/fd", (int)pid);
  s->progs[k].fddir = open(exe, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  snprintf(exe, sizeof exe, "/proc/%d/exe", (int)pid);
  if (fsk__gosym_open(exe, &s->progs[k].g) != 0) {
    int fd = open(exe, O_RDONLY | O_CLOEXEC), kind = fd >= 0 ? inj_sec_elf_kind(fd) : 0;

    if (fd >= 0)
      close(fd);
    s->progs[k].g = NULL;
    /* C stacks for static programs only: a dynamic one's loader opens
     * each library at every exec, and a tree that forks and execs would
     * pay the unwinder's set-up (its maps and ELF files) for each. */
    if (!(kind & FSK_ELF_STATIC) || fsk__csym_open(pid, &s->progs[k].c) != 0)
      s->progs[k].c = NULL;
  }
  return &s->progs[k];
}

static int int_cmp(const void *a, const void *b) {
  int x = *(const int *)a, y = *(const int *)b;

  return (x > y) - (x < y);
}

/* The lowest fd free in the table of a process (dirfd: its /proc/PID/fd,
 * listed again from the start): the one an open or socket call about to
 * run will get (the kernel gives the lowest free), unless another thread
 * of the process makes or closes one first.  -1 if the table cannot be
 * read. */
static int lowest_free_fd(int dirfd) {
  uint64_t used[64]; /* fds 0..4095; above, the first gap in a sorted list */
  int *big = NULL, fd = -1, i;
  size_t nbig = 0, capbig = 0;
  char buf[8192];
  long got;

  memset(used, 0, sizeof used);
  if (dirfd < 0 || lseek(dirfd, 0, SEEK_SET) != 0)
    return -1;
  while ((got = syscall(SYS_getdents64, dirfd, buf, sizeof buf)) > 0) {
    long off = 0;

    while (off < got) {
      /* struct linux_dirent64: ino, off, reclen, type, name */
      unsigned short reclen;
      const char *name = buf + off + 19;
      char *end;
      long n;

      memcpy(&reclen, buf + off + 16, sizeof reclen);
      off += reclen;
      n = strtol(name, &end, 10);
      if (*end != '\0' || end == name || n < 0)
        continue;
      if (n < 4096) {
        used[n / 64] |= 1ull << (n % 64);
      } else {
        if (fsk__grow(&big, &capbig, nbig + 1, sizeof *big, 256) != 0)
          goto out;
        big[nbig++] = (int)n;
      }
    }
  }
  if (got < 0)
    goto out;
  for (i = 0; i < 4096 && fd < 0; i++)
    if (!(used[i / 64] & (1ull << (i % 64))))
      fd = i;
  if (fd < 0) {
    /* 4096 fds and more: the first number >= 4096 not in the table. */
    int want = 4096;

    size_t j;

    if (nbig > 0)
      qsort(big, nbig, sizeof *big, int_cmp);
    for (j = 0; j < nbig && big[j] == want; j++)
      want++;
    fd = want;
  }
out:
  free(big);
  return fd;
}

static uint64_t mono_ns(void) {
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Note where and when an open or socket call that goes through was made:
 * the caller's thread is stopped in the kernel, its stack still.  When is
 * the attempt in progress (the stats page's counters now, as the shim
 * records it) and the clock; where is the Go stack (gosym.c) or the C
 * stack (csym.c) of the call, and the fd it is about to get. */
static void note_origin_one(fsk__sup_t *s, const struct seccomp_notif *n, int op, const char *path,
                            int path_arg) {
  uint64_t t0 = mono_ns(), a;
  pid_t tgid = tgid_cached(s, (pid_t)n->pid);
  struct sup_prog *pg;
  char f[64], line[256], stack[480], full[256];
  unsigned long long sp = 0, pc = 0;
  long nr;
  int fd, got = 0, named = 0;
  FILE *fp;
  struct sup_origin *o;

  if (tgid <= 0)
    return;
  /* Connects the kernel decided moved its map, not the page yet: the
   * caller's connects came before this call, so copying now makes the
   * attempt exact. */
  if (s->bpf_on)
    fsk__bpfconn_sync(s->bpf);
  a = inj_stats_load(&s->page->injected_total) + inj_stats_load(&s->page->observed_total);
  pg = prog_of(s, tgid);
  fd = lowest_free_fd(pg != NULL ? pg->fddir : -1);
  stack[0] = '\0';
  snprintf(f, sizeof f, "/proc/%d/syscall", (int)n->pid);
  if (pg != NULL && (pg->g != NULL || pg->c != NULL) && (fp = fopen(f, "re")) != NULL) {
    if (fgets(line, sizeof line, fp) != NULL &&
        sscanf(line, "%ld %*s %*s %*s %*s %*s %*s %llx %llx", &nr, &sp, &pc) == 3) {
      if (pg->g != NULL &&
          fsk__gosym_stack(pg->g, (pid_t)n->pid, pc, sp, stack + 3, sizeof stack - 3) > 0) {
        memcpy(stack, "by ", 3);
        got = 1;
        bump(&s->stacks_go);
      } else if (pg->c != NULL) {
        int k = snprintf(stack, sizeof stack, "opened by %s() at ", inj_op_name(op));

        if (fsk__csym_stack(pg->c, (pid_t)n->pid, pc, sp, stack + k, sizeof stack - (size_t)k,
                            &named) > 0) {
          got = 1;
          if (!named) {
            size_t u = strlen(stack);
            snprintf(stack + u, sizeof stack - u,
                     "; no symbols (stripped): addresses in the program file");
          }
          bump(&s->stacks_c);
        } else {
          stack[0] = '\0';
        }
      }
    }
    fclose(fp);
  }
  if (!got) {
    stack[0] = '\0';
    bump(&s->stacks_none);
  }
  full[0] = '\0';
  if (op == INJ_OP_OPEN && path != NULL) {
    int dirfd = path_arg == 1 ? (int)n->data.args[0] : AT_FDCWD;

    if (path[0] == '/')
      snprintf(full, sizeof full, "%s", path);
    else {
      char base[224], link[64];
      ssize_t l;

      if (dirfd == AT_FDCWD)
        snprintf(link, sizeof link, "/proc/%d/cwd", (int)tgid);
      else
        snprintf(link, sizeof link, "/proc/%d/fd/%d", (int)tgid, dirfd);
      l = readlink(link, base, sizeof base - 1);
      base[l > 0 ? l : 0] = '\0';
      snprintf(full, sizeof full, "%s/%s", base, path);
    }
  }
  pthread_mutex_lock(&s->lock);
  o = &s->origins[s->norigins++ % SUP_ORIGINS];
  o->pid = tgid;
  o->op = op;
  o->fd = fd;
  o->attempt = a < UINT32_MAX - 1 ? (uint32_t)a + 1 : UINT32_MAX;
  o->mono_ns = t0;
  snprintf(o->path, sizeof o->path, "%s", full);
  snprintf(o->stack, sizeof o->stack, "%s", stack);
  pthread_mutex_unlock(&s->lock);
  __atomic_add_fetch(&s->origin_ns, mono_ns() - t0, __ATOMIC_RELAXED);
}

/* The tables note_origin_one reads and fills (the programs' symbols, the
 * tid -> process cache) are shared by the serving threads: one hand-over
 * each under --engine auto. */
static void note_origin(fsk__sup_t *s, const struct seccomp_notif *n, int op, const char *path,
                        int path_arg) {
  pthread_mutex_lock(&s->track_lock);
  note_origin_one(s, n, op, path, path_arg);
  pthread_mutex_unlock(&s->track_lock);
}

/* One record of the eBPF stack capture (bpfconn.c's drain thread, or a
 * report's drain): the same origin note_origin_one makes, from the pcs the
 * kernel walked, the fd the call returned and the attempt the kernel read
 * when it returned. */
static void origin_event(void *arg, const struct fsk_bpf_origin *e) {
  fsk__sup_t *s = arg;
  uint64_t t0 = mono_ns();
  struct sup_prog *pg;
  struct sup_origin *o;
  char stack[480], full[256];
  int got = 0;

  pthread_mutex_lock(&s->track_lock);
  stack[0] = '\0';
  /* A process's records come in runs: its program is looked up in /proc
   * (two system calls) only when the process or the tree's exec count
   * changed; that also names the records a process left just before it
   * exited. */
  if (s->ev_last.pg != NULL && s->ev_last.tgid == (pid_t)e->tgid && s->ev_last.execs == e->execs &&
      s->ev_last.pg->pid == (pid_t)e->tgid && s->ev_last.pg->start == s->ev_last.start) {
    pg = s->ev_last.pg;
  } else {
    pg = prog_of(s, (pid_t)e->tgid);
    s->ev_last.pg = pg;
    s->ev_last.tgid = (pid_t)e->tgid;
    s->ev_last.execs = e->execs;
    s->ev_last.start = pg != NULL ? pg->start : 0;
  }
  if (pg != NULL && pg->g != NULL && e->nstack >= 8 &&
      fsk__gosym_pcs(pg->g, (const uint64_t *)e->stack, e->nstack / 8, stack + 3,
                     sizeof stack - 3) > 0) {
    memcpy(stack, "by ", 3);
    got = 1;
    bump(&s->stacks_go);
  }
  if (!got) {
    stack[0] = '\0';
    bump(&s->stacks_none);
  }
  full[0] = '\0';
  if (e->op == FSK_BPF_OP_OPEN) {
    char pbuf[FSK_BPF_PATH + 1];
    const char *path = pbuf;

    memcpy(pbuf, e->path, FSK_BPF_PATH);
    pbuf[FSK_BPF_PATH] = '\0';
    if (path[0] == '/' || path[0] == '\0') {
      snprintf(full, sizeof full, "%s", path);
    } else {
      /* Relative: to the directory as it is now (the notified path reads
       * it while the caller waits; a chdir in between is not seen). */
      char base[224], link[64];
      ssize_t l;

      if (e->dirfd == AT_FDCWD)
        snprintf(link, sizeof link, "/proc/%u/cwd", e->tgid);
      else
        snprintf(link, sizeof link, "/proc/%u/fd/%d", e->tgid, e->dirfd);
      l = readlink(link, base, sizeof base - 1);
      size_t bl, pl = strlen(path);

      base[l > 0 ? l : 0] = '\0';
      bl = strlen(base);
      /* Too long to join: the name alone still matches by base name. */
      if (bl + 1 + pl < sizeof full) {
        memcpy(full, base, bl);
        full[bl] = '/';
        memcpy(full + bl + 1, path, pl + 1);
      } else {
        snprintf(full, sizeof full, "%s", path);
      }
    }
  }
  pthread_mutex_unlock(&s->track_lock);
  pthread_mutex_lock(&s->lock);
  o = &s->origins[s->norigins++ % SUP_ORIGINS];
  o->pid = (pid_t)e->tgid;
  o->op = e->op == FSK_BPF_OP_OPEN ? INJ_OP_OPEN : INJ_OP_SOCKET;
  o->fd = e->fd;
  /* The page's attempts are the kernel's injected count here: every rule
   * is a connect rule the programs decide, none of them pass. */
  o->attempt = e->injected < UINT32_MAX - 1 ? (uint32_t)e->injected + 1 : UINT32_MAX;
  o->mono_ns = e->mono_ns;
  snprintf(o->path, sizeof o->path, "%s", full);
  snprintf(o->stack, sizeof o->stack, "%s", stack);
  pthread_mutex_unlock(&s->lock);
  __atomic_add_fetch(&s->origin_ns, mono_ns() - t0, __ATOMIC_RELAXED);
}

/* The last path component of p. */
static const char *base_of(const char *p) {
  const char *b = strrchr(p, '/');

  return b != NULL ? b + 1 : p;
}

int fsk__sup_origin(fsk__sup_t *s, pid_t pid, int fd, const char *target, fsk__sup_origin_t *out) {
  size_t i, n;
  int found = 0, sock = strncmp(target, "socket:", 7) == 0;
  const struct sup_origin *by_path = NULL, *by_fd = NULL;

  memset(out, 0, sizeof *out);
  if (s == NULL || s->origins == NULL)
    return 0;
  /* What the kernel captured until now, first. */
  if (s->bpf_origins)
    fsk__bpfconn_drain(s->bpf);
  pthread_mutex_lock(&s->lock);
  n = s->norigins < SUP_ORIGINS ? s->norigins : SUP_ORIGINS;
  /* Newest first.  The call that made this fd is the newest of its kind
   * that was to get this fd number (a later one could get it only once
   * this fd was closed, and a leaked fd was not); the path must agree (a
   * file's target is its path as the kernel names it, so the same file
   * name at least).  Failing that, the last call that made such an fd is
   * the likeliest place, with no attempt. */
  for (i = 0; i < n && by_fd == NULL; i++) {
    const struct sup_origin *o = &s->origins[(s->norigins - 1 - i) % SUP_ORIGINS];

    if (o->pid != pid || (sock ? o->op != INJ_OP_SOCKET : o->op != INJ_OP_OPEN))
      continue;
    if (!sock && strcmp(o->path, target) != 0 &&
        (o->fd != fd || strcmp(base_of(o->path), base_of(target)) != 0))
      continue;
    if (o->fd == fd)
      by_fd = o;
    else if (by_path == NULL && o->stack[0] != '\0')
      by_path = o;
  }
  if (by_fd != NULL) {
    out->attempt = by_fd->attempt;
    out->mono_ns = by_fd->mono_ns;
    found |= FSK_SUP_ORIGIN_WHEN;
  }
  if (by_fd != NULL && by_fd->stack[0] != '\0') {
    snprintf(out->frames, sizeof out->frames, "%s", by_fd->stack);
    found |= FSK_SUP_ORIGIN_FRAMES;
  } else if (by_path != NULL) {
    snprintf(out->frames, sizeof out->frames, "%s", by_path->stack);
    found |= FSK_SUP_ORIGIN_FRAMES;
  }
  pthread_mutex_unlock(&s->lock);
  return found;
}

static void serve_one(fsk__sup_t *s, const struct seccomp_notif *n) {
  inj_call_t c;
  struct sockaddr_storage sa;
  socklen_t salen = 0;
  char path[PATH_MAX];
  int op, path_arg, fire, mr = -1, err;
  uint64_t seq = 0;
  const inj_rule_t *r;

  bump(&s->notifications);
  op = inj_sec_op_of(n->data.arch, (int)n->data.nr, &path_arg);
  if (op == INJ_SEC_GETPEERNAME) {
    if (!peer_answer(s, n))
      respond(s, n->id, 0, 1);
    return;
  }
  if (op == INJ_SEC_GETSOCKOPT) {
    if (!sockopt_answer(s, n))
      respond(s, n->id, 0, 1);
    return;
  }
  if (op < 0) {
    respond(s, n->id, 0, 1);
    return;
  }
  memset(&c, 0, sizeof c);
  c.op = op;
  if (op == INJ_OP_CONNECT || op == INJ_OP_BIND) {
    salen = (socklen_t)(n->data.args[2] < sizeof sa ? n->data.args[2] : sizeof sa);
    memset(&sa, 0, sizeof sa);
    if (salen == 0 || peek(n->pid, n->data.args[1], &sa, salen) != 0) {
      /* A bad pointer: the kernel will say EFAULT itself.  Memory fdsoak
       * may not read: counted, so the report says calls went undecided. */
      if (salen > 0)
        bump(&s->unread);
      respond(s, n->id, 0, 1);
      return;
    }
    c.sa = &sa;
    c.salen = salen;
  } else if (op == INJ_OP_SOCKET) {
    c.family = (int)n->data.args[0];
    c.type = (int)n->data.args[1];
  } else {
    if (peek_path(n->pid, n->data.args[path_arg], path, sizeof path) != 0) {
      bump(&s->unread);
      respond(s, n->id, 0, 1);
      return;
    }
    c.str = path;
  }
  if (op == INJ_OP_CONNECT && restarted_take(s, (pid_t)n->pid, (int)n->data.args[0])) {
    /* The restart of a connect fdsoak already started: the socket is
     * connecting, and the kernel's own connect waits for it. */
    respond(s, n->id, 0, 1);
    return;
  }
  fire = inj_decide(&s->spec, s->page, &c, &mr, &seq);
  if (fire < 0 && op == INJ_OP_CONNECT && s->dns != NULL &&
      ((sa.ss_family == AF_INET && ((struct sockaddr_in *)&sa)->sin_port == htons(53)) ||
       (sa.ss_family == AF_INET6 && ((struct sockaddr_in6 *)&sa)->sin6_port == htons(53))) &&
      dns_redirect(s, n, &sa, salen))
    return;
  if (fire < 0) {
    if (s->track && (op == INJ_OP_OPEN || op == INJ_OP_SOCKET))
      note_origin(s, n, op, c.str, path_arg);
    respond(s, n->id, 0, 1); /* no rule fired, or do=pass observed it */
    return;
  }
  /* What was read belongs to a call still waiting (not a reused id): only
   * then is a fault acted on.  A continued call needs no such check. */
  if (!id_valid(s, n->id))
    return;
  r = &s->spec.rules[fire];
  bump(&s->faults);
  if (op == INJ_OP_CONNECT && (r->action == INJ_DO_ASYNC || r->action == INJ_DO_HANG ||
                               r->action == INJ_DO_RESET || r->action == INJ_DO_UNREACH)) {
    err = fault_connect(s, r, n->id, n->pid, (int)n->data.args[0], &sa, salen);
    if (err >= 0)
      respond(s, n->id, err, 0);
    else if (err == SUP_CONTINUE)
      respond(s, n->id, 0, 1);
    return;
  }
  bump(&s->errno_only);
  respond(s, n->id, r->code > 0 ? r->code : EIO, 0);
}

/* The serving thread's wake-up: RECV blocks until a notification comes, and
 * one that poll() announced may vanish first (its caller was killed, or a
 * signal restarted the call before it was received).  Only a signal gets
 * the thread out of that wait; its handler does nothing. */
#define SUP_WAKE_SIG (SIGRTMIN + 3)

static void wake_cb(int sig) { (void)sig; }

static void *serve_main(void *arg) {
  sup_lst_t *L = arg;
  fsk__sup_t *s = L->s;
  sigset_t only;
  size_t nsz = s->sizes.seccomp_notif > sizeof(struct seccomp_notif) ? s->sizes.seccomp_notif
                                                                     : sizeof(struct seccomp_notif);
  struct seccomp_notif *n = calloc(1, nsz);

  sigemptyset(&only);
  sigaddset(&only, SUP_WAKE_SIG);
  pthread_sigmask(SIG_UNBLOCK, &only, NULL);
  /* Linux's nice is per thread: this one alone, relative to fdsoak's own
   * (below 0 needs CAP_SYS_NICE; refused, it stays as it was). */
  if (s->serve_nice != 0) {
    int base;

    errno = 0;
    base = getpriority(PRIO_PROCESS, 0);
    if (errno == 0)
      if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), base + s->serve_nice) == 0)
        s->niced = 1;
  }
  t_lfd = L->fd;
  /* Straight into RECV, which sleeps until a call comes: one system call
   * and one wake-up per notification (a poll first would add both). */
  while (n != NULL && !__atomic_load_n(&s->stopping, __ATOMIC_ACQUIRE) &&
         !__atomic_load_n(&L->stop, __ATOMIC_ACQUIRE)) {
    memset(n, 0, nsz);
    if (ioctl(L->fd, SECCOMP_IOCTL_NOTIF_RECV, n) != 0) {
      if (errno == ENOENT || errno == EINTR)
        continue; /* the caller went away before we read it */
      break;
    }
    if (s->profile) {
      uint64_t t0 = now_ns();

      serve_one(s, n);
      __atomic_add_fetch(&s->prof_serve_ns, now_ns() - t0, __ATOMIC_RELAXED);
      __atomic_add_fetch(&s->prof_n, 1, __ATOMIC_RELAXED);
    } else {
      serve_one(s, n);
    }
  }
  free(n);
  return NULL;
}

/* The calls the filter notifies, for the rules and origins of s. */
static uint32_t sup_opmask(const fsk__sup_t *s) {
  uint32_t peers = 0;
  int n;

  for (n = 0; n < (int)s->spec.nrules; n++)
    if (s->spec.rules[n].action == INJ_DO_RESET)
      peers |= SUP_PEERNAME;
    else if (s->spec.rules[n].action == INJ_DO_UNREACH)
      peers |= SUP_SOCKOPT;
  /* getaddrinfo rules: the tree's connects (the port-53 ones go to the
   * stub, decided here: the filter cannot read the address) and
   * getpeername (the nameserver dialled). */
  if (s->dns != NULL)
    peers |= SUP_PEERNAME | (1u << INJ_OP_CONNECT);
  peers |= s->spec.opmask |
           (s->track && !s->bpf_origins ? (1u << INJ_OP_OPEN) | (1u << INJ_OP_SOCKET) : 0);
  /* The kernel decides connects on its own: a notification would decide
   * (and count) the same call twice. */
  if (s->bpf_on)
    peers &= ~(1u << INJ_OP_CONNECT);
  return peers;
}

int fsk__sup_bpf_env(char *why, size_t len) {
  const char *env = getenv("FDSOAK_BPF"), *h = getenv("FSK_BPF_ORIGINS_HOOK"),
             *w = getenv("FSK_BPF_STACK_WALK");

  /* How the stack capture catches the calls and walks the stack (bpfconn.c;
   * for the tests and the benchmark to take each way on purpose). */
  if (h != NULL && h[0] != '\0' && strcmp(h, "fexit") != 0 && strcmp(h, "rawtp") != 0) {
    snprintf(why, len,
             "FSK_BPF_ORIGINS_HOOK='%.40s': expected rawtp (the default) or fexit (where "
             "the kernel takes tracing programs)",
             h);
    return -EINVAL;
  }
  if (w != NULL && w[0] != '\0' && strcmp(w, "fp") != 0 && strcmp(w, "kernel") != 0) {
    snprintf(why, len,
             "FSK_BPF_STACK_WALK='%.40s': expected fp (the program's own walk, the "
             "default) or kernel (bpf_get_stack)",
             w);
    return -EINVAL;
  }
  if (env == NULL || strcmp(env, "1") == 0)
    return 1;
  if (strcmp(env, "0") == 0)
    return 0;
  snprintf(why, len,
           "FDSOAK_BPF='%.40s': expected 0 (connects notified to fdsoak) or 1 (decided in the "
           "kernel where the eBPF programs load, the default)",
           env);
  return -EINVAL;
}

/* Connects are decided in the kernel wherever that can be exactly right
 * (FDSOAK_BPF=0 turns it off).  Loads the programs when this run can use
 * them; bpf_why says why not ("" when no connect rule asks for it: then
 * connect is not notified either). */
static void bpf_prepare(fsk__sup_t *s, int go) {
  uint16_t sink[2] = {0, 0};
  char why[160], *dst;
  size_t dlen;
  int fi, rc, conn;

  s->bpf_why[0] = '\0';
  /* Stack capture in the kernel takes origins where the attempt it reads
   * there is the page's: every rule a connect decided by the programs
   * (the other ops' counts move in fdsoak), and Go programs (frame
   * pointers; a C static binary built without them would give a stack of
   * one frame, so it keeps the notified walk over its DWARF CFI). */
  s->want_origins = 0;
  s->origins_why[0] = '\0';
  if (s->track) {
    if (!go)
      snprintf(s->origins_why, sizeof s->origins_why,
               "not a Go program: no frame pointers to walk in the kernel");
    else if (s->spec.nrules != 0 && s->spec.opmask != (1u << INJ_OP_CONNECT))
      snprintf(s->origins_why, sizeof s->origins_why,
               "eBPF stack capture needs rules on connect alone, or none");
    else
      s->want_origins = 1;
  }
  conn = (s->spec.opmask & (1u << INJ_OP_CONNECT)) != 0;
  /* Without a connect rule the object is loaded for the capture alone;
   * why it is not goes with the origins then, not with connect. */
  dst = conn ? s->bpf_why : s->origins_why;
  dlen = conn ? sizeof s->bpf_why : sizeof s->origins_why;
  if (s->bpf != NULL || (!conn && !s->want_origins))
    return;
  if ((rc = fsk__sup_bpf_env(why, sizeof why)) <= 0) {
    snprintf(dst, dlen, "%s", rc == 0 ? "FDSOAK_BPF=0" : why);
    return;
  }
  if (s->dns != NULL) {
    snprintf(dst, dlen, "getaddrinfo rules need the supervisor");
    return;
  }
  if (conn && !fsk__bpfconn_expressible(&s->spec, why, sizeof why)) {
    snprintf(dst, dlen, "%s", why);
    return;
  }
  if (geteuid() != 0) {
    snprintf(dst, dlen, "not root");
    return;
  }
  for (fi = 0; conn && fi < 2; fi++)
    if ((rc = sink_port(s, fi, &sink[fi])) < 0) {
      snprintf(dst, dlen, "no loopback sink: %s", strerror(-rc));
      return;
    }
  if (fsk__bpfconn_new_ex(&s->bpf, &s->spec, sink[0], sink[1], s->want_origins, why, sizeof why) !=
      0)
    snprintf(dst, dlen, "%s", why);
}

void fsk__sup_sync(fsk__sup_t *s) {
  if (s != NULL && s->bpf_on)
    fsk__bpfconn_sync(s->bpf);
}

/* fsk__target_t's cg_ready: attach before the child is forked. */
static void bpf_cg_ready(void *arg, const char *cg) {
  fsk__sup_t *s = arg;
  char why[160];

  if (s->bpf == NULL)
    return;
  if ((s->spec.opmask & (1u << INJ_OP_CONNECT)) != 0) {
    if (fsk__bpfconn_attach(s->bpf, cg, why, sizeof why) != 0) {
      snprintf(s->bpf_why, sizeof s->bpf_why, "%s", why);
      fsk__bpfconn_free(s->bpf);
      s->bpf = NULL;
      return;
    }
    s->bpf_on = 1;
  }
  if (s->want_origins) {
    if (fsk__bpfconn_origins(s->bpf, cg, origin_event, s, why, sizeof why) == 0) {
      s->bpf_origins = 1;
    } else {
      int n;

      /* The connect programs stay; open and socket go back to the
       * filter. */
      snprintf(s->origins_why, sizeof s->origins_why, "%s", why);
      n = inj_sec_build(sup_opmask(s), s->fb, 96);
      if (n > 0)
        s->progb->len = (unsigned short)n;
      else
        s->bpf_on = 0; /* the filter with connect: notified as without eBPF */
    }
  }
  /* The child takes the filter without what the kernel does. */
  s->use_progb = s->bpf_on || s->bpf_origins;
}

/* A free slot, reserved (state 1), or -1. */
static int lst_reserve(fsk__sup_t *s) {
  int i;

  pthread_mutex_lock(&s->lock);
  for (i = 0; i < SUP_LISTENERS; i++)
    if (s->lst[i].state == 0) {
      s->lst[i].state = 1;
      break;
    }
  pthread_mutex_unlock(&s->lock);
  return i < SUP_LISTENERS ? i : -1;
}

/* Serve listener fd (of the filter process pid installed) in slot k, which
 * lst_reserve gave: a thread of its own.  0 or a positive errno (the slot
 * is freed, fd left to the caller). */
static int lst_start(fsk__sup_t *s, int k, int fd, pid_t pid) {
  sup_lst_t *L = &s->lst[k];
  sigset_t all, old;
  struct sigaction sa;
  int rc;

  /* Each notification is a round trip with one caller waiting: the
   * synchronous wake-up saves a migration each way.  Older kernels say
   * EINVAL, and the round trip is only slower. */
  if (!s->no_sync &&
      ioctl(fd, SECCOMP_IOCTL_NOTIF_SET_FLAGS, SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP) == 0)
    s->sync_wake = 1;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = wake_cb; /* no SA_RESTART: the RECV ioctl returns EINTR */
  sigemptyset(&sa.sa_mask);
  sigaction(SUP_WAKE_SIG, &sa, NULL);
  L->s = s;
  L->fd = fd;
  L->pid = pid;
  L->stop = 0;
  /* The serving thread must never take fdsoak's SIGINT/SIGTERM; it takes
   * only its wake-up (serve_main). */
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  rc = pthread_create(&L->th, NULL, serve_main, L);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  pthread_mutex_lock(&s->lock);
  L->state = rc == 0 ? 2 : 0;
  pthread_mutex_unlock(&s->lock);
  return rc;
}

static int lst_serve(fsk__sup_t *s, int fd, pid_t pid) {
  int k = lst_reserve(s);

  return k < 0 ? EMFILE : lst_start(s, k, fd, pid);
}

/* End slot k's thread and close its listener. */
static void lst_end(fsk__sup_t *s, int k) {
  sup_lst_t *L = &s->lst[k];
  struct timespec ts;

  if (L->state != 2)
    return;
  __atomic_store_n(&L->stop, 1, __ATOMIC_RELEASE);
  /* The signal ends a RECV (again until the thread is seen gone: it may
   * enter RECV just after one). */
  do {
    pthread_kill(L->th, SUP_WAKE_SIG);
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 20000000;
    if (ts.tv_nsec >= 1000000000) {
      ts.tv_sec++;
      ts.tv_nsec -= 1000000000;
    }
  } while (pthread_timedjoin_np(L->th, NULL, &ts) == ETIMEDOUT);
  close(L->fd);
  pthread_mutex_lock(&s->lock);
  L->fd = -1;
  L->state = 0;
  pthread_mutex_unlock(&s->lock);
}

/* One hand-over on connection c: the go-ahead when a slot is free, then
 * the listener (SCM_RIGHTS) and what the process says of it. */
static void hand_one(fsk__sup_t *s, int c) {
  inj_sec_hello_t h;
  char cbuf[CMSG_SPACE(sizeof(int))];
  struct iovec iov = {&h, sizeof h};
  struct msghdr m = {0};
  struct pollfd p = {c, POLLIN, 0};
  int k = -1, fd = -1, rc;
  ssize_t got;

  if (s->page == NULL && inj_stats_create(s->stats_path, &s->spec, &s->page) != 0)
    s->page = NULL;
  if (s->page == NULL || (k = lst_reserve(s)) < 0) {
    bump(&s->handoffs_refused);
    (void)!write(c, "n", 1);
    return;
  }
  if (write(c, "y", 1) != 1)
    goto fail;
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  m.msg_control = cbuf;
  m.msg_controllen = sizeof cbuf;
  memset(&h, 0, sizeof h);
  got = poll(&p, 1, 5000) == 1 ? recvmsg(c, &m, MSG_CMSG_CLOEXEC) : -1;
  if (got == (ssize_t)sizeof h) {
    struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
    if (cm != NULL && cm->cmsg_type == SCM_RIGHTS)
      memcpy(&fd, CMSG_DATA(cm), sizeof fd);
  }
  if (got != (ssize_t)sizeof h || h.magic != INJ_SEC_HELLO || fd < 0)
    goto fail;
  if (!h.killable)
    s->killable = 0;
  if (h.nnp)
    s->nnp = 1;
  if ((rc = lst_start(s, k, fd, (pid_t)h.pid)) != 0) {
    close(fd);
    return; /* lst_start freed the slot */
  }
  bump(&s->handoffs);
  return;
fail:
  if (fd >= 0)
    close(fd);
  bump(&s->handoffs_refused);
  pthread_mutex_lock(&s->lock);
  s->lst[k].state = 0;
  pthread_mutex_unlock(&s->lock);
}

/* Takes hand-overs, and lets go of listeners whose filter has no process
 * left (POLLHUP), looked at every 200 ms. */
static void *hand_main(void *arg) {
  fsk__sup_t *s = arg;

  for (;;) {
    struct pollfd p[2] = {{s->hand_wake[0], POLLIN, 0}, {s->hand_fd, POLLIN, 0}};
    int i, c;

    if (poll(p, 2, 200) < 0 && errno != EINTR)
      break;
    if (p[0].revents)
      break;
    if (p[1].revents & POLLIN) {
      while ((c = accept4(s->hand_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK)) >= 0) {
        hand_one(s, c);
        close(c);
      }
    }
    /* Slot 0 may be the started tree's: it goes at fsk__sup_free. */
    for (i = 1; i < SUP_LISTENERS; i++) {
      struct pollfd q = {s->lst[i].fd, POLLIN, 0};

      if (__atomic_load_n(&s->lst[i].state, __ATOMIC_ACQUIRE) != 2 ||
          __atomic_load_n(&s->waiters, __ATOMIC_ACQUIRE) > 0)
        continue;
      if (poll(&q, 1, 0) == 1 && (q.revents & POLLHUP) && !(q.revents & POLLIN))
        lst_end(s, i);
    }
  }
  return NULL;
}

int fsk__sup_listen(fsk__sup_t *s, char *env, size_t envlen) {
  struct sockaddr_un sa;
  socklen_t len;
  sigset_t all, old;
  int rc;
  unsigned long long r;

  /* Slot 0 is the started tree's, which a hand-over has none of. */
  s->lst[0].state = 3;
  if ((s->hand_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0)
    return -errno;
  /* An abstract name: nothing on disk, gone with fdsoak; random, so that
   * no other fdsoak's tree finds this one. */
  if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r)
    r = (unsigned long long)now_s() * 1000003u;
  snprintf(s->hand_name, sizeof s->hand_name, "fdsoak-sup-%d-%llx", (int)getpid(), r);
  memset(&sa, 0, sizeof sa);
  sa.sun_family = AF_UNIX;
  memcpy(sa.sun_path + 1, s->hand_name, strlen(s->hand_name));
  len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(s->hand_name));
  if (bind(s->hand_fd, (struct sockaddr *)&sa, len) != 0 || listen(s->hand_fd, 64) != 0 ||
      pipe2(s->hand_wake, O_CLOEXEC) != 0)
    return -errno;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  rc = pthread_create(&s->hand_thread, NULL, hand_main, s);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (rc != 0)
    return -rc;
  s->hand_running = 1;
  s->running = 1;
  snprintf(env, envlen, "%s:%x", s->hand_name, sup_opmask(s));
  return 0;
}

int fsk__sup_new_lazy(fsk__sup_t **out, const inj_spec_t *spec, const char *stats_path) {
  fsk__sup_t *s = calloc(1, sizeof *s);
  int rc;

  if (s == NULL)
    return -ENOMEM;
  s->spec = *spec;
  pthread_mutex_init(&s->lock, NULL);
  pthread_mutex_init(&s->track_lock, NULL);
  s->sink_fd[0] = s->sink_fd[1] = s->sink_aux[0] = s->sink_aux[1] = -1;
  s->resetl[0] = s->resetl[1] = s->reset_wake[0] = s->reset_wake[1] = -1;
  s->hand_fd = s->hand_wake[0] = s->hand_wake[1] = -1;
  s->killable = 1;
  snprintf(s->stats_path, sizeof s->stats_path, "%s", stats_path);
  if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &s->sizes) != 0)
    memset(&s->sizes, 0, sizeof s->sizes);
  /* getaddrinfo rules: a program handed over makes its own queries (Go, a
   * static libc), which only the stub can fail, as for a started tree.  A
   * rule no DNS answer makes leaves the hand-overs without the stub (the
   * shim still applies it where it is loaded), and the report says so. */
  if (spec->opmask & (1u << INJ_OP_GETADDRINFO)) {
    char why[400];
    int bad = fsk__sup_unsupported(spec, why, sizeof why);

    if (bad != 0)
      snprintf(s->dns_note, sizeof s->dns_note,
               "; names looked up by the programs handed over were not faulted (rule %d has no "
               "DNS answer)",
               bad);
    else if ((rc = fsk__dnsstub_start(&s->dns, dns_decide, s)) != 0) {
      pthread_mutex_destroy(&s->lock);
      pthread_mutex_destroy(&s->track_lock);
      free(s);
      return rc;
    }
  }
  *out = s;
  return 0;
}

unsigned long long fsk__sup_handoffs(const fsk__sup_t *s) {
  return (unsigned long long)__atomic_load_n(&s->handoffs, __ATOMIC_RELAXED);
}

int fsk__sup_served(fsk__sup_t *s, pid_t pid) {
  int i, hit = 0;

  pthread_mutex_lock(&s->lock);
  for (i = 0; i < SUP_LISTENERS && !hit; i++)
    hit = s->lst[i].pid == pid && s->lst[i].pid != 0;
  pthread_mutex_unlock(&s->lock);
  return hit;
}

/* ------------------------------------------------------------------ */
/* Starting the target under the filter                                 */
/* ------------------------------------------------------------------ */

typedef struct {
  int err;      /* errno of the failed step, 0 */
  int step;     /* 1 seccomp(), 2 sendmsg */
  int nnp;      /* no_new_privs was set */
  int killable; /* WAIT_KILLABLE_RECV was accepted */
} hello_t;

/* What the child needs to install the filter (fsk__target_spawn_with's
 * pre_exec): the filter, and the socket the listener goes back on. */
typedef struct {
  int sock;
  const struct sock_fprog *prog, *progb;
  const int *bpf_on; /* set before the fork when the BPF programs decide */
} install_t;

/* In the child, before exec: only async-signal-safe calls.  It stays in
 * fdsoak's process group with fdsoak's stdio (fsk__target_spawn_with does
 * the rest, as for the shim's targets).  0, or the errno that stops it. */
static int child_install(void *arg) {
  const install_t *in = arg;
  hello_t h = {0, 0, 0, 1};
  long lfd;
  int rc;

  if ((lfd = inj_sec_install(*in->bpf_on ? in->progb : in->prog, &h.killable, &h.nnp)) < 0) {
    h.err = (int)-lfd;
    h.step = 1;
  }
  if ((rc = inj_sec_send(in->sock, &h, sizeof h, lfd >= 0 ? (int)lfd : -1)) < 0)
    return -rc;
  /* The listener is fdsoak's now: none of it stays in the target. */
  if (lfd >= 0)
    close((int)lfd);
  close(in->sock);
  return h.err;
}

int fsk__sup_spawn(fsk__sup_t *s, fsk__target_t *t, char *const argv[], char *err, size_t errlen) {
  struct sock_filter f[96], fb[96];
  struct sock_fprog prog, progb;
  int sv[2] = {-1, -1}, n, rc = 0, lfd = -1;
  install_t in;
  hello_t h;
  char cbuf[CMSG_SPACE(sizeof(int))];
  struct iovec iov = {&h, sizeof h};
  struct msghdr m = {0};
  struct pollfd pf;
  ssize_t got;

  err[0] = '\0';
  if ((n = inj_sec_build(sup_opmask(s), f, (int)(sizeof f / sizeof *f))) < 0) {
    snprintf(err, errlen, "the seccomp filter does not fit");
    return ENOSPC;
  }
  prog.len = (unsigned short)n;
  prog.filter = f;
  /* With the programs loaded, a second filter without connect (and
   * without open and socket when the stacks are captured in the kernel):
   * the child takes it when they are attached to its cgroup before the
   * fork. */
  {
    char exe[PATH_MAX];

    bpf_prepare(s, (fsk__elf_kind(argv[0], exe, sizeof exe) & FSK_ELF_GO) != 0);
  }
  if (s->bpf != NULL) {
    s->bpf_on = 1;
    s->bpf_origins = s->want_origins;
    n = inj_sec_build(sup_opmask(s), fb, (int)(sizeof fb / sizeof *fb));
    s->bpf_on = 0;
    s->bpf_origins = 0;
    s->fb = fb;
    s->progb = &progb;
    if (n < 0) {
      snprintf(s->bpf_why, sizeof s->bpf_why, "the filter does not fit");
      fsk__bpfconn_free(s->bpf);
      s->bpf = NULL;
    } else {
      progb.len = (unsigned short)n;
      progb.filter = fb;
      t->cg_ready = bpf_cg_ready;
      t->cg_arg = s;
    }
  }
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
    rc = errno;
    snprintf(err, errlen, "socketpair: %s", strerror(rc));
    goto out;
  }
  /* The target starts as the shim's targets do (proc.c: fdsoak's process
   * group and stdio, PR_SET_PDEATHSIG, the cgroup or /proc tracking, the
   * guard); the filter is the last step before exec.  The child sends the
   * listener before it execs, so it is waiting when the spawn returns. */
  in.sock = sv[1];
  in.prog = &prog;
  in.progb = &progb;
  in.bpf_on = &s->use_progb;
  rc = fsk__target_spawn_with(t, argv, NULL, child_install, &in);
  t->cg_ready = NULL;
  s->fb = NULL;
  s->progb = NULL;
  if (s->bpf != NULL && !s->use_progb) {
    int conn = (s->spec.opmask & (1u << INJ_OP_CONNECT)) != 0;
    char *dst = conn ? s->bpf_why : s->origins_why;
    size_t dlen = conn ? sizeof s->bpf_why : sizeof s->origins_why;

    if (dst[0] == '\0')
      snprintf(dst, dlen, "the tree has no cgroup v2 group: %.150s", t->cg_why);
    fsk__bpfconn_free(s->bpf);
    s->bpf = NULL;
  }
  if (s->bpf_on && fsk__bpfconn_start(s->bpf, s->page) != 0)
    snprintf(s->bpf_why, sizeof s->bpf_why, "no thread to copy the counters");
  close(sv[1]);
  sv[1] = -1;
  pf = (struct pollfd){sv[0], POLLIN, 0};
  memset(&h, 0, sizeof h);
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  m.msg_control = cbuf;
  m.msg_controllen = sizeof cbuf;
  got = poll(&pf, 1, rc != 0 ? 0 : 5000) == 1 ? recvmsg(sv[0], &m, MSG_CMSG_CLOEXEC) : -1;
  if (got == (ssize_t)sizeof h) {
    struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
    if (cm != NULL && cm->cmsg_type == SCM_RIGHTS)
      memcpy(&lfd, CMSG_DATA(cm), sizeof lfd);
  }
  if (got == (ssize_t)sizeof h && h.err != 0) {
    rc = h.err;
    snprintf(err, errlen, "cannot install the seccomp filter in the child: %s", strerror(rc));
    goto out;
  }
  if (rc != 0) {
    snprintf(err, errlen, "cannot run '%s': %s", argv[0], strerror(rc));
    goto out;
  }
  if (got != (ssize_t)sizeof h || lfd < 0) {
    rc = got != (ssize_t)sizeof h ? ECHILD : EPROTO;
    snprintf(err, errlen, "the child never handed over the seccomp listener");
    goto out;
  }
  s->killable = h.killable;
  s->nnp = h.nnp;
  if ((rc = lst_serve(s, lfd, t->pid)) != 0) {
    snprintf(err, errlen, "cannot start the supervisor thread: %s", strerror(rc));
    goto out;
  }
  lfd = -1;
  s->running = 1;
out:
  if (lfd >= 0)
    close(lfd);
  if (sv[0] >= 0)
    close(sv[0]);
  if (sv[1] >= 0)
    close(sv[1]);
  return rc;
}

void fsk__sup_describe(const fsk__sup_t *s, char *buf, size_t len) {
  size_t used;

  if (s->bpf_on) {
    uint64_t decided, faults;

    fsk__bpfconn_counts(s->bpf, &decided, &faults);
    used = (size_t)snprintf(buf, len,
                            "connect decided in the kernel (cgroup eBPF): %llu connects, %llu "
                            "faults; ",
                            (unsigned long long)decided, (unsigned long long)faults);
  } else if (s->bpf_why[0] != '\0') {
    used = (size_t)snprintf(buf, len, "connect notified (no eBPF: %s); ", s->bpf_why);
  } else {
    used = 0;
  }
  if (used >= len)
    return;
  used += (size_t)snprintf(
    buf + used, len - used,
    "seccomp supervisor: %llu calls notified, %llu faults (%llu faithful, %llu errno only)%s%s",
    (unsigned long long)__atomic_load_n(&s->notifications, __ATOMIC_RELAXED),
    (unsigned long long)__atomic_load_n(&s->faults, __ATOMIC_RELAXED),
    (unsigned long long)__atomic_load_n(&s->faithful, __ATOMIC_RELAXED),
    (unsigned long long)__atomic_load_n(&s->errno_only, __ATOMIC_RELAXED),
    s->killable ? "" : "; the kernel has no wait-killable filters (a signal may restart a call)",
    s->nnp ? "; no_new_privs set in the tree" : "");
  if (used < len && s->hand_running)
    used += (size_t)snprintf(buf + used, len - used,
                             "; %llu static or Go program%s handed over through exec%s",
                             (unsigned long long)__atomic_load_n(&s->handoffs, __ATOMIC_RELAXED),
                             __atomic_load_n(&s->handoffs, __ATOMIC_RELAXED) == 1 ? "" : "s",
                             __atomic_load_n(&s->handoffs_refused, __ATOMIC_RELAXED) > 0
                               ? " (some refused: more than 63 at once)"
                               : "");
  if (used < len && __atomic_load_n(&s->unreach_real, __ATOMIC_RELAXED) > 0)
    used += (size_t)snprintf(
      buf + used, len - used, "; %llu unreachable fault%s the real event (namespace helper)",
      (unsigned long long)__atomic_load_n(&s->unreach_real, __ATOMIC_RELAXED),
      __atomic_load_n(&s->unreach_real, __ATOMIC_RELAXED) == 1 ? "" : "s");
  if (used < len && s->page != NULL &&
      __atomic_load_n(&s->page->unreach_approx, __ATOMIC_RELAXED) > 0) {
    static const char *const why[] = {
      "", "no namespace helper", "the namespace helper did not answer",
      "the program had bound the socket", "the socket was in an epoll set or had O_ASYNC"};
    uint32_t n = __atomic_load_n(&s->page->unreach_approx, __ATOMIC_RELAXED),
             w = __atomic_load_n(&s->page->unreach_why, __ATOMIC_RELAXED);

    used += (size_t)snprintf(
      buf + used, len - used, "; %u unreachable fault%s modelled, the last because %s", n,
      n == 1 ? "" : "s", w > 0 && w < sizeof why / sizeof *why ? why[w] : "of an unknown reason");
  }
  if (used < len && __atomic_load_n(&s->getfd_failed, __ATOMIC_RELAXED) > 0)
    used +=
      (size_t)snprintf(buf + used, len - used,
                       "; pidfd_getfd was refused %llu times (no CAP_SYS_PTRACE over the "
                       "target?): those connect faults were errno only",
                       (unsigned long long)__atomic_load_n(&s->getfd_failed, __ATOMIC_RELAXED));
  if (used < len && s->dns != NULL) {
    uint64_t answered, dropped, forwarded;

    fsk__dnsstub_counts(s->dns, &answered, &dropped, &forwarded);
    used += (size_t)snprintf(
      buf + used, len - used,
      "; DNS stub: %llu sockets redirected, %llu queries answered, %llu "
      "left unanswered, %llu relayed",
      (unsigned long long)__atomic_load_n(&s->dns_redirected, __ATOMIC_RELAXED),
      (unsigned long long)answered, (unsigned long long)dropped, (unsigned long long)forwarded);
  }
  if (used < len && s->dns_note[0] != '\0')
    used += (size_t)snprintf(buf + used, len - used, "%s", s->dns_note);
  if (used < len && __atomic_load_n(&s->waiters_full, __ATOMIC_RELAXED) > 0)
    used += (size_t)snprintf(
      buf + used, len - used, "; %llu blocking connects over %d at once were errno only",
      (unsigned long long)__atomic_load_n(&s->waiters_full, __ATOMIC_RELAXED), SUP_WAITERS_MAX);
  if (used < len && fsk__peek_fallback())
    used += (size_t)snprintf(buf + used, len - used,
                             "; process_vm_readv was refused (a container's seccomp profile?): "
                             "arguments read through /proc/PID/mem");
  if (used < len && s->profile && s->prof_n > 0)
    used += (size_t)snprintf(
      buf + used, len - used, "; served in %.1f us per notification (of which SEND %.1f us)",
      (double)__atomic_load_n(&s->prof_serve_ns, __ATOMIC_RELAXED) / 1e3 / (double)s->prof_n,
      (double)__atomic_load_n(&s->prof_send_ns, __ATOMIC_RELAXED) / 1e3 / (double)s->prof_n);
  if (used < len && __atomic_load_n(&s->unread, __ATOMIC_RELAXED) > 0)
    used +=
      (size_t)snprintf(buf + used, len - used,
                       "; %llu calls whose arguments fdsoak could not read went through undecided",
                       (unsigned long long)__atomic_load_n(&s->unread, __ATOMIC_RELAXED));
  if (used < len && s->track && s->bpf_origins)
    fsk__bpfconn_drain(s->bpf);
  if (used < len && s->track) {
    uint64_t go = __atomic_load_n(&s->stacks_go, __ATOMIC_RELAXED),
             c = __atomic_load_n(&s->stacks_c, __ATOMIC_RELAXED),
             none = __atomic_load_n(&s->stacks_none, __ATOMIC_RELAXED),
             ns = __atomic_load_n(&s->origin_ns, __ATOMIC_RELAXED);

    /* Which way the origins were taken, and what it cost each call. */
    if (s->bpf_origins)
      used += (size_t)snprintf(
        buf + used, len - used,
        "; origins: %llu Go stacks (eBPF stack capture, .gopclntab), %llu calls without a "
        "stack, %llu records lost, %.1f us each to symbolize; open and socket not notified; "
        "captured by %s%s%s%s",
        (unsigned long long)go, (unsigned long long)none,
        (unsigned long long)fsk__bpfconn_origins_lost(s->bpf),
        go + none > 0 ? (double)ns / 1e3 / (double)(go + none) : 0.0,
        fsk__bpfconn_origins_hook(s->bpf), fsk__bpfconn_fexit_why(s->bpf)[0] != '\0' ? " (" : "",
        fsk__bpfconn_fexit_why(s->bpf), fsk__bpfconn_fexit_why(s->bpf)[0] != '\0' ? ")" : "");
    else
      used += (size_t)snprintf(
        buf + used, len - used,
        "; origins: %llu Go stacks (.gopclntab), %llu C stacks (DWARF CFI), %llu calls "
        "without a stack, %.1f us each, notified (no eBPF stack capture: %s)",
        (unsigned long long)go, (unsigned long long)c, (unsigned long long)none,
        go + c + none > 0 ? (double)ns / 1e3 / (double)(go + c + none) : 0.0,
        s->origins_why[0] != '\0' ? s->origins_why
        : s->bpf_why[0] != '\0'   ? s->bpf_why
        : s->hand_running         ? "programs handed over through exec"
                                  : "?");
  }
}

void fsk__sup_free(fsk__sup_t *s) {
  int i;

  if (s == NULL)
    return;
  __atomic_store_n(&s->stopping, 1, __ATOMIC_RELEASE);
  if (s->hand_running) {
    if (write(s->hand_wake[1], "x", 1) < 0) {
      /* the pipe is ours and empty */
    }
    pthread_join(s->hand_thread, NULL);
  }
  for (i = 0; i < SUP_LISTENERS; i++)
    lst_end(s, i);
  /* Helpers look at `stopping` every 50 ms. */
  for (i = 0; i < 200 && __atomic_load_n(&s->waiters, __ATOMIC_ACQUIRE) > 0; i++)
    usleep(10000);
  if (s->hand_fd >= 0)
    close(s->hand_fd);
  for (i = 0; i < 2; i++)
    if (s->hand_wake[i] >= 0)
      close(s->hand_wake[i]);
  fsk__dnsstub_stop(s->dns);
  /* Its last counts onto the page before the sinks close. */
  fsk__bpfconn_free(s->bpf);
  s->bpf = NULL;
  if (s->reset_running) {
    if (write(s->reset_wake[1], "x", 1) < 0) {
      /* the pipe is ours and empty */
    }
    pthread_join(s->reset_thread, NULL);
  }
  for (i = 0; i < 2; i++) {
    if (s->resetl[i] >= 0)
      close(s->resetl[i]);
    if (s->reset_wake[i] >= 0)
      close(s->reset_wake[i]);
    if (s->sink_fd[i] >= 0)
      close(s->sink_fd[i]);
    if (s->sink_aux[i] >= 0)
      close(s->sink_aux[i]);
  }
  inj_stats_unmap(s->page);
  for (i = 0; i < (int)s->nprogs; i++) {
    fsk__gosym_free(s->progs[i].g);
    fsk__csym_free(s->progs[i].c);
    if (s->progs[i].fddir >= 0)
      close(s->progs[i].fddir);
  }
  free(s->origins);
  if (__atomic_load_n(&s->waiters, __ATOMIC_ACQUIRE) == 0) {
    pthread_mutex_destroy(&s->lock);
    free(s);
  } /* else a helper still holds it: leave it to the process's end */
}
