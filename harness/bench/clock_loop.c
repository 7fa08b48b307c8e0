/* clock_loop.c - the cost of a clock read: K calls of clock_gettime
 * (CLOCK_MONOTONIC), gettimeofday and time(), timed with the raw system
 * call (which no preload fakes).  Prints "ns_per_call clock_gettime N". */
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static double real_now(void) {
  struct timespec ts;
  syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  long k = argc > 1 ? atol(argv[1]) : 2000000, i;
  volatile long sink = 0;
  struct timespec ts;
  struct timeval tv;
  double t0;

  t0 = real_now();
  for (i = 0; i < k; i++) {
    clock_gettime(CLOCK_MONOTONIC, &ts);
    sink += ts.tv_nsec;
  }
  printf("ns_per_call clock_gettime %.1f\n", (real_now() - t0) / (double)k * 1e9);
  t0 = real_now();
  for (i = 0; i < k; i++) {
    gettimeofday(&tv, NULL);
    sink += tv.tv_usec;
  }
  printf("ns_per_call gettimeofday %.1f\n", (real_now() - t0) / (double)k * 1e9);
  t0 = real_now();
  for (i = 0; i < k; i++)
    sink += time(NULL);
  printf("ns_per_call time %.1f\n", (real_now() - t0) / (double)k * 1e9);
  return sink == 42;
}
