/*
 * vtime.c — the timed waits libfaketime does not scale, under
 * `fdsoak watch --speed N` (FDSOAK_SPEED=N in the environment).
 *
 * fdsoak preloads the shim first and libfaketime (FAKETIME="+0 xN") after
 * it.  libfaketime scales the clocks and most waits; harness/tests/
 * speed_probe.c found these that it leaves in real time or gets wrong
 * (Debian libfaketime 0.9.10, glibc 2.36):
 *
 *   epoll_pwait2           not wrapped: real time
 *   timerfd_settime        an absolute deadline never fires (hangs)
 *   pthread_cond_clockwait not wrapped: the virtual deadline is far ahead
 *   sem_timedwait          hangs (its deadline is mis-converted)
 *   sem_clockwait          not wrapped
 *   alarm                  alarm(S) with S < N becomes alarm(0): cancelled
 *   setitimer, getitimer   not wrapped (ITIMER_REAL)
 *   timer_settime          wrapped, but the timer fires in real time
 *   SO_RCVTIMEO/SO_SNDTIMEO (setsockopt) not wrapped
 *   syscall(SYS_futex)     not wrapped (and an absolute deadline on the
 *                          virtual monotonic clock is decades away)
 *
 * Clock reads: libfaketime's own clock_gettime costs two rt_sigprocmask
 * calls (its MT build) or a few hundred ns (the plain one) a read, 4 to 80
 * times a plain read here (harness/bench/speed_overhead.sh).  So the shim
 * answers clock_gettime, gettimeofday and time() itself: on the first read
 * of each clock it samples libfaketime's virtual time and the real time
 * at the same instant, and from then on computes virtual = v0 + (real -
 * r0) x N from glibc's own (vDSO) clock.  Both lines have the slope N
 * through the same point, so the shim's reads and libfaketime's converted
 * waits agree (to the sampling gap x N, well under a millisecond).
 *
 * Each wrapper here converts the program's virtual times to real ones and
 * calls glibc's own function (not the next definition, which would be
 * libfaketime's): a relative time is divided by N, an absolute virtual
 * deadline becomes real now + (deadline - virtual now) / N.  Real now is
 * the raw system call; virtual now is clock_gettime, which resolves to
 * libfaketime's.  Without FDSOAK_SPEED every wrapper passes its call on
 * to the next definition unchanged.
 *
 * Also here: futex(2) through glibc's syscall() (Rust's std waits so).
 * Not here, and not scalable from user space: futex as an inline system
 * call (Go, static binaries), CPU-time clocks and timers (ITIMER_VIRTUAL/PROF:
 * they count real work), and what the kernel times on its own (TCP
 * retransmits, keepalive) — except the SYN timeout of the shim's own
 * faults, which faults.c runs at the program's speed.
 */
#include "shim.h"

#include <dlfcn.h>
#include <errno.h>
#include <linux/futex.h>
#include <stdarg.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

double inj__speed;

/* The caller says what is wrong: this unit is the shim's ground and calls
 * none of the others (tests/layering.sh). */
int inj__vtime_init(const char *speed) {
  char *end;
  double x;

  if (speed == NULL || *speed == '\0')
    return 0;
  x = strtod(speed, &end);
  if (*end != '\0' || !(x > 1.0) || x > 1e6)
    return -EINVAL;
  inj__speed = x;
  return 0;
}

/* glibc's own definition of name: a wrapper that scaled a time itself
   must not have libfaketime scale it again. */
static void *libc_sym(const char *name) {
  static void *libc;
  void *h = __atomic_load_n(&libc, __ATOMIC_ACQUIRE);

  if (h == NULL) {
    h = dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD);
    __atomic_store_n(&libc, h, __ATOMIC_RELEASE);
  }
  return h != NULL ? dlsym(h, name) : NULL;
}

#define NS 1000000000LL

static long long ts_ns(const struct timespec *t) { return (long long)t->tv_sec * NS + t->tv_nsec; }

