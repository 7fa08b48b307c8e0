/* unreach.c - the asking side of the unreachable helper (harness
 * unreachd.c), shared by the shim (faults.c) and the seccomp engine
 * (harness supervise.c): fetch a socket of the helper's namespace, and copy
 * onto it the options a program set on its own socket.  Raw system calls
 * only: in the shim, socket, connect, getsockopt and setsockopt are hooked
 * (vtime.c divides SO_RCVTIMEO and SO_SNDTIMEO by the speed, and a value
 * read back from the kernel, or the 1 s limit on the helper connection,
 * must not be divided again). */
#include "inj_unreach.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

static int raw_getsockopt(int fd, int level, int name, void *val, socklen_t *len) {
  return (int)syscall(SYS_getsockopt, fd, level, name, val, len);
}

static int raw_setsockopt(int fd, int level, int name, const void *val, socklen_t len) {
  return (int)syscall(SYS_setsockopt, fd, level, name, val, len);
}

int inj_unreach_fetch(const char *name, int kind, int type, int proto, uint32_t *addr) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  size_t n = strlen(name);
  struct timeval tv = {1, 0};
  inj_unreach_req_t q = {INJ_UNREACH_MAGIC, type, proto, kind};
  inj_unreach_rep_t rep;
  char ctl[CMSG_SPACE(sizeof(int))];
  struct iovec io = {&rep, sizeof rep};
  struct msghdr m = {
    .msg_iov = &io, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof ctl};
  struct cmsghdr *cm;
  int c, got = -1;

  if (n < 2 || n > sizeof sa.sun_path)
    return -1;
  /* "@name" is an abstract socket: a leading NUL instead of the '@'. */
  memcpy(sa.sun_path, name, n);
  if (name[0] == '@')
    sa.sun_path[0] = '\0';
  c = (int)syscall(SYS_socket, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (c < 0)
    return -1;
  raw_setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  raw_setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (syscall(SYS_connect, c, (struct sockaddr *)&sa,
              (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n)) == 0 &&
      syscall(SYS_sendto, c, &q, sizeof q, MSG_NOSIGNAL, NULL, 0) == (long)sizeof q &&
      syscall(SYS_recvmsg, c, &m, MSG_CMSG_CLOEXEC | MSG_WAITALL) == (long)sizeof rep &&
      rep.magic == INJ_UNREACH_MAGIC && rep.err == 0 && (cm = CMSG_FIRSTHDR(&m)) != NULL &&
      cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS &&
      cm->cmsg_len == CMSG_LEN(sizeof(int))) {
    memcpy(&got, CMSG_DATA(cm), sizeof got);
    *addr = rep.addr;
  }
  close(c);
  return got;
}

void inj_unreach_copy_opts(int from, int to) {
  static const int opts[][2] = {
    {SOL_SOCKET, SO_KEEPALIVE},
    {SOL_SOCKET, SO_REUSEADDR},
    {SOL_SOCKET, SO_REUSEPORT},
    {SOL_SOCKET, SO_OOBINLINE},
    {SOL_SOCKET, SO_PRIORITY},
    {SOL_SOCKET, SO_RCVLOWAT},
    {SOL_SOCKET, SO_SNDBUF},
    {SOL_SOCKET, SO_RCVBUF},
    {SOL_SOCKET, SO_MARK},
    {IPPROTO_IP, IP_TOS},
    {IPPROTO_IP, IP_TTL},
    {IPPROTO_IP, IP_RECVERR},
    {IPPROTO_IP, IP_MTU_DISCOVER},
    {IPPROTO_IP, IP_FREEBIND},
    {IPPROTO_TCP, TCP_NODELAY},
    {IPPROTO_TCP, TCP_CORK},
    {IPPROTO_TCP, TCP_MAXSEG},
    {IPPROTO_TCP, TCP_KEEPIDLE},
    {IPPROTO_TCP, TCP_KEEPINTVL},
    {IPPROTO_TCP, TCP_KEEPCNT},
    {IPPROTO_TCP, TCP_SYNCNT},
    {IPPROTO_TCP, TCP_USER_TIMEOUT},
    {IPPROTO_TCP, TCP_QUICKACK},
    {IPPROTO_TCP, TCP_NOTSENT_LOWAT},
    {IPPROTO_TCP, TCP_WINDOW_CLAMP},
    {IPPROTO_TCP, TCP_LINGER2},
  };
  struct linger la, lb;
  struct timeval ta, tb;
  char ca[32], cb[32];
  socklen_t l1, l2;

  for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++) {
    int a = 0, b = 0;
    l1 = l2 = sizeof a;
    if (raw_getsockopt(from, opts[i][0], opts[i][1], &a, &l1) != 0 ||
        raw_getsockopt(to, opts[i][0], opts[i][1], &b, &l2) != 0 || a == b)
      continue;
    if (opts[i][0] == SOL_SOCKET && (opts[i][1] == SO_SNDBUF || opts[i][1] == SO_RCVBUF))
      a /= 2;
    raw_setsockopt(to, opts[i][0], opts[i][1], &a, sizeof a);
  }
  l1 = l2 = sizeof la;
  if (raw_getsockopt(from, SOL_SOCKET, SO_LINGER, &la, &l1) == 0 &&
      raw_getsockopt(to, SOL_SOCKET, SO_LINGER, &lb, &l2) == 0 && memcmp(&la, &lb, sizeof la))
    raw_setsockopt(to, SOL_SOCKET, SO_LINGER, &la, sizeof la);
  for (int k = 0; k < 2; k++) {
    int o = k ? SO_SNDTIMEO : SO_RCVTIMEO;
    l1 = l2 = sizeof ta;
    if (raw_getsockopt(from, SOL_SOCKET, o, &ta, &l1) == 0 &&
        raw_getsockopt(to, SOL_SOCKET, o, &tb, &l2) == 0 && memcmp(&ta, &tb, sizeof ta))
      raw_setsockopt(to, SOL_SOCKET, o, &ta, sizeof ta);
  }
  l1 = l2 = sizeof ca;
  memset(ca, 0, sizeof ca);
  memset(cb, 0, sizeof cb);
  if (raw_getsockopt(from, IPPROTO_TCP, TCP_CONGESTION, ca, &l1) == 0 &&
      raw_getsockopt(to, IPPROTO_TCP, TCP_CONGESTION, cb, &l2) == 0 && strcmp(ca, cb) != 0)
    raw_setsockopt(to, IPPROTO_TCP, TCP_CONGESTION, ca, (socklen_t)strlen(ca));
}
