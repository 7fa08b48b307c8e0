/*
 * inj.h — public interface of the fdsoak fault-injection shim.
 *
 * Two consumers use this header:
 *   - the shim itself (libfdsoak-inject.so), which parses FDSOAK_INJECT with
 *     inj_spec_parse() and publishes counters in an inj_stats_page_t;
 *   - the harness (and tests), which link the static library `inj_spec` to
 *     parse or validate a spec before starting a target, and to read the
 *     counter page of a running target with inj_stats_open().
 *
 * Everything here is pure: no libc hooks, no global state, no allocation;
 * libinj_spec.a defines every function declared here (a test links a
 * program against it alone).  What only the preloaded shim provides (the
 * language-origin callback) is in inj_lang.h.  Functions return 0 or a
 * negative errno.
 */
#ifndef INJ_H
#define INJ_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- limits (fixed so the shim never allocates) ------------------------ */

#define INJ_MAX_RULES 32   /* rules per spec */
#define INJ_GLOB_MAX 128   /* host / path glob, including the NUL */
#define INJ_PATTERN_MAX 64 /* outage pattern "XXOXO", including the NUL */
#define INJ_RULE_TEXT 104  /* canonical rule text kept in the stats page */
#define INJ_SPEC_MAX 8192  /* whole spec text, bytes */
/* reset(accept)'s arg: above any reset(N) byte count (at most UINT32_MAX). */
#define INJ_RESET_AT_ACCEPT UINT64_MAX

/* ---- the rule model ---------------------------------------------------- */

typedef enum inj_op {
  INJ_OP_CONNECT = 0,
  INJ_OP_BIND,
  INJ_OP_SOCKET,
  INJ_OP_GETADDRINFO,
  INJ_OP_OPEN, /* open, open64, openat, openat64, __open_2, ... */
  INJ_OP_COUNT
} inj_op_t;

/* fd records only (no rules): calls the shim tracks but never fails. */
#define INJ_REC_PIPE 16 /* pipe, pipe2 */
#define INJ_REC_SOCKETPAIR 17

typedef enum inj_when_kind {
  INJ_WHEN_ALWAYS = 0,
  INJ_WHEN_FIRST,   /* the first k matching calls */
  INJ_WHEN_AFTER,   /* every matching call after the first k */
  INJ_WHEN_EVERY,   /* the k-th, 2k-th, ... matching call */
  INJ_WHEN_PROB,    /* probability p, counter-based generator from seed */
  INJ_WHEN_PATTERN, /* outage pattern: X fails, O passes, repeated */
  INJ_WHEN_WINDOW   /* fails while start <= elapsed < end (monotonic) */
} inj_when_kind_t;

typedef enum inj_action {
  INJ_DO_ERRNO = 0, /* return -1 with errno at once (synchronous, the
                           libfiu-style failure) */
  INJ_DO_ASYNC,     /* connect: a real refusal (SYN answered by RST);
                           code is ECONNREFUSED.  Spelled refuse or
                           async(ECONNREFUSED). */
  INJ_DO_HANG,      /* connect: a real SYN-SENT socket whose SYNs are
                           dropped: in progress until the caller gives up,
                           the kernel's own ETIMEDOUT after
                           net.ipv4.tcp_syn_retries.  Spelled hang, timeout
                           or async(ETIMEDOUT). */
  INJ_DO_EAI,       /* getaddrinfo: return an EAI_* code, after arg ns
                           (a resolver that never answers: eai(EAI_AGAIN,T)) */
  INJ_DO_PASS,      /* any op: let the call through, count it as an
                           observed attempt (a cycle source for programs
                           whose failures are real) */
  INJ_DO_UNREACH,   /* connect: ICMP net/host unreachable answering the
                           SYN; code is ENETUNREACH or EHOSTUNREACH.  Spelled
                           unreachable(net|host) or async(E). */
  INJ_DO_RESET      /* connect: accepted, then reset: connect succeeds,
                           the peer resets once it has received more than
                           k bytes.  Spelled reset or reset(N); reset(accept)
                           (arg INJ_RESET_AT_ACCEPT) resets at accept, before
                           the client sends anything. */
} inj_action_t;

