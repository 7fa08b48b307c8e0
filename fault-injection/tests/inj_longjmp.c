/*
 * inj_longjmp.c — regression test: leaving a hooked call by siglongjmp must
 * not switch the shim off (wget's alarm timeout does exactly this).
 *
 *   FDSOAK_INJECT='connect:port=P:when=first(1):do=hang;connect:port=P:do=errno(ENETUNREACH)'
 *   inj_longjmp PORT STATS [FIFO]
 *
 * 1. A blocking connect to 127.0.0.1:PORT hangs (rule 1); SIGALRM's handler
 *    siglongjmps out of it.  The second connect must still be decided
 *    (rule 2: ENETUNREACH at once), not passed to the kernel.
 * 2. With FIFO given as FDSOAK_INJECT_LOG, the shim blocks while holding its
 *    guard (opening the log FIFO, no reader yet) and the handler longjmps
 *    out of the shim's own work; the next call must reclaim the guard.
 * Prints "first=<errno> second=<errno> undecided=N seq=N".
 */
#include "inj.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static sigjmp_buf jb;

static void on_alarm(int sig) {
  (void)sig;
  siglongjmp(jb, 1);
}

static const char *attempt(int port) {
  static char buf[32];
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  volatile int fd = socket(AF_INET, SOCK_STREAM, 0);
  const char *r;

  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (sigsetjmp(jb, 1)) {
    r = "longjmp";
  } else {
    alarm(1);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0)
      r = "connected";
    else
      r = inj_errno_name(errno) ? inj_errno_name(errno) : "?";
  }
  alarm(0);
  close(fd);
  snprintf(buf, sizeof buf, "%s", r);
  return buf;
}

int main(int argc, char **argv) {
  struct sigaction sa;
  inj_stats_view_t v;
  char first[32];
  int port, rdfd = -1;

  if (argc < 3)
    return 2;
  port = atoi(argv[1]);
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alarm;
  sigaction(SIGALRM, &sa, NULL);
  snprintf(first, sizeof first, "%s", attempt(port));
  if (argc > 3) /* now give the log FIFO a reader, so logging goes on */
    rdfd = open(argv[3], O_RDONLY | O_NONBLOCK);
  printf("first=%s second=%s", first, attempt(port));
  if (inj_stats_open(argv[2], &v) == 0) {
    printf(" undecided=%llu seq=%llu\n", (unsigned long long)inj_stats_load(&v.page->undecided),
           (unsigned long long)inj_stats_load(&v.page->seq));
    inj_stats_close(&v);
  } else {
    printf(" nostats\n");
  }
  if (rdfd >= 0)
    close(rdfd);
  return 0;
}
