/* Issue 22 item 1 experiment: a non-blocking IPv4 connect to argv[1]:argv[2];
 * prints the poll mask and TCP state each time the mask changes (2.5 s),
 * with a third argument reads SO_ERROR at the first wakeup (as a client
 * would), then the error queue and SO_ERROR at the end.  Not a test: a
 * measurement, run by mechanisms.sh. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}
static const char *st(int s) {
  static const char *n[] = {"?",          "ESTABLISHED", "SYN_SENT",  "SYN_RECV",
                            "FIN_WAIT1",  "FIN_WAIT2",   "TIME_WAIT", "CLOSE",
                            "CLOSE_WAIT", "LAST_ACK",    "LISTEN",    "CLOSING"};
  return s >= 0 && s < 12 ? n[s] : "?";
}
/* The poll mask as IN|OUT|ERR|HUP into b (at least 16 bytes), 0 if empty. */
static void mask(int m, char *b) {
  static const struct {
    int bit;
    const char *name;
  } bits[] = {{POLLIN, "IN|"}, {POLLOUT, "OUT|"}, {POLLERR, "ERR|"}, {POLLHUP, "HUP|"}};
  size_t n = 0, i, k;

  for (i = 0; i < sizeof bits / sizeof *bits; i++)
    if (m & bits[i].bit) {
      k = strlen(bits[i].name);
      memcpy(b + n, bits[i].name, k);
      n += k;
    }
  if (n == 0) {
    memcpy(b, "0|", 2);
    n = 2;
  }
  b[n - 1] = 0;
}
int main(int argc, char **argv) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_port = htons((uint16_t)strtol(argv[2], NULL, 10))};
  inet_pton(AF_INET, argv[1], &a.sin_addr);
  double t0 = now();
  int r = connect(fd, (void *)&a, sizeof a);
  printf("connect=%d %s\n", r, r ? strerror(errno) : "");
  int last = -1, early = 0;
  while (now() - t0 < 2500) {
    struct pollfd p = {fd, POLLIN | POLLOUT, 0};
    poll(&p, 1, 0);
    if (p.revents != last) {
      struct tcp_info ti;
      socklen_t l = sizeof ti;
      getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &l);
      char b[64];
      mask(p.revents, b);
      printf("%7.1f ms poll=%s state=%s\n", now() - t0, b, st(ti.tcpi_state));
      last = p.revents;
      if (argc > 3 && p.revents && !early) {
        int e = 0;
        socklen_t el = sizeof e;
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el);
        early = 1;
        struct pollfd p2 = {fd, POLLIN | POLLOUT, 0};
        poll(&p2, 1, 0);
        mask(p2.revents, b);
        printf("        early SO_ERROR=%s, poll then=%s\n", e ? strerror(e) : "0", b);
        last = p2.revents;
      }
    }
    usleep(500);
  }
  char buf[256];
  struct msghdr m = {0};
  struct iovec io = {buf, sizeof buf};
  m.msg_iov = &io;
  m.msg_iovlen = 1;
  int q = recvmsg(fd, &m, MSG_ERRQUEUE | MSG_DONTWAIT);
  printf("errqueue recv=%d %s\n", q, q < 0 ? strerror(errno) : "");
  int e = 0;
  socklen_t el = sizeof e;
  getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el);
  printf("SO_ERROR=%s\n", e ? strerror(e) : "0");
  int e2 = 0;
  getsockopt(fd, SOL_SOCKET, SO_ERROR, &e2, &el);
  printf("SO_ERROR again=%s\n", e2 ? strerror(e2) : "0");
  struct pollfd p = {fd, POLLIN | POLLOUT, 0};
  poll(&p, 1, 0);
  char b[64];
  mask(p.revents, b);
  printf("poll after SO_ERROR=%s\n", b);
  return 0;
}
