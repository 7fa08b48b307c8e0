/*
 * bpfconn.c - the seccomp engine's connect decisions made in the kernel.
 *
 * A seccomp filter cannot read a connect's sockaddr, so with connect rules
 * every connect was a notification and a round trip to fdsoak (1.65x a
 * plain Go dial loop).  Here harness/bpf/connect.bpf.c, attached to the
 * tree's cgroup v2 group (proc.c makes it; every descendant is born in it),
 * decides instead: the connect rules as rules.c applies them, refuse and
 * hang made real by pointing the socket at a closed loopback port or the
 * supervisor's full-backlog sink, errno(E)
 * and a refused datagram connect failed at once.  Only rule
 * sets BPF can say go this way (fsk__bpfconn_expressible); the rest keep
 * the notification path.  The counters live in a map; a thread copies them
 * onto the stats page fdsoak keeps, so `attempts` reads as before.
 */
#include "bpfconn.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../bpf/bpfconn_abi.h"

int fsk__bpfconn_expressible(const inj_spec_t *spec, char *why, size_t len) {
  unsigned i, n = 0;

  if (spec->nrules > FSK_BPF_RULES) {
    snprintf(why, len, "more than %d rules", FSK_BPF_RULES);
    return 0;
  }
  for (i = 0; i < spec->nrules; i++) {
    const inj_rule_t *r = &spec->rules[i];

    if (r->op != INJ_OP_CONNECT)
      continue;
    n++;
    if (r->glob[0]) {
      snprintf(why, len, "rule %u matches a path (AF_UNIX)", i + 1);
      return 0;
    }
    if (!(r->action == INJ_DO_ASYNC && r->code == ECONNREFUSED) && r->action != INJ_DO_HANG &&
        r->action != INJ_DO_ERRNO) {
      snprintf(why, len,
               "rule %u: only do=refuse, do=hang and do=errno(E) are decided in the kernel", i + 1);
      return 0;
    }
    if (r->when != INJ_WHEN_ALWAYS && r->when != INJ_WHEN_FIRST && r->when != INJ_WHEN_AFTER &&
        r->when != INJ_WHEN_EVERY) {
      snprintf(why, len, "rule %u: only when=first/after/every are decided in the kernel", i + 1);
      return 0;
    }
    if (r->has_port && r->port_lo <= 53 && r->port_hi >= 53) {
      snprintf(why, len, "rule %u covers port 53 (the DNS stub needs the supervisor)", i + 1);
      return 0;
    }
  }
  if (n == 0) {
    snprintf(why, len, "no connect rule");
    return 0;
  }
  return 1;
}

#ifdef FSK_HAVE_BPF

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "connect.skel.h"

/* The origin programs' links: the exec counter, the raw sys_exit
 * tracepoint, and the fexit programs on open, creat, openat, openat2 and
 * socket. */
enum { OL_EXEC, OL_RAWTP, OL_FEXIT, OL_N = OL_FEXIT + 5 };
enum { HOOK_FEXIT, HOOK_RAWTP, HOOK_NONE };

struct fsk__bpfconn {
  struct fsk_connect *skel;
  struct bpf_link *links[2];
  int closed[2]; /* bound, never listening: a SYN there is answered RST */
  inj_stats_page_t *pg;
  struct fsk_bpf_count last[FSK_BPF_RULES + 1];
  pthread_mutex_t lock;
  pthread_t thr;
  int thr_running, stop;
  uint64_t decided, faults;
  /* Origins (fsk__bpfconn_origins): the ring, its drain thread, and the
   * programs' links (OL_*); hook says which way the calls are caught. */
  struct ring_buffer *rb;
  struct bpf_link *olinks[OL_N];
  int hook;
  char fexit_why[120]; /* why fexit was not used, "" when it was */
  pthread_mutex_t rb_lock;
  pthread_t othr;
  int othr_running;
  fsk__bpf_origin_cb cb;
  void *cb_arg;
  int origins_loaded;
  char origins_why[120]; /* why they did not load */
  unsigned nrules;       /* slots 0..nrules-1 of the counts map can move */
};

static int silent(enum libbpf_print_level l, const char *fmt, va_list ap) {
  (void)l;
  (void)fmt;
  (void)ap;
  return 0;
}