static struct timespec ns_ts(long long ns) {
  struct timespec t;

  if (ns < 0)
    ns = 0;
  t.tv_sec = (time_t)(ns / NS);
  t.tv_nsec = (long)(ns % NS);
  return t;
}

/* A relative virtual time in real time.  A non-zero time stays non-zero:
   zero means "disarm" or "no timeout" to most of these calls. */
static struct timespec scale_rel(const struct timespec *v) {
  long long ns = ts_ns(v), r = (long long)((double)ns / inj__speed);

  return ns_ts(ns > 0 && r == 0 ? 1 : r);
}

/* An absolute virtual deadline on clock c as an absolute real one. */
static struct timespec scale_abs(clockid_t c, const struct timespec *v) {
  struct timespec vnow, rnow;
  long long left;

  clock_gettime(c, &vnow); /* libfaketime's: the program's clock */
  syscall(SYS_clock_gettime, c, &rnow);
  left = ts_ns(v) - ts_ns(&vnow);
  return ns_ts(ts_ns(&rnow) + (left > 0 ? (long long)((double)left / inj__speed) : 0));
}

static struct timeval tv_scale(const struct timeval *v, double by) {
  long long us = (long long)v->tv_sec * 1000000 + v->tv_usec, r = (long long)((double)us * by);
  struct timeval t;

  if (us > 0 && r == 0)
    r = 1;
  t.tv_sec = (time_t)(r / 1000000);
  t.tv_usec = (suseconds_t)(r % 1000000);
  return t;
}

/* The next definition (libfaketime's, or glibc's), and glibc's own, each
   looked up once per call site. */
#define NEXT(type, name)                                                                           \
  ({                                                                                               \
    static type f_;                                                                                \
    if (f_ == NULL)                                                                                \
      f_ = (type)dlsym(RTLD_NEXT, name);                                                           \
    f_;                                                                                            \
  })
#define LIBC(type, name)                                                                           \
  ({                                                                                               \
    static type g_;                                                                                \
    if (g_ == NULL)                                                                                \
      g_ = (type)libc_sym(name);                                                                   \
    g_;                                                                                            \
  })

/* ---- clock reads ---------------------------------------------------------- */

typedef int (*cg_t)(clockid_t, struct timespec *);

#define NCLOCKS 12
static struct {
  int state; /* 0 unset, 1 being set, 2 ready */
  long long v0, r0;
} g_origin[NCLOCKS];

/* Virtual time of clock c from glibc's real one; 0, or -1 when c is a clock
   libfaketime does not scale (CPU time) or not ready (ask libfaketime). */
static int vclock(clockid_t c, struct timespec *ts) {
  cg_t real = LIBC(cg_t, "clock_gettime");
  int st;

  if (c < 0 || c >= NCLOCKS || c == CLOCK_PROCESS_CPUTIME_ID || c == CLOCK_THREAD_CPUTIME_ID ||
      real == NULL)
    return -1;
  st = __atomic_load_n(&g_origin[c].state, __ATOMIC_ACQUIRE);
  if (st == 0) {
    int zero = 0;
    struct timespec a, v, b;

    if (!__atomic_compare_exchange_n(&g_origin[c].state, &zero, 1, 0, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE))
      return -1;
    /* The same instant on both clocks: real before and after the virtual
       read, and their middle. */
    real(c, &a);
    if (NEXT(cg_t, "clock_gettime")(c, &v) != 0 || real(c, &b) != 0) {
      __atomic_store_n(&g_origin[c].state, 0, __ATOMIC_RELEASE);
      return -1;
    }
    g_origin[c].v0 = ts_ns(&v);
    g_origin[c].r0 = (ts_ns(&a) + ts_ns(&b)) / 2;
    __atomic_store_n(&g_origin[c].state, 2, __ATOMIC_RELEASE);
  } else if (st != 2) {
    return -1;
  }
  if (real(c, ts) != 0)
    return -1;
  *ts = ns_ts(g_origin[c].v0 + (long long)((double)(ts_ns(ts) - g_origin[c].r0) * inj__speed));
  return 0;
}