typedef struct inj_rule {
  uint8_t op;     /* inj_op_t */
  uint8_t when;   /* inj_when_kind_t */
  uint8_t action; /* inj_action_t */
  /* match: connect/bind address (family 0 = any inet/inet6 address) */
  uint8_t has_addr;
  uint8_t prefix; /* CIDR prefix length in bits */
  uint8_t has_port;
  uint16_t addr_family; /* AF_INET or AF_INET6 when has_addr */
  uint8_t addr[16];     /* network byte order, masked to prefix */
  uint16_t port_lo, port_hi;
  /* match: socket() */
  int sock_family; /* 0 = any */
  int sock_type;   /* 0 = any (SOCK_STREAM, SOCK_DGRAM) */
  /* match: host (getaddrinfo), path (open; AF_UNIX connect/bind) */
  char glob[INJ_GLOB_MAX]; /* "" = any */
  /* schedule */
  uint64_t k;              /* first/after/every */
  uint64_t prob_threshold; /* prob: fire when hash < threshold (2^64 * p) */
  int prob_always;         /* p == 1 */
  uint64_t seed;
  char pattern[INJ_PATTERN_MAX];
  uint32_t pattern_len;
  uint64_t win_start_ns, win_end_ns; /* end == UINT64_MAX: forever */
  /* action */
  int code;                 /* errno (ERRNO/ASYNC) or EAI_* code (EAI) */
  uint64_t arg;             /* the action's own argument, apart from the
                               schedule's k: reset(N) bytes; eai(E,T) delay
                               in ns (0: at once) */
  char text[INJ_RULE_TEXT]; /* the rule as written, truncated */
} inj_rule_t;

typedef struct inj_spec {
  uint32_t nrules;
  uint32_t opmask; /* bit (1u << op) set when any rule has that op */
  inj_rule_t rules[INJ_MAX_RULES];
} inj_spec_t;

/*
 * Parse a spec (rule language: see fault-injection/README.md).  On success
 * fills *out and returns 0.  On failure returns -EINVAL and writes into err
 * a message of the form "rule N: <what is wrong> near '<token>'" (N counts
 * from 1); *out is then unspecified.  An empty or blank spec is valid and
 * has no rules.
 */
int inj_spec_parse(const char *text, inj_spec_t *out, char *err, size_t errlen);

/* Name of an operation ("connect", ...) or record-only call ("pipe"), or "?" */
const char *inj_op_name(int op);
/* Name of an errno ("ECONNREFUSED") or EAI code ("EAI_AGAIN"); NULL if unknown. */
const char *inj_errno_name(int e);
const char *inj_eai_name(int code);

/*
 * Selection, exposed so the harness and tests can predict what the shim does.
 * n counts matching calls from 0 (process-wide, or page-wide when a stats
 * page is shared); elapsed_ns is monotonic time since the spec was applied.
 * Returns 1 when the call must fail.
 */
int inj_when_fires(const inj_rule_t *r, uint64_t n, uint64_t elapsed_ns);

/* Does a connect/bind destination match?  sa is a struct sockaddr *. */
int inj_match_sockaddr(const inj_rule_t *r, const void *sa, size_t salen);
/* Shell-style glob (*, ?, [set], [!set]); '/' is not special. */
int inj_glob_match(const char *pat, const char *s);

/* ---- the stats page (FDSOAK_INJECT_STATS) ------------------------------ */

/*
 * Layout of the shared counter file.  The shim creates it (or attaches to an
 * existing page with the same magic/version, so a process tree shares one
 * page), maps it MAP_SHARED and closes the file descriptor at once.
 *
 * Every uint64_t counter is written with __atomic builtins by the shim;
 * readers must load them with __atomic_load_n (see inj_stats_load()).
 * Byte offsets are fixed by static assertions in stats.c; version changes
 * whenever they do.
 */