/* FSK_BPF_DEBUG=1: libbpf's log (the verifier's, why an attach failed) on
 * stderr, where a refused program otherwise shows only as its errno. */
static int to_stderr(enum libbpf_print_level l, const char *fmt, va_list ap) {
  (void)l;
  return vfprintf(stderr, fmt, ap);
}

/* The fexit programs in OL_FEXIT order, and the kernel's names for the
 * syscalls' wrappers they attach to on this architecture (NULL: no such
 * call, arm64 has no open or creat). */
static void fexit_progs(struct fsk_connect *k, struct bpf_program **p) {
  p[0] = k->progs.fsk_fexit_open;
  p[1] = k->progs.fsk_fexit_creat;
  p[2] = k->progs.fsk_fexit_openat;
  p[3] = k->progs.fsk_fexit_openat2;
  p[4] = k->progs.fsk_fexit_socket;
}

static const char *const fexit_targets[5] = {
#if defined(__x86_64__)
  "__x64_sys_open", "__x64_sys_creat", "__x64_sys_openat", "__x64_sys_openat2", "__x64_sys_socket",
#elif defined(__aarch64__)
  NULL, NULL, "__arm64_sys_openat", "__arm64_sys_openat2", "__arm64_sys_socket",
#else
  NULL, NULL, NULL, NULL, NULL,
#endif
};

/* Which origin programs load: hook's, or none. */
static int pick_progs(struct fsk_connect *k, int hook) {
  struct bpf_program *fx[5];
  int i, rc;

  fexit_progs(k, fx);
  bpf_program__set_autoload(k->progs.fsk_origin_exec, hook != HOOK_NONE);
  bpf_program__set_autoload(k->progs.fsk_origin_exit, hook == HOOK_RAWTP);
  for (i = 0; i < 5; i++) {
    int on = hook == HOOK_FEXIT && fexit_targets[i] != NULL;

    bpf_program__set_autoload(fx[i], on);
    if (on && (rc = bpf_program__set_attach_target(fx[i], 0, fexit_targets[i])) != 0)
      return rc;
  }
  if (hook == HOOK_NONE)
    bpf_map__set_max_entries(k->maps.origin_ring, 4096);
  return 0;
}

/* Whether the kernel loads a tracing program at all, with one small
 * fexit program alone (the connect programs and the 4 MB ring left out):
 * a kernel that refuses them (EPERM on a locked-down VM) then costs this
 * instead of a whole load of the object thrown away (about 70 ms of CPU at
 * every start, go_dial.sh's "start ms"). */
static int fexit_loads(char *why, size_t len) {
  struct fsk_connect *k;
  struct bpf_program *p;
  int rc;

  if (fexit_targets[4] == NULL) {
    snprintf(why, len, "no fexit targets for this architecture");
    return -ENOSYS;
  }
  if ((k = fsk_connect__open()) == NULL)
    return -errno;
  bpf_object__for_each_program(p, k->obj) bpf_program__set_autoload(p, false);
  bpf_program__set_autoload(k->progs.fsk_fexit_socket, true);
  bpf_map__set_max_entries(k->maps.origin_ring, 4096);
  if ((rc = bpf_program__set_attach_target(k->progs.fsk_fexit_socket, 0, fexit_targets[4])) == 0)
    rc = fsk_connect__load(k);
  if (rc != 0)
    snprintf(why, len, "the kernel refused the fexit programs: %s", strerror(-rc));
  fsk_connect__destroy(k);
  return rc;
}

/* The fexit programs attached at once, as the probe whether the kernel
 * takes them (loading is not enough: a kernel may verify a tracing
 * program and refuse its trampoline).  They do nothing until
 * fsk__bpfconn_origins sets the tree's cgroup. */
static int attach_fexit(fsk__bpfconn_t *b) {
  struct bpf_program *fx[5];
  int i;

  fexit_progs(b->skel, fx);
  for (i = 0; i < 5; i++) {
    if (fexit_targets[i] == NULL)
      continue;
    if ((b->olinks[OL_FEXIT + i] = bpf_program__attach(fx[i])) == NULL) {
      int rc = -errno;

      snprintf(b->fexit_why, sizeof b->fexit_why, "cannot attach fexit to %s: %s", fexit_targets[i],
               strerror(-rc));
      return rc;
    }
  }
  return 0;
}

