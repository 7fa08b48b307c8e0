/*
 * unreachd.c - the namespace helper behind unreachable(net|host) over IPv4,
 * non-blocking (issue 22 item 1).
 *
 * On the real event the ICMP unreachable answers the SYN while connect()
 * still holds the socket's lock, so the kernel keeps it as a soft error: a
 * non-blocking client's poll wakes with POLLERR alone, the socket still in
 * SYN-SENT, SO_ERROR the unreachable errno.  An ICMP sent after connect()
 * returned is a hard error (POLLOUT|POLLERR|POLLHUP), and only routing in
 * the socket's own network namespace can answer inside connect()
 * (fault-injection/experiments/unreach/ measured every mechanism).
 *
 * So this helper, a child of fdsoak and never of the target, unshares a
 * network namespace (a user namespace with it when not root: no privilege
 * is needed where unprivileged user namespaces are allowed) and builds,
 * over rtnetlink and ioctls (no netfilter, no ip(8)):
 *
 *   va (10.77.0.1/24) <-> vb, a veth pair; 10.77.0.9 is vb's MAC (static)
 *   rule iif lo  -> table 200: 198.18.0.0/23 via 10.77.0.9 dev va
 *   rule iif vb  -> table 100: throw 198.18.0.0/24        (net unreachable)
 *                              unreachable 198.18.1.0/24  (host unreachable)
 *
 * A SYN a local socket sends to 198.18.0.1 leaves by va, comes back in on
 * vb, and the forwarding path answers it with ICMP net unreachable (the
 * throw falls through to a main table with no route) or host unreachable,
 * synchronously, inside connect().  It serves sockets made in that
 * namespace over an abstract unix socket bound before the unshare (so it
 * lives in fdsoak's namespace, where the target is): one request per
 * connection, the socket passed back by SCM_RIGHTS with the address to
 * connect it to.  Before it says it is ready it checks the real event on
 * a socket of its own: POLLERR alone, and the errno.
 *
 * Wire format (fault-injection/include/inj_unreach.h, shared with the
 * shim's faults.c): the request is
 * {u32 magic, i32 type, i32 protocol, i32 kind (0 net, 1 host)}, the reply
 * {u32 magic, i32 err, u32 IPv4 address in network order} with the socket
 * in SCM_RIGHTS when err is 0.
 */
#include "unreachd.h"
#include "inj_sec.h"
#include "inj_unreach.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fib_rules.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NET_DST "198.18.0.1"  /* throw: ICMP net unreachable */
#define HOST_DST "198.18.1.1" /* unreachable route: ICMP host unreachable */
#define SRC_NET "10.78.0.0"   /* /16, all local: one source address per socket */

/* ---- rtnetlink ------------------------------------------------------------- */

typedef struct {
  struct nlmsghdr h;
  char buf[1024];
} nlreq_t;

static struct rtattr *nl_attr(nlreq_t *r, int type, const void *data, size_t len) {
  struct rtattr *a = (struct rtattr *)((char *)r + NLMSG_ALIGN(r->h.nlmsg_len));

  a->rta_type = (unsigned short)type;
  a->rta_len = (unsigned short)RTA_LENGTH(len);
  if (len)
    memcpy(RTA_DATA(a), data, len);
  r->h.nlmsg_len = NLMSG_ALIGN(r->h.nlmsg_len) + RTA_ALIGN(a->rta_len);
  return a;
}

/* A nested attribute is closed by setting its length to what follows it. */
static void nl_end(nlreq_t *r, struct rtattr *nest) {
  nest->rta_len = (unsigned short)((char *)r + r->h.nlmsg_len - (char *)nest);
}

static void nl_start(nlreq_t *r, int type, int flags, const void *hdr, size_t len) {
  memset(r, 0, sizeof *r);
  r->h.nlmsg_type = (unsigned short)type;
  r->h.nlmsg_flags = (unsigned short)(NLM_F_REQUEST | NLM_F_ACK | flags);
  r->h.nlmsg_len = (unsigned)NLMSG_LENGTH(len);
  memcpy(NLMSG_DATA(&r->h), hdr, len);
}