EXPORT int clock_gettime(clockid_t c, struct timespec *ts) {
  if (inj__speed > 0 && vclock(c, ts) == 0)
    return 0;
  return NEXT(cg_t, "clock_gettime")(c, ts);
}

EXPORT int gettimeofday(struct timeval *restrict tv, void *restrict tz) {
  typedef int (*fn_t)(struct timeval *, void *);
  struct timespec ts;

  if (inj__speed > 0 && tz == NULL && vclock(CLOCK_REALTIME, &ts) == 0) {
    tv->tv_sec = ts.tv_sec;
    tv->tv_usec = (suseconds_t)(ts.tv_nsec / 1000);
    return 0;
  }
  return NEXT(fn_t, "gettimeofday")(tv, tz);
}

EXPORT time_t time(time_t *t) {
  typedef time_t (*fn_t)(time_t *);
  struct timespec ts;

  if (inj__speed > 0 && vclock(CLOCK_REALTIME, &ts) == 0) {
    if (t != NULL)
      *t = ts.tv_sec;
    return ts.tv_sec;
  }
  return NEXT(fn_t, "time")(t);
}

/* ---- waits ------------------------------------------------------------------ */

EXPORT int epoll_pwait2(int epfd, struct epoll_event *ev, int max, const struct timespec *timeout,
                        const sigset_t *mask) {
  typedef int (*fn_t)(int, struct epoll_event *, int, const struct timespec *, const sigset_t *);
  struct timespec t;

  if (inj__speed > 0 && timeout != NULL) {
    t = scale_rel(timeout);
    timeout = &t;
  }
  return NEXT(fn_t, "epoll_pwait2")(epfd, ev, max, timeout, mask);
}

EXPORT int timerfd_settime(int fd, int flags, const struct itimerspec *nv, struct itimerspec *old) {
  typedef int (*fn_t)(int, int, const struct itimerspec *, struct itimerspec *);
  struct itimerspec r;
  int rc;

  if (!(inj__speed > 0) || nv == NULL)
    return NEXT(fn_t, "timerfd_settime")(fd, flags, nv, old);
  r.it_interval = scale_rel(&nv->it_interval);
  if (nv->it_value.tv_sec == 0 && nv->it_value.tv_nsec == 0) {
    r.it_value = nv->it_value; /* disarm */
  } else if (flags & TFD_TIMER_ABSTIME) {
    /* The clock the timer was made on is not known here: take the time
       left on the virtual monotonic clock (libfaketime moves every clock
       at the same rate) and arm a relative real delay, right whatever
       the timer's clock. */
    struct timespec vnow;
    long long left;

    clock_gettime(CLOCK_MONOTONIC, &vnow);
    left = ts_ns(&nv->it_value) - ts_ns(&vnow);
    r.it_value = ns_ts(left > 0 ? (long long)((double)left / inj__speed) : 1);
    if (ts_ns(&r.it_value) == 0)
      r.it_value.tv_nsec = 1;
  } else {
    r.it_value = scale_rel(&nv->it_value);
  }
  rc = LIBC(fn_t, "timerfd_settime")(fd, flags & ~(TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET), &r,
                                     old);
  if (rc == 0 && old != NULL) {
    old->it_value = ns_ts((long long)((double)ts_ns(&old->it_value) * inj__speed));
    old->it_interval = ns_ts((long long)((double)ts_ns(&old->it_interval) * inj__speed));
  }
  return rc;
}

EXPORT int timerfd_gettime(int fd, struct itimerspec *cur) {
  typedef int (*fn_t)(int, struct itimerspec *);
  int rc;

  if (!(inj__speed > 0))
    return NEXT(fn_t, "timerfd_gettime")(fd, cur);
  rc = LIBC(fn_t, "timerfd_gettime")(fd, cur);
  if (rc == 0 && cur != NULL) {
    cur->it_value = ns_ts((long long)((double)ts_ns(&cur->it_value) * inj__speed));
    cur->it_interval = ns_ts((long long)((double)ts_ns(&cur->it_interval) * inj__speed));
  }
  return rc;
}

