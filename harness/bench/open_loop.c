/* open_loop.c - N opens and closes of one file, three calls deep, and the
 * rate: the program harness/bench/sup_origins.sh times under the seccomp
 * engine with and without origins.  Built there: static, -O2 -g.
 *
 *   open_loop FILE N      prints "opens/s RATE"
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

__attribute__((noinline)) static int open_store(const char *path) {
  return open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
}

__attribute__((noinline)) static int attempt(const char *path) {
  int fd = open_store(path);

  if (fd < 0)
    return -1;
  close(fd);
  return 0;
}

int main(int argc, char **argv) {
  struct timespec a, b;
  long n, i;
  double s;

  if (argc != 3 || (n = atol(argv[2])) <= 0) {
    fprintf(stderr, "usage: open_loop FILE N\n");
    return 2;
  }
  clock_gettime(CLOCK_MONOTONIC, &a);
  for (i = 0; i < n; i++)
    if (attempt(argv[1]) != 0) {
      perror("open");
      return 1;
    }
  clock_gettime(CLOCK_MONOTONIC, &b);
  s = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
  printf("opens/s %.0f\n", (double)n / s);
  return 0;
}
