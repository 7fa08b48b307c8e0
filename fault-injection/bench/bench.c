/* inj_bench — the loop the shim is measured on: socket + connect to a closed
 * loopback port + close.
 *
 *   inj_bench PORT ITERATIONS REPEATS [nb]
 *
 * With "nb" the socket is non-blocking and each iteration also waits for the
 * outcome the way an event loop does: poll(POLLOUT), getsockopt(SO_ERROR).
 *
 * Prints "<best µs per iteration> <errno name seen last> <failed connects>"
 * for the fastest of REPEATS runs (the minimum is the least noisy figure on
 * a shared machine). */
#include <errno.h>
#include <poll.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

int main(int argc, char **argv) {
  struct sockaddr_in a;
  int iters, reps, last_errno = 0, nb;
  long failed = 0;
  double best = 1e30;

  if (argc < 4) {
    fprintf(stderr, "usage: inj_bench PORT ITERATIONS REPEATS\n");
    return 2;
  }
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((unsigned short)atoi(argv[1]));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  iters = atoi(argv[2]);
  reps = atoi(argv[3]);
  nb = argc > 4 && strcmp(argv[4], "nb") == 0;
  for (int r = 0; r < reps; r++) {
    double t0 = now_us(), dt;
    failed = 0;
    for (int i = 0; i < iters; i++) {
      int fd = socket(AF_INET, SOCK_STREAM | (nb ? SOCK_NONBLOCK : 0), 0);
      if (fd < 0) {
        perror("socket");
        return 1;
      }
      if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        int e = errno;
        if (nb && e == EINPROGRESS) {
          struct pollfd p = {fd, POLLOUT, 0};
          socklen_t len = sizeof e;
          poll(&p, 1, 1000);
          getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len);
        }
        if (e) {
          failed++;
          last_errno = e;
        }
      }
      close(fd);
    }
    dt = (now_us() - t0) / iters;
    if (dt < best)
      best = dt;
  }
  printf("%.3f %s %ld\n", best, last_errno ? strerrorname_np(last_errno) : "-", failed);
  return 0;
}