EXPORT int pthread_cond_clockwait(pthread_cond_t *c, pthread_mutex_t *m, clockid_t clk,
                                  const struct timespec *abstime) {
  typedef int (*fn_t)(pthread_cond_t *, pthread_mutex_t *, clockid_t, const struct timespec *);
  struct timespec r;

  if (!(inj__speed > 0))
    return NEXT(fn_t, "pthread_cond_clockwait")(c, m, clk, abstime);
  r = scale_abs(clk, abstime);
  return LIBC(fn_t, "pthread_cond_clockwait")(c, m, clk, &r);
}

EXPORT int sem_clockwait(sem_t *s, clockid_t clk, const struct timespec *abstime) {
  typedef int (*fn_t)(sem_t *, clockid_t, const struct timespec *);
  struct timespec r;

  if (!(inj__speed > 0))
    return NEXT(fn_t, "sem_clockwait")(s, clk, abstime);
  r = scale_abs(clk, abstime);
  return LIBC(fn_t, "sem_clockwait")(s, clk, &r);
}

EXPORT int sem_timedwait(sem_t *s, const struct timespec *abstime) {
  typedef int (*fn_t)(sem_t *, clockid_t, const struct timespec *);
  typedef int (*tw_t)(sem_t *, const struct timespec *);
  struct timespec r;

  if (!(inj__speed > 0))
    return NEXT(tw_t, "sem_timedwait")(s, abstime);
  r = scale_abs(CLOCK_REALTIME, abstime);
  return LIBC(fn_t, "sem_clockwait")(s, CLOCK_REALTIME, &r);
}

EXPORT int setitimer(__itimer_which_t which, const struct itimerval *nv, struct itimerval *old) {
  typedef int (*fn_t)(__itimer_which_t, const struct itimerval *, struct itimerval *);
  struct itimerval r;
  int rc;

  /* Only ITIMER_REAL is wall time: the others count CPU time, which is
     real work and is not sped up. */
  if (!(inj__speed > 0) || which != ITIMER_REAL || nv == NULL)
    return NEXT(fn_t, "setitimer")(which, nv, old);
  r.it_value = tv_scale(&nv->it_value, 1.0 / inj__speed);
  r.it_interval = tv_scale(&nv->it_interval, 1.0 / inj__speed);
  rc = LIBC(fn_t, "setitimer")(which, &r, old);
  if (rc == 0 && old != NULL) {
    old->it_value = tv_scale(&old->it_value, inj__speed);
    old->it_interval = tv_scale(&old->it_interval, inj__speed);
  }
  return rc;
}

EXPORT int getitimer(__itimer_which_t which, struct itimerval *cur) {
  typedef int (*fn_t)(__itimer_which_t, struct itimerval *);
  int rc;

  if (!(inj__speed > 0) || which != ITIMER_REAL)
    return NEXT(fn_t, "getitimer")(which, cur);
  rc = LIBC(fn_t, "getitimer")(which, cur);
  if (rc == 0 && cur != NULL) {
    cur->it_value = tv_scale(&cur->it_value, inj__speed);
    cur->it_interval = tv_scale(&cur->it_interval, inj__speed);
  }
  return rc;
}

EXPORT unsigned int alarm(unsigned int seconds) {
  typedef unsigned int (*fn_t)(unsigned int);
  struct itimerval nv = {{0, 0}, {(time_t)seconds, 0}}, old;

  if (!(inj__speed > 0))
    return NEXT(fn_t, "alarm")(seconds);
  if (setitimer(ITIMER_REAL, &nv, &old) < 0)
    return 0;
  /* alarm() rounds what was left up to whole seconds, as glibc does. */
  return (unsigned int)old.it_value.tv_sec + (old.it_value.tv_usec >= 500000) +
         (old.it_value.tv_sec == 0 && old.it_value.tv_usec > 0 && old.it_value.tv_usec < 500000);
}

