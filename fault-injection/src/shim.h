/*
 * shim.h — what the parts of libfdsoak-inject.so share (not installed, not
 * part of inj_spec).  One concern per file, from the top down:
 *
 *   hooks.c    the wrappers generated from hooks.def, the re-entry guard,
 *              the slow path of each hook, the constructor
 *   decide.c   the active rule table, publishing a spec, the decision
 *   faults.c   what an injected connect failure is made of (refuse, hang,
 *              unreachable, reset) and the SO_ERROR translations
 *   log.c      the JSONL decision log
 *   control.c  the control file (runtime spec swaps)
 *   track.c    fd origin records in the stats page
 *   unwind.c   the return addresses of an origin: backtrace()'s, cached
 *   stats.c    the stats page: writer (attach/initialise) and reader
 *   exec.c     the exec family: static and Go programs handed over to
 *              fdsoak's seccomp supervisor (--engine auto)
 *   base.c     the real functions, the hot word, the stats page pointer,
 *              the clock, stderr messages, opens that bypass the hooks
 *   vtime.c    the program's virtual time under --speed: clock reads and
 *              the timed waits libfaketime does not scale
 *
 * Calls go down only: hooks.c calls the rest, and nothing calls hooks.c;
 * vtime.c calls nothing of the shim, and base.c only vtime.c, whose
 * clock_gettime it reads on purpose (tests/layering.sh).
 */
#ifndef INJ_SHIM_H
#define INJ_SHIM_H

#include "inj_lang.h"
#include "internal.h"

#include <netdb.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#define EXPORT __attribute__((visibility("default")))

/* inj__hot: what the hooks must look at.  Bits 0..INJ_OP_COUNT-1 mirror the
   active table's opmask; the others switch on work that is independent of
   the rules. */
#define HOT_OP(op) (1u << (op))
#define HOT_CTRL (1u << 8)      /* poll the control file */
#define HOT_TRACK (1u << 9)     /* record fd origins in the stats page */
#define HOT_PENDING (1u << 10)  /* some fd awaits an SO_ERROR translation */
#define HOT_REDIRECT (1u << 11) /* some fd is connected to a private listener */

extern uint32_t inj__hot;
extern inj_stats_page_t *inj__page;

/* ---- base (base.c) ---------------------------------------------------------- */

#define HOOK(name, ret, params, args, hot, kind, fallback) extern ret(*real_##name) params;
#include "hooks.def"
#undef HOOK
void inj__resolve_real(void);
/* Point inj__page at the process's private page, its header filled in. */
void inj__page_init_private(void);

static inline uint64_t inj__add64(uint64_t *p, uint64_t v) {
  return __atomic_fetch_add(p, v, __ATOMIC_RELAXED);
}
uint64_t inj__mono_ns(int clk);
void inj__say(const char *msg);
int inj__raw_open(const char *path, int flags, unsigned mode);
/* Copy src into dst[cap], always terminated; -ENAMETOOLONG when it had to
   be cut (ci/checksrc bans strcpy and strncpy). */
int inj__strlcpy(char *dst, const char *src, size_t cap);

/* ---- decisions (decide.c) ------------------------------------------------ */

typedef struct call {
  int op;
  const struct sockaddr *sa; /* connect, bind */
  socklen_t salen;
  int family, type; /* socket */
  const char *str;  /* host or path */
} inj__call_t;

extern inj_spec_t inj__tables[2];
extern unsigned inj__active;
/* Threads inside each table (only counted while a control file is in use):
 * the control poll rewrites the inactive table only when nobody is still
 * reading it, however long a reader was descheduled. */
extern unsigned inj__readers[2];
extern uint64_t inj__my_generation;

static inline const inj_spec_t *inj__active_table(void) {
  return &inj__tables[__atomic_load_n(&inj__active, __ATOMIC_ACQUIRE)];
}
void inj__publish(unsigned idx, uint64_t now, int reset);
/* The rule that fires for c (index), or -1.  *mr: first rule whose filter
   matched (for the log); *seq: the decision number when one matched. */