/* Send one request and read its acknowledgement: 0 or -errno. */
static int nl_talk(int nl, nlreq_t *r) {
  char ack[512];
  ssize_t n;
  struct nlmsghdr *h = (struct nlmsghdr *)ack;

  if (send(nl, &r->h, r->h.nlmsg_len, 0) < 0)
    return -errno;
  n = recv(nl, ack, sizeof ack, 0);
  if (n < 0)
    return -errno;
  if (!NLMSG_OK(h, (size_t)n) || h->nlmsg_type != NLMSG_ERROR)
    return -EPROTO;
  return ((struct nlmsgerr *)NLMSG_DATA(h))->error;
}

static const unsigned char VB_MAC[6] = {0x02, 0xfd, 0x50, 0x0a, 0x00, 0x09};

static int make_veth(int nl) {
  nlreq_t r;
  struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC};
  struct rtattr *info, *data, *peer;

  nl_start(&r, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &ifi, sizeof ifi);
  nl_attr(&r, IFLA_IFNAME, "va", 3);
  info = nl_attr(&r, IFLA_LINKINFO, NULL, 0);
  nl_attr(&r, IFLA_INFO_KIND, "veth", 4);
  data = nl_attr(&r, IFLA_INFO_DATA, NULL, 0);
  /* VETH_INFO_PEER holds an ifinfomsg, then the peer's attributes. */
  peer = nl_attr(&r, VETH_INFO_PEER, &ifi, sizeof ifi);
  nl_attr(&r, IFLA_IFNAME, "vb", 3);
  nl_attr(&r, IFLA_ADDRESS, VB_MAC, sizeof VB_MAC);
  nl_end(&r, peer);
  nl_end(&r, data);
  nl_end(&r, info);
  return nl_talk(nl, &r);
}

static int add_rule(int nl, const char *iif, uint32_t prio, unsigned char table) {
  nlreq_t r;
  struct fib_rule_hdr fr = {.family = AF_INET, .action = FR_ACT_TO_TBL, .table = table};

  nl_start(&r, RTM_NEWRULE, NLM_F_CREATE | NLM_F_EXCL, &fr, sizeof fr);
  nl_attr(&r, FRA_IIFNAME, iif, strlen(iif) + 1);
  nl_attr(&r, FRA_PRIORITY, &prio, sizeof prio);
  return nl_talk(nl, &r);
}

/* A route of this type to dst/plen in table, through via on oif when via
 * is given, or on oif alone (oif > 0); a local route (RTN_LOCAL: every
 * address of dst/plen is this host's, AnyIP) has host scope. */
static int add_route(int nl, const char *dst, int plen, unsigned char table, unsigned char type,
                     const char *via, int oif) {
  nlreq_t r;
  struct rtmsg rt = {.rtm_family = AF_INET,
                     .rtm_dst_len = (unsigned char)plen,
                     .rtm_table = table,
                     .rtm_protocol = RTPROT_STATIC,
                     .rtm_scope = type == RTN_LOCAL ? RT_SCOPE_HOST : RT_SCOPE_UNIVERSE,
                     .rtm_type = type};
  struct in_addr a;

  nl_start(&r, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, &rt, sizeof rt);
  inet_pton(AF_INET, dst, &a);
  nl_attr(&r, RTA_DST, &a, sizeof a);
  if (via) {
    inet_pton(AF_INET, via, &a);
    nl_attr(&r, RTA_GATEWAY, &a, sizeof a);
  }
  if (oif > 0)
    nl_attr(&r, RTA_OIF, &oif, sizeof oif);
  return nl_talk(nl, &r);
}

/* ---- the namespace ------------------------------------------------------------- */

static int write_file(const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_CLOEXEC), rc = 0;
  size_t n = strlen(text);

  if (fd < 0)
    return -errno;
  if (write(fd, text, n) != (ssize_t)n)
    rc = errno ? -errno : -EIO;
  close(fd);
  return rc;
}