#define INJ_STATS_MAGIC UINT64_C(0x4a4e494b414f5346) /* "FSOAKINJ" LE */
#define INJ_STATS_VERSION 4u
#define INJ_FD_SLOTS 1024 /* fd origin ring, indexed by fd % slots */
#define INJ_BT_FRAMES 8

typedef struct inj_rule_stats {
  uint64_t calls_seen; /* calls of this rule's op evaluated against it */
  uint64_t matched;    /* calls that matched its filter (schedule index) */
  uint64_t injected;   /* faults it injected */
  uint64_t observed;   /* calls it let through as do=pass */
  char text[96];       /* rule text, NUL-terminated (truncated) */
} inj_rule_stats_t;    /* 128 bytes */

typedef struct inj_fd_record {
  uint64_t seq; /* 0: empty; odd while being written (seqlock) */
  int32_t fd;
  int32_t pid; /* process that created it: a tree shares the page */
  uint16_t op; /* inj_op_t that created it */
  uint16_t nframes;
  uint32_t attempt;               /* the attempt in progress when it was
                                     created: 1 + the attempts counted before
                                     (injected_total + observed_total),
                                     saturating; 0: not recorded */
  uint64_t mono_ns;               /* CLOCK_MONOTONIC at creation */
  uint64_t frames[INJ_BT_FRAMES]; /* return addresses (see /proc/PID/maps) */
} inj_fd_record_t;                /* 96 bytes */

/* The interpreter's stack of the same creation (language origins): the
   slot of the fd record with the same index, written by the shim with the
   stack reader's JSON array (see inj_lang.h), under its own seqlock.
   mono_ns equals the fd record's, so a reader can tell they match. */
#define INJ_LANG_TEXT 2016
typedef struct inj_lang_record {
  uint64_t seq;
  int32_t pid;
  int32_t fd;
  uint64_t mono_ns;
  uint32_t len;             /* bytes of text used */
  char lang[4];             /* "py": which runtime's reader wrote it */
  char text[INJ_LANG_TEXT]; /* JSON array of {"fn","file","line"} */
} inj_lang_record_t;        /* 2048 bytes */

typedef struct inj_stats_page {
  uint64_t magic;           /* INJ_STATS_MAGIC once the shim initialised it */
  uint32_t version;         /* INJ_STATS_VERSION */
  uint32_t size;            /* sizeof(inj_stats_page_t) */
  uint32_t pid;             /* process that initialised the page */
  uint32_t nrules;          /* rules in the active spec */
  uint64_t generation;      /* +1 each time a spec is applied (start, control) */
  uint64_t applied_mono_ns; /* CLOCK_MONOTONIC when the active spec was applied:
                               the origin of down(T)/window(A,B) */
  uint64_t injected_total;  /* faults injected, all rules, all generations */
  uint64_t seq;             /* decisions taken (matched calls); log "seq" */
  uint64_t control_errors;  /* rejected control-file specs */
  uint64_t attached;        /* processes that attached (exec'd children too) */
  uint32_t fd_track;        /* 1 if fds[] is being filled */
  uint32_t reserved0;
  uint64_t observed_total;               /* calls let through by do=pass, all rules */
  uint64_t fd_records;                   /* fd records written (more than the slots:
                               older records were overwritten) */
  uint64_t undecided;                    /* offset 96: hooked calls of an op with an
                               active rule that went through undecided
                               because the thread was already inside the
                               shim (its re-entry guard was held).  Nonzero
                               means faults were silently not injected. */
  uint32_t unreach_approx;               /* offset 104: unreachable faults on IPv4
                               non-blocking sockets given the approximation
                               (POLLOUT|POLLERR|POLLHUP at once) instead of
                               the real event from fdsoak's namespace helper */
  uint32_t unreach_why;                  /* INJ_UNREACH_*: why, for the last of them */
  uint64_t lang_lost;                    /* offset 112: language-log lines that could not be
                          written (disk full, log removed, ...) */
  uint64_t lang_errno;                   /* the errno of the last such failure */
  inj_rule_stats_t rules[INJ_MAX_RULES]; /* offset 128 */
  inj_fd_record_t fds[INJ_FD_SLOTS];     /* offset 128 + 32*128 = 4224 */
  inj_lang_record_t langs[INJ_FD_SLOTS]; /* language stacks, same slots */
  uint64_t real_emfile;                  /* after langs: real fd-creating calls (open*,
                             socket, pipe*, socketpair) that failed with
                             EMFILE: the program met its fd limit.  An
                             injected errno is never counted here. */
  uint64_t real_enfile;                  /* the same with ENFILE */
  uint32_t exhausted_pid;                /* process of the last such call */
  uint32_t reserved1;
} inj_stats_page_t;