static void detach_origins(fsk__bpfconn_t *b) {
  int i;

  for (i = 0; i < OL_N; i++) {
    bpf_link__destroy(b->olinks[i]);
    b->olinks[i] = NULL;
  }
}

/* A loopback port of family fi nobody listens on, held so no one can. */
static int closed_port(int fi, uint16_t *port) {
  struct sockaddr_storage ss;
  socklen_t sl = fi ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
  int fd, one = 1;

  memset(&ss, 0, sizeof ss);
  if (fi) {
    struct sockaddr_in6 *s6 = (void *)&ss;
    s6->sin6_family = AF_INET6;
    s6->sin6_addr = in6addr_loopback;
  } else {
    struct sockaddr_in *s4 = (void *)&ss;
    s4->sin_family = AF_INET;
    s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  }
  if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
    return -errno;
  if (fi)
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  if (bind(fd, (struct sockaddr *)&ss, sl) != 0 || getsockname(fd, (struct sockaddr *)&ss, &sl)) {
    int e = -errno;
    close(fd);
    return e;
  }
  *port =
    ntohs(fi ? ((struct sockaddr_in6 *)&ss)->sin6_port : ((struct sockaddr_in *)&ss)->sin_port);
  return fd;
}

int fsk__bpfconn_new(fsk__bpfconn_t **out, const inj_spec_t *spec, uint16_t sink4, uint16_t sink6,
                     char *why, size_t len) {
  return fsk__bpfconn_new_ex(out, spec, sink4, sink6, 0, why, len);
}