static int say(char *err, size_t cap, int rc, const char *fmt, ...) {
  va_list ap;
  size_t n;

  va_start(ap, fmt);
  vsnprintf(err, cap, fmt, ap);
  va_end(ap);
  n = strlen(err);
  if (rc < 0 && n < cap)
    snprintf(err + n, cap - n, ": %s", strerror(-rc));
  return rc;
}

/* Unshare the network namespace: plainly as root, with a user namespace
   (this uid mapped to root in it) otherwise or where root may not. */
static int enter_ns(char *err, size_t cap) {
  char map[64];
  uid_t uid = geteuid();
  gid_t gid = getegid();
  int rc;

  if (uid == 0 && unshare(CLONE_NEWNET) == 0)
    return 0;
  if (unshare(CLONE_NEWUSER | CLONE_NEWNET) != 0)
    return say(err, cap, -errno, "cannot make a network namespace (unshare, user namespaces %s)",
               uid == 0 ? "too" : "are needed when not root");
  snprintf(map, sizeof map, "0 %u 1\n", (unsigned)uid);
  if ((rc = write_file("/proc/self/uid_map", map)) != 0)
    return say(err, cap, rc, "cannot write the user namespace's uid_map");
  write_file("/proc/self/setgroups", "deny");
  snprintf(map, sizeof map, "0 %u 1\n", (unsigned)gid);
  if ((rc = write_file("/proc/self/gid_map", map)) != 0)
    return say(err, cap, rc, "cannot write the user namespace's gid_map");
  return 0;
}

static int if_up(int s, const char *name) {
  struct ifreq ifr;

  memset(&ifr, 0, sizeof ifr);
  snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", name);
  if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
    return -errno;
  ifr.ifr_flags |= IFF_UP;
  return ioctl(s, SIOCSIFFLAGS, &ifr) < 0 ? -errno : 0;
}

/* Until the kernel's link watcher has run for name (IFF_RUNNING): before
   that the device's queue is the no-op one that drops every packet, and
   the first SYN would be lost.  It runs within about a second. */
static int wait_running(int s, const char *name) {
  struct ifreq ifr;

  for (int i = 0; i < 300; i++) {
    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", name);
    if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
      return -errno;
    if (ifr.ifr_flags & IFF_RUNNING)
      return 0;
    usleep(10000);
  }
  return -ETIMEDOUT;
}

static int set_addr(int s, const char *name, const char *addr, const char *mask) {
  struct ifreq ifr;
  struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;

  memset(&ifr, 0, sizeof ifr);
  snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", name);
  sin->sin_family = AF_INET;
  inet_pton(AF_INET, addr, &sin->sin_addr);
  if (ioctl(s, SIOCSIFADDR, &ifr) < 0)
    return -errno;
  inet_pton(AF_INET, mask, &sin->sin_addr);
  return ioctl(s, SIOCSIFNETMASK, &ifr) < 0 ? -errno : 0;
}

/* 10.77.0.9 is vb's MAC, permanently: the SYN for 198.18.0.0/23 is sent
   to it through va and arrives on vb, where it is forwarded. */
static int set_neigh(int s) {
  struct arpreq ar;
  struct sockaddr_in *pa = (struct sockaddr_in *)&ar.arp_pa;

  memset(&ar, 0, sizeof ar);
  pa->sin_family = AF_INET;
  inet_pton(AF_INET, "10.77.0.9", &pa->sin_addr);
  ar.arp_ha.sa_family = ARPHRD_ETHER;
  memcpy(ar.arp_ha.sa_data, VB_MAC, sizeof VB_MAC);
  ar.arp_flags = ATF_PERM | ATF_COM;
  snprintf(ar.arp_dev, sizeof ar.arp_dev, "va");
  return ioctl(s, SIOCSARP, &ar) < 0 ? -errno : 0;
}