/* inj_stats_page_t.unreach_why: why an unreachable fault on an IPv4
   non-blocking socket was not the real event (see fault-injection/README.md,
   "unreachable over IPv4, non-blocking"). */
#define INJ_UNREACH_NO_HELPER 1 /* FDSOAK_UNREACH unset: the shim preloaded by hand */
#define INJ_UNREACH_HELPER 2    /* the helper did not answer, or refused */
#define INJ_UNREACH_BOUND 3     /* the program bound the socket: it cannot be replaced */
#define INJ_UNREACH_WATCHED 4   /* in an epoll set, or O_ASYNC: a new socket would be unseen */

typedef struct inj_stats_view {
  const inj_stats_page_t *page;
  size_t len;
} inj_stats_view_t;

/*
 * Map a stats page read-only.  The fd is closed before returning.
 * Returns 0, -ENOENT (no file), -EAGAIN (file exists but no shim has
 * initialised it yet: e.g. a static binary that never loaded the shim),
 * -EPROTO (wrong magic/version), or another negative errno.
 */
int inj_stats_open(const char *path, inj_stats_view_t *out);
void inj_stats_close(inj_stats_view_t *v);

static inline uint64_t inj_stats_load(const uint64_t *p) {
  return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

/* The ring slot of (pid, fd): spreads a process tree's fds over the ring. */
static inline unsigned inj_fd_slot(int pid, int fd) {
  return ((unsigned)fd + (unsigned)pid * 2654435761u) % INJ_FD_SLOTS;
}

/*
 * Copy the record of fd in process pid out of the ring consistently
 * (seqlock).  Returns 0, or -ENOENT if the slot is empty or holds another
 * fd (overwritten: more fds were created than the ring holds).
 */
int inj_stats_fd_record(const inj_stats_view_t *v, int pid, int fd, inj_fd_record_t *out);
/* The same for the language stack of fd in process pid. */
int inj_stats_lang_record(const inj_stats_view_t *v, int pid, int fd, inj_lang_record_t *out);

/* ---- deciding a call (the shim and fdsoak's seccomp supervisor) --------- */

/* One call as the rules see it. */
typedef struct inj_call {
  int op;         /* inj_op_t */
  const void *sa; /* connect, bind: the destination (struct sockaddr) */
  size_t salen;
  int family, type; /* socket */
  const char *str;  /* host (getaddrinfo) or path (open) */
} inj_call_t;

/*
 * Decide call c against table t, moving the rules' counters on page pg.
 * Returns the index of the rule whose fault must be injected, or -1 (no rule
 * fired, or a do=pass rule observed it: then observed_total moved).
 * *matched_rule is the first rule whose filter matched (or the firing one),
 * -1 if none; *seq the decision number when one matched.
 */
int inj_decide(const inj_spec_t *t, inj_stats_page_t *pg, const inj_call_t *c, int *matched_rule,
               uint64_t *seq);

/*
 * Create (or attach to) the stats page at path for spec s, mapped read-write,
 * as the shim does in its constructor: for an engine other than the shim
 * that counts on the same page.  The fd is closed before returning.
 */
int inj_stats_create(const char *path, const inj_spec_t *s, inj_stats_page_t **out);
void inj_stats_unmap(inj_stats_page_t *pg);

#ifdef __cplusplus
}
#endif
#endif /* INJ_H */
