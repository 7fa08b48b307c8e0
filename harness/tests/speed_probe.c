/* speed_probe.c - which time calls run at the virtual speed.
 *
 *   speed_probe N [CALL...]
 *
 * Run under `fdsoak watch --speed N` (or any preload that claims to scale
 * time by N).  For each call it waits one virtual second (or reads the
 * clock across a real pause) and measures the real time it took with the
 * raw system call, which no preload can fake.  One line per call:
 *
 *   CALL ratio R scaled|real
 *
 * R is virtual seconds per real second: N when the call is scaled, 1 when
 * it runs in real time.  Exit 0 when every call asked for was scaled,
 * 1 otherwise.  With no CALL, all of them.
 */
#include <errno.h>
#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

static double speed;

/* Real time, past every preload: the raw system call. */
static double real_now(void) {
  struct timespec ts;
  syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void real_pause(double s) {
  struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
  syscall(SYS_nanosleep, &ts, NULL);
}

static double ts_s(const struct timespec *t) { return (double)t->tv_sec + t->tv_nsec / 1e9; }

static struct timespec s_ts(double s) {
  struct timespec t = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
  return t;
}

static struct timespec abs_in(clockid_t c, double s) {
  struct timespec now;
  clock_gettime(c, &now);
  return s_ts(ts_s(&now) + s);
}

/* The waits: each blocks for one virtual second (V) with nothing ready. */
#define V 1.0

static volatile sig_atomic_t g_alarm;
static void on_alarm(int s) {
  (void)s;
  g_alarm = 1;
}

static void w_nanosleep(void) {
  struct timespec t = s_ts(V);
  nanosleep(&t, NULL);
}
static void w_clock_nanosleep(void) {
  struct timespec t = s_ts(V);
  clock_nanosleep(CLOCK_MONOTONIC, 0, &t, NULL);
}
static void w_clock_nanosleep_abs(void) {
  struct timespec t = abs_in(CLOCK_MONOTONIC, V);
  clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL);
}
static void w_usleep(void) { usleep((useconds_t)(V * 1e6)); }
static void w_poll(void) { poll(NULL, 0, (int)(V * 1000)); }
static void w_ppoll(void) {
  struct timespec t = s_ts(V);
  ppoll(NULL, 0, &t, NULL);
}
static void w_select(void) {
  struct timeval tv = {(time_t)V, 0};
  select(0, NULL, NULL, NULL, &tv);
}
static void w_pselect(void) {
  struct timespec t = s_ts(V);
  pselect(0, NULL, NULL, NULL, &t, NULL);
}
static void w_epoll_wait(void) {
  struct epoll_event ev;
  int ep = epoll_create1(EPOLL_CLOEXEC);
  epoll_wait(ep, &ev, 1, (int)(V * 1000));
  close(ep);
}
static void w_epoll_pwait(void) {
  struct epoll_event ev;
  int ep = epoll_create1(EPOLL_CLOEXEC);
  epoll_pwait(ep, &ev, 1, (int)(V * 1000), NULL);
  close(ep);
}
static void w_epoll_pwait2(void) {
  struct epoll_event ev;
  struct timespec t = s_ts(V);
  int ep = epoll_create1(EPOLL_CLOEXEC);
  epoll_pwait2(ep, &ev, 1, &t, NULL);
  close(ep);
}
static void w_timerfd(void) {
  struct itimerspec it = {{0, 0}, s_ts(V)};
  uint64_t n;
  int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
  timerfd_settime(fd, 0, &it, NULL);
  if (read(fd, &n, sizeof n) < 0)
    perror("timerfd read");
  close(fd);
}
static void w_timerfd_abs(void) {
  struct itimerspec it = {{0, 0}, abs_in(CLOCK_MONOTONIC, V)};
  uint64_t n;
  int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
  timerfd_settime(fd, TFD_TIMER_ABSTIME, &it, NULL);
  if (read(fd, &n, sizeof n) < 0)
    perror("timerfd read");
  close(fd);
}
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static void w_cond_timedwait(void) {
  struct timespec t = abs_in(CLOCK_REALTIME, V);
  pthread_mutex_lock(&mu);
  while (pthread_cond_timedwait(&cv, &mu, &t) != ETIMEDOUT)
    ;
  pthread_mutex_unlock(&mu);
}
static void w_cond_timedwait_mono(void) {
  pthread_condattr_t a;
  pthread_cond_t c;
  struct timespec t = abs_in(CLOCK_MONOTONIC, V);
  pthread_condattr_init(&a);
  pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
  pthread_cond_init(&c, &a);
  pthread_mutex_lock(&mu);
  while (pthread_cond_timedwait(&c, &mu, &t) != ETIMEDOUT)
    ;
  pthread_mutex_unlock(&mu);
  pthread_cond_destroy(&c);
}
static void w_cond_clockwait(void) {
  struct timespec t = abs_in(CLOCK_MONOTONIC, V);
  pthread_mutex_lock(&mu);
  while (pthread_cond_clockwait(&cv, &mu, CLOCK_MONOTONIC, &t) != ETIMEDOUT)
    ;
  pthread_mutex_unlock(&mu);
}
static void w_sem_timedwait(void) {
  sem_t s;
  struct timespec t = abs_in(CLOCK_REALTIME, V);
  sem_init(&s, 0, 0);
  while (sem_timedwait(&s, &t) != 0 && errno != ETIMEDOUT)
    ;
  sem_destroy(&s);
}
static void w_sem_clockwait(void) {
  sem_t s;
  struct timespec t = abs_in(CLOCK_MONOTONIC, V);
  sem_init(&s, 0, 0);
  while (sem_clockwait(&s, CLOCK_MONOTONIC, &t) != 0 && errno != ETIMEDOUT)
    ;
  sem_destroy(&s);
}
static void w_futex(void) {
  int word = 0;
  struct timespec t = s_ts(V);
  syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 0, &t, NULL, 0);
}
static void w_futex_abs(void) {
  /* As Rust's std parks a thread: an absolute deadline on CLOCK_MONOTONIC. */
  int word = 0;
  struct timespec t = abs_in(CLOCK_MONOTONIC, V);
  syscall(SYS_futex, &word, FUTEX_WAIT_BITSET_PRIVATE, 0, &t, NULL, FUTEX_BITSET_MATCH_ANY);
}
static void wait_alarm(void) {
  sigset_t none;
  sigemptyset(&none);
  while (!g_alarm)
    sigsuspend(&none);
  g_alarm = 0;
}
static void w_alarm(void) {
  /* alarm has whole seconds: the probe's second is one alarm(1). */
  alarm(1);
  wait_alarm();
}
static void w_setitimer(void) {
  struct itimerval it = {{0, 0}, {(time_t)V, 0}};
  setitimer(ITIMER_REAL, &it, NULL);
  wait_alarm();
}
static void w_timer_settime(void) {
  timer_t tm;
  struct sigevent se = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGALRM};
  struct itimerspec it = {{0, 0}, s_ts(V)};
  timer_create(CLOCK_MONOTONIC, &se, &tm);
  timer_settime(tm, 0, &it, NULL);
  wait_alarm();
  timer_delete(tm);
}
static void w_so_rcvtimeo(void) {
  int sv[2];
  char b;
  struct timeval tv = {(time_t)V, 0};
  socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
  setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (recv(sv[0], &b, 1, 0) >= 0)
    fputs("so_rcvtimeo: data?\n", stderr);
  close(sv[0]);
  close(sv[1]);
}
static void w_so_sndtimeo(void) {
  int sv[2], sz = 4096;
  char buf[4096] = {0};
  struct timeval tv = {(time_t)V, 0};
  socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
  setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
  setsockopt(sv[0], SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  /* Fill the buffer without blocking, then one blocking send times out. */
  while (send(sv[0], buf, sizeof buf, MSG_DONTWAIT) > 0)
    ;
  send(sv[0], buf, sizeof buf, 0);
  close(sv[0]);
  close(sv[1]);
}

/* Clock reads: the virtual time that passes over a real pause. */
static double c_clock(clockid_t c) {
  struct timespec a, b;
  clock_gettime(c, &a);
  real_pause(0.02);
  clock_gettime(c, &b);
  return (ts_s(&b) - ts_s(&a)) / 0.02;
}
static double r_realtime(void) { return c_clock(CLOCK_REALTIME); }
static double r_monotonic(void) { return c_clock(CLOCK_MONOTONIC); }
static double r_boottime(void) { return c_clock(CLOCK_BOOTTIME); }
static double r_gettimeofday(void) {
  struct timeval a, b;
  gettimeofday(&a, NULL);
  real_pause(0.02);
  gettimeofday(&b, NULL);
  return ((double)(b.tv_sec - a.tv_sec) + (b.tv_usec - a.tv_usec) / 1e6) / 0.02;
}
static double r_time(void) {
  /* time() has whole seconds: pause long enough that N x the pause spans
     many of them. */
  time_t a = time(NULL);
  real_pause(0.05);
  return (double)(time(NULL) - a) / 0.05;
}

typedef struct {
  const char *name;
  void (*wait)(void);
  double (*read)(void);
} probe_t;

static const probe_t probes[] = {
  {"clock_realtime", NULL, r_realtime},
  {"clock_monotonic", NULL, r_monotonic},
  {"clock_boottime", NULL, r_boottime},
  {"gettimeofday", NULL, r_gettimeofday},
  {"time", NULL, r_time},
  {"nanosleep", w_nanosleep, NULL},
  {"clock_nanosleep", w_clock_nanosleep, NULL},
  {"clock_nanosleep_abs", w_clock_nanosleep_abs, NULL},
  {"usleep", w_usleep, NULL},
  {"poll", w_poll, NULL},
  {"ppoll", w_ppoll, NULL},
  {"select", w_select, NULL},
  {"pselect", w_pselect, NULL},
  {"epoll_wait", w_epoll_wait, NULL},
  {"epoll_pwait", w_epoll_pwait, NULL},
  {"epoll_pwait2", w_epoll_pwait2, NULL},
  {"timerfd", w_timerfd, NULL},
  {"timerfd_abs", w_timerfd_abs, NULL},
  {"pthread_cond_timedwait", w_cond_timedwait, NULL},
  {"pthread_cond_timedwait_mono", w_cond_timedwait_mono, NULL},
  {"pthread_cond_clockwait", w_cond_clockwait, NULL},
  {"sem_timedwait", w_sem_timedwait, NULL},
  {"sem_clockwait", w_sem_clockwait, NULL},
  {"futex", w_futex, NULL},
  {"futex_abs", w_futex_abs, NULL},
  {"alarm", w_alarm, NULL},
  {"setitimer", w_setitimer, NULL},
  {"timer_settime", w_timer_settime, NULL},
  {"so_rcvtimeo", w_so_rcvtimeo, NULL},
  {"so_sndtimeo", w_so_sndtimeo, NULL},
};

int main(int argc, char **argv) {
  size_t i;
  int bad = 0, j;
  struct sigaction sa;

  if (argc < 2 || (speed = strtod(argv[1], NULL)) <= 1) {
    fprintf(stderr, "usage: speed_probe N [CALL...]  (N > 1)\n");
    return 2;
  }
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alarm;
  sigaction(SIGALRM, &sa, NULL);
  setvbuf(stdout, NULL, _IOLBF, 0);
  for (i = 0; i < sizeof probes / sizeof *probes; i++) {
    const probe_t *p = &probes[i];
    double ratio;
    int want = argc == 2;

    for (j = 2; j < argc; j++)
      want |= strcmp(argv[j], p->name) == 0;
    if (!want)
      continue;
    /* Scheduling only ever adds real time, so on a loaded machine a wait
       of a few milliseconds can read well under its speed once (futex
       read 4.9 at x100 in a CI run at load 5): a ratio from 2 to half the
       speed is tried again, up to three times in all, and the best is the
       estimate.  A call left unscaled takes its full second and reads about
       1, so it is never retried. */
    ratio = 0;
    for (j = 0; j < 3 && (j == 0 || (ratio >= 2 && ratio < speed / 2)); j++) {
      double r;

      if (p->read != NULL) {
        r = p->read();
      } else {
        double t0 = real_now();
        p->wait();
        r = V / (real_now() - t0);
      }
      ratio = r > ratio ? r : ratio;
    }
    /* Scaled: at least half the speed.  Real: a wait that took its full
       second (ratio about 1). */
    printf("%-28s ratio %10.1f, %d tries, %s\n", p->name, ratio, j,
           ratio >= speed / 2 ? "scaled" : "real");
    bad |= ratio < speed / 2;
  }
  return bad;
}