static int build_net(char *err, size_t cap) {
  static const char *const sysctls[][2] = {
    {"/proc/sys/net/ipv4/ip_forward", "1"},
    {"/proc/sys/net/ipv4/conf/all/rp_filter", "0"},
    {"/proc/sys/net/ipv4/conf/vb/rp_filter", "0"},
    /* The SYN comes back in from 10.77.0.1, an address of this host. */
    {"/proc/sys/net/ipv4/conf/vb/accept_local", "1"},
    /* The kernel rate-limits ICMP errors (not over loopback, where the
       real events of the fidelity suite are made): no type is limited
       here.  The forwarding path's own limit (ip_error: a burst of 5, then
       one a second per source address; route/error_cost is not a sysctl
       of a namespace) is met by a source address of its own per socket
       (serve_one). */
    {"/proc/sys/net/ipv4/icmp_ratemask", "0"},
    {"/proc/sys/net/ipv4/icmp_ratelimit", "0"},
  };
  int nl = -1, s = -1, rc, va;
  size_t i;

  nl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (nl < 0 || s < 0) {
    rc = say(err, cap, -errno, "cannot open rtnetlink in the namespace");
    goto out;
  }
  if ((rc = make_veth(nl)) != 0) {
    say(err, cap, rc, "cannot make a veth pair in the namespace (no veth module?)");
    goto out;
  }
  if ((rc = if_up(s, "lo")) != 0 || (rc = if_up(s, "va")) != 0 || (rc = if_up(s, "vb")) != 0 ||
      (rc = set_addr(s, "va", "10.77.0.1", "255.255.255.0")) != 0 || (rc = set_neigh(s)) != 0) {
    say(err, cap, rc, "cannot set up lo and the veth pair");
    goto out;
  }
  for (i = 0; i < sizeof sysctls / sizeof sysctls[0]; i++)
    if ((rc = write_file(sysctls[i][0], sysctls[i][1])) != 0) {
      say(err, cap, rc, "cannot write %s in the namespace", sysctls[i][0]);
      goto out;
    }
  va = (int)if_nametoindex("va");
  if ((rc = add_rule(nl, "lo", 90, 200)) != 0 || (rc = add_rule(nl, "vb", 100, 100)) != 0 ||
      (rc = add_route(nl, "198.18.0.0", 23, 200, RTN_UNICAST, "10.77.0.9", va)) != 0 ||
      (rc = add_route(nl, "198.18.0.0", 24, 100, RTN_THROW, NULL, 0)) != 0 ||
      (rc = add_route(nl, "198.18.1.0", 24, 100, RTN_UNREACHABLE, NULL, 0)) != 0 ||
      (rc = add_route(nl, SRC_NET, 16, RT_TABLE_LOCAL, RTN_LOCAL, NULL,
                      (int)if_nametoindex("lo"))) != 0)
    say(err, cap, rc, "cannot add the policy rules and routes");
  else if ((rc = wait_running(s, "va")) != 0 || (rc = wait_running(s, "vb")) != 0)
    say(err, cap, rc, "the veth pair did not come up");
out:
  if (nl >= 0)
    close(nl);
  if (s >= 0)
    close(s);
  return rc;
}

/* The real event, checked on a socket of our own: POLLERR alone and the
   errno.  A SYN sent just as the link watcher switches the veth's queue
   on can still be dropped (seen once in six starts): no answer in 200 ms
   is tried again, ten times at most. */
static int selftest_once(const char *dst, int want, char *err, size_t cap);
static int bind_next(int s);

static int selftest(const char *dst, int want, char *err, size_t cap) {
  int rc = -EAGAIN;

  for (int i = 0; i < 10 && rc == -EAGAIN; i++)
    rc = selftest_once(dst, want, err, cap);
  return rc == -EAGAIN ? say(err, cap, -ETIMEDOUT, "no ICMP answered the probe SYN to %s", dst)
                       : rc;
}

static int selftest_once(const char *dst, int want, char *err, size_t cap) {
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(9)};
  int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), e = 0, rc = 0;
  socklen_t el = sizeof e;
  struct pollfd p;

  if (s < 0)
    return say(err, cap, -errno, "cannot make a TCP socket in the namespace");
  inet_pton(AF_INET, dst, &a.sin_addr);
  bind_next(s); /* as the served sockets are */
  p.fd = s;
  p.events = POLLOUT;
  p.revents = 0;
  if (connect(s, (struct sockaddr *)&a, sizeof a) == 0 || errno != EINPROGRESS)
    rc =
      say(err, cap, -EPROTO, "the namespace's probe connect to %s did not stay in progress", dst);
  else if (poll(&p, 1, 200) == 0)
    rc = -EAGAIN;
  else if (p.revents != POLLERR || getsockopt(s, SOL_SOCKET, SO_ERROR, &e, &el) != 0 || e != want)
    rc = say(err, cap, -EPROTO,
             "the namespace does not give the real event for %s (poll 0x%x, SO_ERROR %d, "
             "wanted POLLERR alone and %d)",
             dst, (unsigned)p.revents, e, want);
  close(s);
  return rc;
}