int inj__decide(const inj_spec_t *t, const inj__call_t *c, int *mr, uint64_t *seq);

/* ---- log (log.c), control file (control.c), tracking (track.c) ----------- */

void inj__log_init(const char *path);
void inj__log_decision(const inj__call_t *c, const inj_rule_t *r, int fired, int rule_no,
                       uint64_t seq);
/* Returns 1 when a control file at start replaced *table0 (exits 2 when it
   is invalid). */
int inj__ctl_init(const char *path, const char *interval_ms, inj_spec_t *table0);
void inj__ctl_poll(void);
void inj__ctl_atfork_child(void);
void inj__track_fd(int fd, int op);

/* ---- unwind (unwind.c) ------------------------------------------------------ */
/* The return addresses of the calling thread, as backtrace() called at the
   same place lists them (the caller's frame first), at most max of
   INJ_UNWIND_MAX; the count.  A cache of each address's unwind rule makes
   it cheap; anything unusual is backtrace()'s. */
#define INJ_UNWIND_MAX 32
int inj__unwind(void **frames, int max);
/* Counters since the start, for tests: captures done the fast way and by
   backtrace(), and rule lookups found in the cache or worked out. */
enum { INJ_UNWIND_FAST, INJ_UNWIND_SLOW, INJ_UNWIND_HIT, INJ_UNWIND_MISS, INJ_UNWIND_STAT_COUNT };
void inj__unwind_stats(uint64_t out[INJ_UNWIND_STAT_COUNT]);
void inj__track_atfork_child(void);
/* FDSOAK_LANG_LOG: where language stacks go (track.c). */
void inj__lang_init(const char *path);
/* In the constructor, fd tracking on: find the runtime's stack reader
   (CPython 3.11: libfdsoak-py311.so beside the shim) or note why not. */
void inj__lang_detect(void);

/* ---- connect faults (faults.c) -------------------------------------------- */

/* Carry out rule r's fault on connect(fd, sa, len).  Runs outside the
   re-entry guard: it may block in the kernel as long as the real event would
   (and a signal handler may leave it by longjmp). */
int inj__fault_connect(const inj_rule_t *r, int fd, const struct sockaddr *sa, socklen_t len);
/* A new connect on fd: forget any SO_ERROR translation left on the number. */
void inj__pending_clear(int fd);
/* The SO_ERROR translation for fd if the kernel reported `kernel_err`
   (one-shot), or 0. */
int inj__pending_take(int fd, int kernel_err);
/* The modelled errno once, where the real event holds it as a soft error
   and the model's socket holds none yet; else 0. */
int inj__pending_soft(int fd);
void inj__faults_atfork_child(void);
/* A reset socket's names as the program asked for them: peer (1) or local
   (0) address of fd written to sa/len as getpeername/getsockname would,
   returns 1; 0 when fd is not redirected (the real answer stands). */
int inj__redirect_name(int fd, int peer, struct sockaddr *sa, socklen_t *len);
/* A new connect on fd: forget its redirect. */
void inj__redirect_clear(int fd);

/* ---- exec and the supervisor (exec.c) ------------------------------------- */

/* The ops (HOT_OP bits) this process leaves to fdsoak's seccomp supervisor:
   it is under its filter.  0 almost always. */
extern uint32_t inj__sup_down;
/* In the constructor: read FDSOAK_SUP, stand down under the filter, and run
   a posix_spawn trampoline's exec (which does not return). */
void inj__exec_init(char **argv);
void inj__exec_atfork_child(void);

/* ---- virtual time (vtime.c): fdsoak watch --speed ------------------------ */

/* FDSOAK_SPEED: the program's clocks run this many times faster (its
   libfaketime); 0 when unset.  Read once by the constructor: 0, or
   -EINVAL for a value that is not a number > 1 and <= 1e6. */
extern double inj__speed;
int inj__vtime_init(const char *speed);

#endif /* INJ_SHIM_H */