int fsk__bpfconn_new_ex(fsk__bpfconn_t **out, const inj_spec_t *spec, uint16_t sink4,
                        uint16_t sink6, int origins, char *why, size_t len) {
  struct fsk_bpf_conf conf;
  fsk__bpfconn_t *b;
  uint32_t zero = 0;
  int rc = 0, fi, hook, only = 0;
  unsigned i;

  *out = NULL;
  if ((b = calloc(1, sizeof *b)) == NULL)
    return -ENOMEM;
  b->closed[0] = b->closed[1] = -1;
  pthread_mutex_init(&b->lock, NULL);
  pthread_mutex_init(&b->rb_lock, NULL);
  memset(&conf, 0, sizeof conf);
  for (fi = 0; fi < 2; fi++) {
    uint16_t p = 0;
    if ((b->closed[fi] = closed_port(fi, &p)) < 0) {
      rc = b->closed[fi];
      snprintf(why, len, "cannot hold a closed loopback port: %s", strerror(-rc));
      goto out;
    }
    if (fi)
      conf.closed6 = p;
    else
      conf.closed4 = p;
  }
  conf.sink4 = sink4;
  conf.sink6 = sink6;
  conf.nrules = spec->nrules;
  b->nrules = spec->nrules < FSK_BPF_RULES ? spec->nrules : FSK_BPF_RULES;
  for (i = 0; i < spec->nrules && i < FSK_BPF_RULES; i++) {
    const inj_rule_t *r = &spec->rules[i];
    struct fsk_bpf_rule *d = &conf.rules[i];

    if (r->op != INJ_OP_CONNECT)
      continue;
    d->connect = 1;
    d->when = r->when == INJ_WHEN_ALWAYS  ? FSK_BPF_ALWAYS
              : r->when == INJ_WHEN_FIRST ? FSK_BPF_FIRST
              : r->when == INJ_WHEN_AFTER ? FSK_BPF_AFTER
                                          : FSK_BPF_EVERY;
    d->action = r->action == INJ_DO_HANG    ? FSK_BPF_HANG
                : r->action == INJ_DO_ERRNO ? FSK_BPF_ERRNO
                                            : FSK_BPF_REFUSE;
    /* The errno a connect failed at once returns: errno(E)'s, or a refused
     * datagram connect's ECONNREFUSED (as serve_one answers them). */
    d->code = r->code > 0 ? r->code : EIO;
    d->has_addr = r->has_addr;
    d->prefix = r->prefix;
    d->has_port = r->has_port;
    d->family = r->addr_family;
    d->port_lo = r->port_lo;
    d->port_hi = r->port_hi;
    /* The parser keeps r->addr masked to its prefix (spec.c); the program
     * needs the mask itself, as words it can AND without a loop. */
    for (fi = 0; r->has_addr && fi < 16; fi++) {
      unsigned bits = r->prefix > fi * 8 ? r->prefix - fi * 8 : 0;

      ((uint8_t *)d->mask)[fi] = bits >= 8 ? 0xff : (uint8_t)(0xff << (8 - bits));
      ((uint8_t *)d->addr)[fi] = r->addr[fi];
    }
    d->k = r->k;
  }
  {
    const char *d = getenv("FSK_BPF_DEBUG");

    libbpf_set_print(d != NULL && strcmp(d, "1") == 0 ? to_stderr : silent);
  }
  /* The stack-capture programs load only when asked for, and a kernel
   * that refuses them gets the connect programs alone: the connect
   * decisions must not depend on them (fsk__bpfconn_origins then says
   * why).  The raw sys_exit tracepoint (every call on the machine runs it
   * up to its cgroup check); FSK_BPF_ORIGINS_HOOK=fexit asks for fexit
   * programs on the five calls alone instead.  fexit is not the default:
   * it has never run here (every kernel this project's CI and VMs had
   * refuses tracing programs: EPERM in a locked-down 6.18 VM, ENOTSUPP on
   * arm64 6.1), and asking costs a failed probe load, ~60 ms of CPU, at
   * every start (supervise.c has checked the value). */
  hook = HOOK_NONE;
  if (origins) {
    const char *h = getenv("FSK_BPF_ORIGINS_HOOK");

    hook = h != NULL && strcmp(h, "fexit") == 0 ? HOOK_FEXIT : HOOK_RAWTP;
    only = h != NULL && h[0] != '\0';
    if (hook == HOOK_FEXIT && fexit_loads(b->fexit_why, sizeof b->fexit_why) != 0) {
      snprintf(b->origins_why, sizeof b->origins_why, "%s", b->fexit_why);
      hook = only ? HOOK_NONE : HOOK_RAWTP;
    }
  }
  for (;;) {
    if ((b->skel = fsk_connect__open()) == NULL) {
      rc = -errno;
      snprintf(why, len, "cannot open the BPF object: %s", strerror(-rc));
      goto out;
    }
    if ((rc = pick_progs(b->skel, hook)) == 0 && (rc = fsk_connect__load(b->skel)) != 0 &&
        hook == HOOK_FEXIT)
      snprintf(b->fexit_why, sizeof b->fexit_why, "the kernel refused the fexit programs: %s",
               strerror(-rc));
    if (rc == 0 && hook == HOOK_FEXIT)
      rc = attach_fexit(b);
    if (rc == 0)
      break;
    if (hook == HOOK_NONE) {
      snprintf(why, len, "the kernel refused the BPF programs: %s", strerror(-rc));
      goto out;
    }
    if (hook == HOOK_FEXIT)
      snprintf(b->origins_why, sizeof b->origins_why, "%s", b->fexit_why);
    else
      snprintf(b->origins_why, sizeof b->origins_why,
               "the kernel refused the stack-capture programs: %s", strerror(-rc));
    detach_origins(b);
    fsk_connect__destroy(b->skel);
    b->skel = NULL;
    hook = hook == HOOK_FEXIT && !only ? HOOK_RAWTP : HOOK_NONE;
  }
  b->hook = hook;
  b->origins_loaded = hook != HOOK_NONE;
  if (bpf_map_update_elem(bpf_map__fd(b->skel->maps.conf), &zero, &conf, BPF_ANY) != 0) {
    rc = -errno;
    snprintf(why, len, "cannot fill the BPF rule map: %s", strerror(-rc));
    goto out;
  }
  *out = b;
  b = NULL;
out:
  if (b != NULL)
    fsk__bpfconn_free(b);
  return rc;
}

