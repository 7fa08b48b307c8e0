/*
 * fid_rstd — the real "reset at accept" server of the fidelity suite:
 * fid_rstd PORT READY_FILE.  Listens on 127.0.0.1 and [::1] port PORT;
 * every connection is accepted and closed at once with SO_LINGER 0, so the
 * kernel sends RST before the client has said anything (an overloaded
 * server or a load balancer turning connections away).  Written in C, like
 * the servers that do this in production: a Python server took long enough
 * to wake that clients had mostly sent their request first.  Runs until
 * killed (the suite kills it by pid).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int listen_on(int fam, int port) {
  struct sockaddr_in in4 = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  struct sockaddr_in6 in6 = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port)};
  int fd = socket(fam, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

  if (fd < 0)
    return -1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  in4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  in6.sin6_addr = in6addr_loopback;
  if (fam == AF_INET6)
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  if ((fam == AF_INET ? bind(fd, (struct sockaddr *)&in4, sizeof in4)
                      : bind(fd, (struct sockaddr *)&in6, sizeof in6)) < 0 ||
      listen(fd, 128) < 0) {
    perror("fid_rstd: bind/listen");
    exit(1);
  }
  return fd;
}

int main(int argc, char **argv) {
  struct pollfd p[2];
  struct linger lg = {1, 0};
  FILE *f;

  if (argc != 3) {
    fprintf(stderr, "usage: fid_rstd PORT READY_FILE\n");
    return 2;
  }
  p[0] = (struct pollfd){listen_on(AF_INET, atoi(argv[1])), POLLIN, 0};
  p[1] = (struct pollfd){listen_on(AF_INET6, atoi(argv[1])), POLLIN, 0};
  /* On CPU 0 with real-time priority where allowed (root, as the suite
     runs), and the suite runs the clients of this event on CPU 0 too: the
     handshake's wake-up makes the server run before the client's next
     instruction, so the RST is always there before the client looks at its
     socket -- the outcome of a server that is faster than its client, made
     every time instead of whenever a loaded machine happens to schedule it
     so.  Without the priority (not root) the outcome is a race again. */
  {
    struct sched_param sp = {.sched_priority = 10};
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(0, &one);
    sched_setaffinity(0, sizeof one, &one);
    sched_setscheduler(0, SCHED_FIFO, &sp);
  }
  if (!(f = fopen(argv[2], "w")))
    return 1;
  fclose(f);
  for (;;) {
    if (poll(p, 2, -1) < 0)
      continue;
    for (int i = 0; i < 2; i++) {
      int c;
      if (!(p[i].revents & POLLIN) || (c = accept4(p[i].fd, NULL, NULL, SOCK_CLOEXEC)) < 0)
        continue;
      setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
      close(c);
    }
  }
}
