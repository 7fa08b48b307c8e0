/* idle_skip_proto.c - a prototype of `--speed max` (idle skipping), for
 * measurement only: not part of fdsoak, not installed.
 *
 * Preloaded (after the shim, instead of libfaketime) into a single-threaded
 * event loop, it keeps one offset that it adds to every clock read.  When
 * the loop waits with a timeout (epoll_wait, poll, nanosleep,
 * clock_nanosleep) it first waits a real grace period (1 ms, so that
 * what the kernel has in flight -- a refusal on loopback, a child's exit --
 * still arrives); if nothing came, it jumps the offset to the deadline and
 * returns "timed out" at once.
 *
 * Why it is a prototype: it is only right when every thread of every
 * process of the tree is idle at the same moment (one thread that is
 * working while another skips an hour sees its work take an hour), which
 * needs a tree-wide idle barrier in shared memory; and a fixed grace
 * period is a guess about how long the kernel's own events take.
 * harness/bench/speed_overhead.sh measures it on the README's service.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <poll.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/time.h>
#include <time.h>

static long long g_off; /* ns added to every clock */
#define GRACE_MS 1

#define REAL(type, name)                                                                           \
  ({                                                                                               \
    static type f_;                                                                                \
    if (f_ == NULL)                                                                                \
      f_ = (type)dlsym(RTLD_NEXT, name);                                                           \
    f_;                                                                                            \
  })

static void add(struct timespec *ts, long long ns) {
  long long t = (long long)ts->tv_sec * 1000000000LL + ts->tv_nsec + ns;
  ts->tv_sec = (time_t)(t / 1000000000LL);
  ts->tv_nsec = (long)(t % 1000000000LL);
}

typedef int (*cg_t)(clockid_t, struct timespec *);

int clock_gettime(clockid_t c, struct timespec *ts) {
  int r = REAL(cg_t, "clock_gettime")(c, ts);
  if (r == 0 && c != CLOCK_PROCESS_CPUTIME_ID && c != CLOCK_THREAD_CPUTIME_ID)
    add(ts, __atomic_load_n(&g_off, __ATOMIC_RELAXED));
  return r;
}

int gettimeofday(struct timeval *tv, void *tz) {
  struct timespec ts;
  (void)tz;
  clock_gettime(CLOCK_REALTIME, &ts);
  tv->tv_sec = ts.tv_sec;
  tv->tv_usec = ts.tv_nsec / 1000;
  return 0;
}

time_t time(time_t *t) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  if (t)
    *t = ts.tv_sec;
  return ts.tv_sec;
}

static void skip_ms(int ms) {
  __atomic_fetch_add(&g_off, (long long)ms * 1000000LL, __ATOMIC_RELAXED);
}

int epoll_wait(int ep, struct epoll_event *ev, int n, int to) {
  typedef int (*fn_t)(int, struct epoll_event *, int, int);
  int r;

  if (to <= GRACE_MS)
    return REAL(fn_t, "epoll_wait")(ep, ev, n, to);
  if ((r = REAL(fn_t, "epoll_wait")(ep, ev, n, GRACE_MS)) != 0)
    return r;
  skip_ms(to - GRACE_MS);
  return 0;
}

int poll(struct pollfd *p, nfds_t n, int to) {
  typedef int (*fn_t)(struct pollfd *, nfds_t, int);
  int r;

  if (to <= GRACE_MS)
    return REAL(fn_t, "poll")(p, n, to);
  if ((r = REAL(fn_t, "poll")(p, n, GRACE_MS)) != 0)
    return r;
  skip_ms(to - GRACE_MS);
  return 0;
}

int nanosleep(const struct timespec *req, struct timespec *rem) {
  if (rem)
    rem->tv_sec = rem->tv_nsec = 0;
  __atomic_fetch_add(&g_off, (long long)req->tv_sec * 1000000000LL + req->tv_nsec,
                     __ATOMIC_RELAXED);
  return 0;
}

int clock_nanosleep(clockid_t c, int flags, const struct timespec *req, struct timespec *rem) {
  struct timespec now;
  long long d;

  if (!(flags & TIMER_ABSTIME))
    return nanosleep(req, rem);
  clock_gettime(c, &now);
  d = ((long long)req->tv_sec - now.tv_sec) * 1000000000LL + (req->tv_nsec - now.tv_nsec);
  if (d > 0)
    __atomic_fetch_add(&g_off, d, __ATOMIC_RELAXED);
  return 0;
}