/* ---- serving ------------------------------------------------------------------- */

/* The next source address of SRC_NET (10.78.0.1 .. 10.78.255.254, in
   turn), the port left to connect (IP_BIND_ADDRESS_NO_PORT).  Each has
   its own allowance of forwarding errors, so the ICMP answers every SYN
   however fast the program fails: 65534 addresses, five each at once and
   one a second after. */
static int bind_next(int s) {
  static uint32_t n;
  struct sockaddr_in a = {.sin_family = AF_INET};
  int one = 1;

  n = n % 65534 + 1;
  inet_pton(AF_INET, SRC_NET, &a.sin_addr);
  a.sin_addr.s_addr = htonl(ntohl(a.sin_addr.s_addr) + n);
  setsockopt(s, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
  return bind(s, (struct sockaddr *)&a, sizeof a) == 0 ? 0 : -errno;
}

static void serve_one(int c) {
  inj_unreach_req_t q;
  inj_unreach_rep_t rep = {.magic = INJ_UNREACH_MAGIC};
  struct timeval tv = {1, 0};
  struct in_addr a;
  int s = -1;

  /* A client that never speaks cannot hold the helper up for long. */
  setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (recv(c, &q, sizeof q, MSG_WAITALL) != (ssize_t)sizeof q || q.magic != INJ_UNREACH_MAGIC)
    return;
  inet_pton(AF_INET, q.kind == 0 ? NET_DST : HOST_DST, &a);
  rep.addr = a.s_addr;
  /* Only stream sockets: the type flags are the shim's to copy. */
  s = socket(AF_INET, (q.type & 0xf) | SOCK_CLOEXEC, q.protocol);
  if ((q.type & 0xf) != SOCK_STREAM || s < 0 || bind_next(s) != 0)
    rep.err = s < 0 ? errno : (q.type & 0xf) != SOCK_STREAM ? EPROTOTYPE : EADDRNOTAVAIL;
  /* The socket rides with the reply only when it is good (sec.c's sender,
     as the supervisor's listener does). */
  inj_sec_send(c, &rep, sizeof rep, rep.err == 0 ? s : -1);
  if (s >= 0)
    close(s);
}

/* Until fdsoak goes (PR_SET_PDEATHSIG) or, with watch_fd >= 0, that fd
   reaches end of file. */
static void serve(int lfd, int watch_fd) {
  struct pollfd p[2] = {{lfd, POLLIN, 0}, {watch_fd, POLLIN, 0}};

  for (;;) {
    int c;

    if (poll(p, watch_fd >= 0 ? 2 : 1, -1) < 0)
      continue;
    if (watch_fd >= 0 && p[1].revents) {
      char b[64];
      if (read(watch_fd, b, sizeof b) <= 0)
        return;
    }
    if (!(p[0].revents & POLLIN))
      continue;
    if ((c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
      serve_one(c);
      close(c);
    }
  }
}

/* The listener, bound before the unshare so it stays in the caller's
   network namespace (abstract names belong to one). */
static int make_listener(fsk__unreachd_t *u) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  struct timespec ts;
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  size_t n;

  if (fd < 0)
    return -errno;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  snprintf(u->name, sizeof u->name, "@fdsoak-unreach-%ld-%lx", (long)getpid(),
           (unsigned long)ts.tv_nsec ^ (unsigned long)ts.tv_sec);
  n = strlen(u->name);
  memcpy(sa.sun_path + 1, u->name + 1, n - 1);
  if (bind(fd, (struct sockaddr *)&sa, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n)) <
        0 ||
      listen(fd, 64) < 0) {
    int e = errno;
    close(fd);
    return -e;
  }
  return fd;
}