int fsk__bpfconn_attach(fsk__bpfconn_t *b, const char *cg, char *why, size_t len) {
  struct bpf_program *progs[2] = {b->skel->progs.fsk_connect4, b->skel->progs.fsk_connect6};
  int fd, i, rc = 0;

  if ((fd = open(cg, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
    rc = -errno;
    snprintf(why, len, "cannot open the tree's cgroup %s: %s", cg, strerror(-rc));
    return rc;
  }
  for (i = 0; i < 2; i++)
    if ((b->links[i] = bpf_program__attach_cgroup(progs[i], fd)) == NULL) {
      rc = -errno;
      snprintf(why, len, "cannot attach %s to %s: %s", bpf_program__name(progs[i]), cg,
               strerror(-rc));
      break;
    }
  close(fd);
  return rc;
}

void fsk__bpfconn_sync(fsk__bpfconn_t *b) {
  struct fsk_bpf_count c;
  uint32_t k;
  int mfd;

  if (b == NULL || b->pg == NULL)
    return;
  mfd = bpf_map__fd(b->skel->maps.counts);
  pthread_mutex_lock(&b->lock);
  /* The run's rules and the page-wide slot only: each lookup is a system
   * call, and a notified open syncs first (the attempt it reads). */
  for (k = 0; k <= b->nrules; k++) {
    uint32_t i = k < b->nrules ? k : FSK_BPF_RULES;
    struct fsk_bpf_count *l = &b->last[i];
    uint64_t ds, dm, di;

    if (bpf_map_lookup_elem(mfd, &i, &c) != 0)
      continue;
    /* Deltas: the supervisor moves the same page for the other ops. */
    ds = c.calls_seen - l->calls_seen;
    dm = c.matched - l->matched;
    di = c.injected - l->injected;
    *l = c;
    if (i == FSK_BPF_RULES) {
      __atomic_fetch_add(&b->pg->seq, ds, __ATOMIC_RELAXED);
      __atomic_fetch_add(&b->pg->injected_total, di, __ATOMIC_RELAXED);
      b->faults += di;
      continue;
    }
    if (i >= INJ_MAX_RULES)
      continue;
    __atomic_fetch_add(&b->pg->rules[i].calls_seen, ds, __ATOMIC_RELAXED);
    __atomic_fetch_add(&b->pg->rules[i].matched, dm, __ATOMIC_RELAXED);
    __atomic_fetch_add(&b->pg->rules[i].injected, di, __ATOMIC_RELAXED);
  }
  /* A connect is seen once by each connect rule: the first's count. */
  for (k = 0; k < b->nrules; k++)
    if (b->last[k].calls_seen > 0) {
      b->decided = b->last[k].calls_seen;
      break;
    }
  pthread_mutex_unlock(&b->lock);
}

static void *sync_main(void *arg) {
  fsk__bpfconn_t *b = arg;
  struct timespec ts = {0, 20 * 1000 * 1000};

  while (!__atomic_load_n(&b->stop, __ATOMIC_RELAXED)) {
    fsk__bpfconn_sync(b);
    nanosleep(&ts, NULL);
  }
  return NULL;
}

int fsk__bpfconn_start(fsk__bpfconn_t *b, inj_stats_page_t *pg) {
  b->pg = pg;
  if (pg == NULL)
    return 0;
  if (pthread_create(&b->thr, NULL, sync_main, b) != 0)
    return -EAGAIN;
  b->thr_running = 1;
  return 0;
}

void fsk__bpfconn_counts(fsk__bpfconn_t *b, uint64_t *decided, uint64_t *faults) {
  fsk__bpfconn_sync(b);
  pthread_mutex_lock(&b->lock);
  *decided = b->decided;
  *faults = b->faults;
  pthread_mutex_unlock(&b->lock);
}

static int origin_event(void *ctx, void *data, size_t size) {
  fsk__bpfconn_t *b = ctx;

  if (size >= sizeof(struct fsk_bpf_origin))
    b->cb(b->cb_arg, data);
  return 0;
}

void fsk__bpfconn_drain(fsk__bpfconn_t *b) {
  if (b == NULL || b->rb == NULL)
    return;
  pthread_mutex_lock(&b->rb_lock);
  ring_buffer__consume(b->rb);
  pthread_mutex_unlock(&b->rb_lock);
}

/* The drain thread: the programs submit without waking anyone (a wake-up
 * per call was a context switch per open or socket), so it reads the ring
 * every 10 ms (4 MB: thousands of records); a report drains it first. */
static void *origin_main(void *arg) {
  fsk__bpfconn_t *b = arg;
  struct timespec ts = {0, 10 * 1000 * 1000};

  while (!__atomic_load_n(&b->stop, __ATOMIC_RELAXED)) {
    nanosleep(&ts, NULL);
    fsk__bpfconn_drain(b);
  }
  return NULL;
}

int fsk__bpfconn_origins(fsk__bpfconn_t *b, const char *cg, fsk__bpf_origin_cb cb, void *arg,
                         char *why, size_t len) {
  struct bpf_program *progs[2] = {b->skel->progs.fsk_origin_exec, b->skel->progs.fsk_origin_exit};
  struct fsk_bpf_nrs nrs = {{-1, -1}, {-1, -1}, -1, 0, {0, 0}, 0, 0, 0, 0};
  const char *walk = getenv("FSK_BPF_STACK_WALK");
  struct stat st;
  int i, rc = 0;

  if (!b->origins_loaded) {
    snprintf(why, len, "%s",
             b->origins_why[0] != '\0' ? b->origins_why
                                       : "the stack-capture programs were not loaded");
    return -ENOENT;
  }
  /* The numbers supervise.c's filter notifies for the open and socket ops
   * (fault-injection/src/sec.c); arm64 has no open or creat. */
#if defined(__x86_64__)
  nrs.open_path0[0] = 2;   /* open */
  nrs.open_path0[1] = 85;  /* creat */
  nrs.open_path1[0] = 257; /* openat */
  nrs.open_path1[1] = 437; /* openat2 */
  nrs.socket = 41;
  /* struct pt_regs: r15 r14 r13 r12 bp bx r11 r10 r9 r8 ax cx dx si di
   * orig_ax ip; the return value goes to ax alone. */
  nrs.arg_off[0] = 14 * 8; /* di */
  nrs.arg_off[1] = 13 * 8; /* si */
  nrs.nr_off = 15 * 8;     /* orig_ax */
  nrs.pc_off = 16 * 8;     /* ip */
  nrs.fp_off = 4 * 8;      /* bp */
#elif defined(__aarch64__)
  nrs.open_path1[0] = 56;
  nrs.open_path1[1] = 437;
  nrs.socket = 198;
  /* struct pt_regs: regs[31] sp pc pstate orig_x0 syscallno; the return
   * value overwrites regs[0], so the first argument is orig_x0's. */
  nrs.arg_off[0] = 34 * 8; /* orig_x0 */
  nrs.arg_off[1] = 1 * 8;  /* regs[1] */
  nrs.nr_off = 35 * 8;     /* syscallno (s32, little-endian) */
  nrs.pc_off = 32 * 8;     /* pc */
  nrs.fp_off = 29 * 8;     /* x29 */
#else
  snprintf(why, len, "no syscall table for this architecture");
  return -ENOSYS;
#endif
  if (b->skel->bss == NULL || b->skel->data == NULL) {
    snprintf(why, len, "the BPF object's globals are not mapped");
    return -ENOSYS;
  }
  /* A cgroup v2 directory's inode number is its id
   * (bpf_get_current_cgroup_id). */
  if (stat(cg, &st) != 0) {
    rc = -errno;
    snprintf(why, len, "cannot stat the tree's cgroup %s: %s", cg, strerror(-rc));
    return rc;
  }
  b->cb = cb;
  b->cb_arg = arg;
  if ((b->rb = ring_buffer__new(bpf_map__fd(b->skel->maps.origin_ring), origin_event, b, NULL)) ==
      NULL) {
    rc = -errno;
    snprintf(why, len, "cannot map the origins ring: %s", strerror(-rc));
    return rc;
  }
  /* FSK_BPF_STACK_WALK=kernel: bpf_get_stack, the kernel's own walk (the
   * cross-check of the program's; supervise.c has checked the value). */
  nrs.kstack = walk != NULL && strcmp(walk, "kernel") == 0;
  b->skel->data->origin_nrs = nrs;
  for (i = 0; i < 2; i++)
    if ((i == OL_EXEC || b->hook == HOOK_RAWTP) &&
        (b->olinks[i] = bpf_program__attach(progs[i])) == NULL) {
      rc = -errno;
      snprintf(why, len, "cannot attach %s: %s", bpf_program__name(progs[i]), strerror(-rc));
      return rc;
    }
  if (pthread_create(&b->othr, NULL, origin_main, b) != 0) {
    snprintf(why, len, "no thread to drain the origins ring");
    return -EAGAIN;
  }
  b->othr_running = 1;
  __atomic_store_n(&b->skel->bss->origin_cgid, (uint64_t)st.st_ino, __ATOMIC_RELEASE);
  return 0;
}

const char *fsk__bpfconn_origins_hook(fsk__bpfconn_t *b) {
  if (b == NULL || !b->origins_loaded)
    return "none";
  return b->hook == HOOK_FEXIT ? "fexit" : "raw tracepoint";
}

const char *fsk__bpfconn_fexit_why(fsk__bpfconn_t *b) { return b != NULL ? b->fexit_why : ""; }

uint64_t fsk__bpfconn_origins_lost(fsk__bpfconn_t *b) {
  if (b == NULL || b->skel == NULL || b->skel->bss == NULL)
    return 0;
  return __atomic_load_n(&b->skel->bss->origin_lost, __ATOMIC_RELAXED);
}

void fsk__bpfconn_free(fsk__bpfconn_t *b) {
  int i;

  if (b == NULL)
    return;
  if (b->othr_running) {
    __atomic_store_n(&b->stop, 1, __ATOMIC_RELAXED);
    pthread_join(b->othr, NULL);
  }
  detach_origins(b);
  fsk__bpfconn_drain(b);
  ring_buffer__free(b->rb);
  if (b->thr_running) {
    __atomic_store_n(&b->stop, 1, __ATOMIC_RELAXED);
    pthread_join(b->thr, NULL);
  }
  fsk__bpfconn_sync(b);
  for (i = 0; i < 2; i++)
    bpf_link__destroy(b->links[i]);
  fsk_connect__destroy(b->skel);
  for (i = 0; i < 2; i++)
    if (b->closed[i] >= 0)
      close(b->closed[i]);
  pthread_mutex_destroy(&b->lock);
  free(b);
}

#else /* !FSK_HAVE_BPF */

struct fsk__bpfconn {
  int unused;
};

int fsk__bpfconn_new(fsk__bpfconn_t **out, const inj_spec_t *spec, uint16_t sink4, uint16_t sink6,
                     char *why, size_t len) {
  (void)spec;
  (void)sink4;
  (void)sink6;
  *out = NULL;
  snprintf(why, len, "this fdsoak was built without libbpf");
  return -ENOSYS;
}
int fsk__bpfconn_attach(fsk__bpfconn_t *b, const char *cg, char *why, size_t len) {
  (void)b;
  (void)cg;
  snprintf(why, len, "this fdsoak was built without libbpf");
  return -ENOSYS;
}
void fsk__bpfconn_sync(fsk__bpfconn_t *b) { (void)b; }
int fsk__bpfconn_start(fsk__bpfconn_t *b, inj_stats_page_t *pg) {
  (void)b;
  (void)pg;
  return -ENOSYS;
}
void fsk__bpfconn_counts(fsk__bpfconn_t *b, uint64_t *decided, uint64_t *faults) {
  (void)b;
  *decided = *faults = 0;
}
void fsk__bpfconn_free(fsk__bpfconn_t *b) { (void)b; }
int fsk__bpfconn_new_ex(fsk__bpfconn_t **out, const inj_spec_t *spec, uint16_t sink4,
                        uint16_t sink6, int origins, char *why, size_t len) {
  (void)origins;
  return fsk__bpfconn_new(out, spec, sink4, sink6, why, len);
}
int fsk__bpfconn_origins(fsk__bpfconn_t *b, const char *cg, fsk__bpf_origin_cb cb, void *arg,
                         char *why, size_t len) {
  (void)b;
  (void)cg;
  (void)cb;
  (void)arg;
  snprintf(why, len, "this fdsoak was built without libbpf");
  return -ENOSYS;
}
void fsk__bpfconn_drain(fsk__bpfconn_t *b) { (void)b; }
const char *fsk__bpfconn_origins_hook(fsk__bpfconn_t *b) {
  (void)b;
  return "none";
}
const char *fsk__bpfconn_fexit_why(fsk__bpfconn_t *b) {
  (void)b;
  return "";
}
uint64_t fsk__bpfconn_origins_lost(fsk__bpfconn_t *b) {
  (void)b;
  return 0;
}

#endif