EXPORT int timer_settime(timer_t id, int flags, const struct itimerspec *nv,
                         struct itimerspec *old) {
  typedef int (*fn_t)(timer_t, int, const struct itimerspec *, struct itimerspec *);
  struct itimerspec r;
  int rc;

  if (!(inj__speed > 0) || nv == NULL)
    return NEXT(fn_t, "timer_settime")(id, flags, nv, old);
  r.it_interval = scale_rel(&nv->it_interval);
  if (nv->it_value.tv_sec == 0 && nv->it_value.tv_nsec == 0) {
    r.it_value = nv->it_value;
  } else if (flags & TIMER_ABSTIME) {
    struct timespec vnow;
    long long left;

    clock_gettime(CLOCK_MONOTONIC, &vnow);
    left = ts_ns(&nv->it_value) - ts_ns(&vnow);
    r.it_value = ns_ts(left > 0 ? (long long)((double)left / inj__speed) : 1);
    if (ts_ns(&r.it_value) == 0)
      r.it_value.tv_nsec = 1;
  } else {
    r.it_value = scale_rel(&nv->it_value);
  }
  rc = LIBC(fn_t, "timer_settime")(id, flags & ~TIMER_ABSTIME, &r, old);
  if (rc == 0 && old != NULL) {
    old->it_value = ns_ts((long long)((double)ts_ns(&old->it_value) * inj__speed));
    old->it_interval = ns_ts((long long)((double)ts_ns(&old->it_interval) * inj__speed));
  }
  return rc;
}

EXPORT int setsockopt(int fd, int level, int name, const void *val, socklen_t len) {
  typedef int (*fn_t)(int, int, int, const void *, socklen_t);
  fn_t next = NEXT(fn_t, "setsockopt");
  struct timeval r;

  if (inj__speed > 0 && level == SOL_SOCKET && (name == SO_RCVTIMEO || name == SO_SNDTIMEO) &&
      val != NULL && len >= sizeof(struct timeval)) {
    r = tv_scale(val, 1.0 / inj__speed);
    return next(fd, level, name, &r, sizeof r);
  }
  return next(fd, level, name, val, len);
}

/* futex(2) through syscall(): what Rust's std (thread parking, Condvar,
   channels) and other runtimes without glibc's wrappers wait with.  The
   timeout of FUTEX_WAIT is relative; that of FUTEX_WAIT_BITSET (and the PI
   and requeue waits) absolute, on CLOCK_MONOTONIC or, with
   FUTEX_CLOCK_REALTIME, CLOCK_REALTIME. */
EXPORT long syscall(long nr, ...) {
  typedef long (*fn_t)(long, ...);
  fn_t next = NEXT(fn_t, "syscall");
  long a[6];
  va_list ap;
  int i;

  va_start(ap, nr);
  for (i = 0; i < 6; i++)
    a[i] = va_arg(ap, long);
  va_end(ap);
  if (inj__speed > 0 && nr == SYS_futex && a[3] != 0) {
    int op = (int)a[1] & FUTEX_CMD_MASK;
    clockid_t clk = ((int)a[1] & FUTEX_CLOCK_REALTIME) ? CLOCK_REALTIME : CLOCK_MONOTONIC;
    struct timespec t;

    if (op == FUTEX_WAIT) {
      t = scale_rel((const struct timespec *)a[3]);
      a[3] = (long)&t;
    } else if (op == FUTEX_WAIT_BITSET || op == FUTEX_WAIT_REQUEUE_PI || op == FUTEX_LOCK_PI2) {
      t = scale_abs(clk, (const struct timespec *)a[3]);
      a[3] = (long)&t;
    } else if (op == FUTEX_LOCK_PI) {
      t = scale_abs(CLOCK_REALTIME, (const struct timespec *)a[3]);
      a[3] = (long)&t;
    }
    return next(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
  }
  return next(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}