/* In the helper: the namespace, the probe, then the verdict on status_fd
   (a 0 byte, or the reason). */
static int helper_setup(int status_fd) {
  char err[256] = "";
  int rc;

  if ((rc = enter_ns(err, sizeof err)) == 0 && (rc = build_net(err, sizeof err)) == 0 &&
      (rc = selftest(NET_DST, ENETUNREACH, err, sizeof err)) == 0)
    rc = selftest(HOST_DST, EHOSTUNREACH, err, sizeof err);
  if (rc == 0)
    err[0] = '\0';
  if (write(status_fd, err, strlen(err) + 1) < 0)
    rc = -errno;
  close(status_fd);
  return rc;
}

int fsk__unreachd_start(fsk__unreachd_t *u, char *err, size_t cap) {
  int lfd, st[2], rc = 0;
  pid_t parent = getpid(), pid;
  char msg[256];
  ssize_t n = 0;
  struct pollfd p;

  memset(u, 0, sizeof *u);
  if ((lfd = make_listener(u)) < 0)
    return say(err, cap, lfd, "cannot bind the helper's unix socket");
  if (pipe2(st, O_CLOEXEC) != 0) {
    rc = say(err, cap, -errno, "cannot make a pipe");
    close(lfd);
    return rc;
  }
  pid = fork();
  if (pid == 0) {
    sigset_t none;

    /* The helper dies with fdsoak; it keeps only its two fds. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
      _exit(0);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGINT, SIG_IGN); /* a ^C is fdsoak's to handle; it stops us */
    signal(SIGTERM, SIG_DFL);
    signal(SIGPIPE, SIG_IGN);
    prctl(PR_SET_NAME, "fdsoak-unreach");
    for (int fd = 3; fd < 1024; fd++)
      if (fd != lfd && fd != st[1])
        close(fd);
    if (helper_setup(st[1]) != 0)
      _exit(2);
    serve(lfd, -1);
    _exit(0);
  }
  close(st[1]);
  close(lfd);
  if (pid < 0) {
    close(st[0]);
    return say(err, cap, -errno, "cannot fork the helper");
  }
  u->pid = pid;
  p.fd = st[0];
  p.events = POLLIN;
  msg[0] = '\0';
  if (poll(&p, 1, 5000) == 1)
    n = read(st[0], msg, sizeof msg - 1);
  close(st[0]);
  if (n <= 0 || msg[0]) {
    msg[n > 0 ? n : 0] = '\0';
    rc = say(err, cap, -EPROTO, "%s", n > 0 ? msg : "the helper did not start in 5 s");
    fsk__unreachd_stop(u);
  }
  return rc;
}

void fsk__unreachd_stop(fsk__unreachd_t *u) {
  if (u->pid > 0) {
    kill(u->pid, SIGKILL);
    while (waitpid(u->pid, NULL, 0) < 0 && errno == EINTR)
      ;
  }
  u->pid = 0;
}

int fsk__unreachd_main(int argc, char **argv) {
  fsk__unreachd_t u;
  int lfd, st[2];
  char err[256];

  (void)argv;
  if (argc != 0) {
    fprintf(stderr, "fdsoak __unreachd: takes no arguments (it is started by tests that "
                    "preload the shim by hand)\n");
    return 2;
  }
  if ((lfd = make_listener(&u)) < 0) {
    fprintf(stderr, "fdsoak __unreachd: cannot bind its unix socket: %s\n", strerror(-lfd));
    return 2;
  }
  if (pipe2(st, O_CLOEXEC) != 0)
    return 2;
  signal(SIGPIPE, SIG_IGN);
  if (helper_setup(st[1]) != 0) {
    ssize_t n = read(st[0], err, sizeof err - 1);
    err[n > 0 ? n : 0] = '\0';
    fprintf(stderr, "fdsoak __unreachd: %s\n", err);
    return 2;
  }
  close(st[0]);
  printf("%s=%s\n", FSK_UNREACH_ENV, u.name);
  fflush(stdout);
  serve(lfd, 0);
  return 0;
}
