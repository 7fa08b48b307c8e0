/* dnsstub.c - a DNS stub on loopback for the seccomp engine.
 *
 * getaddrinfo is a libc function: a pure Go program, or a static one, sends
 * its own queries to the nameserver of /etc/resolv.conf, and no shim sees
 * them.  The supervisor (supervise.c) points each port-53 socket of the
 * tree at this stub instead (a copy of the caller's own socket, connected
 * here), so the program talks to a real server that answers as the rule
 * says: NXDOMAIN for eai(EAI_NONAME), SERVFAIL for eai(EAI_AGAIN), an
 * empty NOERROR for eai(EAI_NODATA), and nothing at all for
 * eai(EAI_AGAIN,T), the resolver that never answers.  A query no rule
 * matches is relayed to the nameserver the program dialled and its answer
 * relayed back unchanged, so a rule that does not match changes nothing.
 *
 * One thread serves the UDP sockets and the relays in flight; each TCP
 * connection (a truncated answer's retry) gets a short-lived thread of its
 * own.  Nothing here is in the target's fd table.
 */
#include "dnsstub.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Relays in flight at once, routes remembered, and how long a relay or a
 * TCP exchange may take before it is given up (the client has given up by
 * then: Go's and glibc's default is 5 s per try). */
#define STUB_RELAYS 64
#define STUB_ROUTES 256
#define STUB_TCP_MAX 32
#define STUB_WAIT_MS 10000

/* ------------------------------------------------------------------ */
/* Packets                                                             */
/* ------------------------------------------------------------------ */

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

static void put16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}

int fsk__dns_parse_query(const void *buf, size_t len, fsk__dns_question_t *q) {
  const uint8_t *p = buf;
  size_t off = 12, out = 0;
  uint16_t flags;

  memset(q, 0, sizeof *q);
  if (buf == NULL || len < 12)
    return -EINVAL;
  q->id = get16(p);
  flags = get16(p + 2);
  q->rd = (flags >> 8) & 1;
  if (flags & 0x8000)
    return -EINVAL; /* a response, not a query */
  if (((flags >> 11) & 0xf) != 0)
    return -EOPNOTSUPP;
  if (get16(p + 4) != 1 || get16(p + 6) != 0 || get16(p + 8) != 0)
    return -EINVAL; /* a query asks one question and carries no answers */
  for (;;) {
    uint8_t l;

    if (off >= len)
      return -EINVAL;
    l = p[off++];
    if (l == 0)
      break;
    /* A question's name is never compressed (there is nothing before it to
     * point at), and a label is at most 63 bytes. */
    if (l > 63 || off + l > len)
      return -EINVAL;
    if (out + l + 1 >= sizeof q->name)
      return -EINVAL; /* over 255 bytes */
    if (out > 0)
      q->name[out++] = '.';
    for (uint8_t i = 0; i < l; i++) {
      uint8_t c = p[off + i];
      /* A dot or a NUL inside a label would make the dotted name say
       * something else than the query does: no rule may match it. */
      if (c == '.' || c == '\0')
        return -EINVAL;
      q->name[out++] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    }
    off += l;
  }
  if (out == 0)
    q->name[out++] = '.';
  q->name[out] = '\0';
  if (off + 4 > len)
    return -EINVAL;
  q->qtype = get16(p + off);
  q->qclass = get16(p + off + 2);
  q->qend = off + 4;
  return 0;
}

int fsk__dns_answer(const void *query, const fsk__dns_question_t *q, int rcode, void *out,
                    size_t cap) {
  uint8_t *o = out;
  size_t n = q->qend > 12 ? q->qend : 12;

  if (rcode < 0 || rcode > 15)
    return -EINVAL;
  if (cap < n)
    return -EMSGSIZE;
  memset(o, 0, 12);
  put16(o, q->id);
  /* QR, opcode QUERY, RD echoed, RA: a recursive server's answer. */
  put16(o + 2, (uint16_t)(0x8000 | (q->rd ? 0x0100 : 0) | 0x0080 | rcode));
  if (q->qend > 12) {
    put16(o + 4, 1);
    memcpy(o + 12, (const uint8_t *)query + 12, q->qend - 12);
  }
  return (int)n;
}

/* ------------------------------------------------------------------ */
/* The stub                                                            */
/* ------------------------------------------------------------------ */

struct fsk__dnsstub {
  fsk__dns_decide_cb decide;
  void *ctx;
  int udp[2], tcp[2]; /* per family index; -1 where there is none */
  uint16_t udp_port[2], tcp_port[2];
  int wake[2];
  pthread_t thread;
  int running, stopping, tcp_threads;
  pthread_mutex_t lock;
  struct {
    int fi, type;
    uint16_t port;
    socklen_t len;
    struct sockaddr_storage ns;
  } routes[STUB_ROUTES];
  size_t nroutes;
  uint64_t answered, dropped, forwarded;
};

static uint64_t bump(uint64_t *p) { return __atomic_add_fetch(p, 1, __ATOMIC_RELAXED); }

static long long now_ms(void) {
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int bind_lo(int fi, int type, uint16_t *port) {
  struct sockaddr_storage ss;
  socklen_t len;
  int fd, one = 1;

  memset(&ss, 0, sizeof ss);
  if (fi == 0) {
    struct sockaddr_in *in = (void *)&ss;
    in->sin_family = AF_INET;
    in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    len = sizeof *in;
  } else {
    struct sockaddr_in6 *in6 = (void *)&ss;
    in6->sin6_family = AF_INET6;
    in6->sin6_addr = in6addr_loopback;
    len = sizeof *in6;
  }
  if ((fd = socket(ss.ss_family, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0)
    return -errno;
  if (fi)
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  if (bind(fd, (struct sockaddr *)&ss, len) != 0 || (type == SOCK_STREAM && listen(fd, 64) != 0) ||
      getsockname(fd, (struct sockaddr *)&ss, &len) != 0) {
    int e = errno;
    close(fd);
    return -e;
  }
  *port =
    ntohs(fi ? ((struct sockaddr_in6 *)&ss)->sin6_port : ((struct sockaddr_in *)&ss)->sin_port);
  return fd;
}

int fsk__dnsstub_port(const fsk__dnsstub_t *s, int fi, int type, uint16_t *port) {
  if (s == NULL || fi < 0 || fi > 1)
    return -EINVAL;
  if ((type == SOCK_DGRAM ? s->udp[fi] : s->tcp[fi]) < 0)
    return -EAFNOSUPPORT;
  *port = type == SOCK_DGRAM ? s->udp_port[fi] : s->tcp_port[fi];
  return 0;
}

void fsk__dnsstub_route(fsk__dnsstub_t *s, int fi, int type, uint16_t client_port,
                        const struct sockaddr *ns, socklen_t len) {
  size_t k;

  if (s == NULL || len > sizeof(struct sockaddr_storage))
    return;
  pthread_mutex_lock(&s->lock);
  k = s->nroutes++ % STUB_ROUTES;
  s->routes[k].fi = fi;
  s->routes[k].type = type;
  s->routes[k].port = client_port;
  s->routes[k].len = len;
  memcpy(&s->routes[k].ns, ns, len);
  pthread_mutex_unlock(&s->lock);
}

/* The first nameserver of /etc/resolv.conf, or 127.0.0.1 as glibc assumes
 * when there is none. */
static socklen_t resolv_conf_ns(struct sockaddr_storage *ss) {
  char line[256], addr[128];
  FILE *f = fopen("/etc/resolv.conf", "re");
  struct sockaddr_in *in = (void *)ss;
  struct sockaddr_in6 *in6 = (void *)ss;

  memset(ss, 0, sizeof *ss);
  while (f != NULL && fgets(line, sizeof line, f) != NULL) {
    if (sscanf(line, " nameserver %127s", addr) != 1)
      continue;
    if (inet_pton(AF_INET, addr, &in->sin_addr) == 1) {
      in->sin_family = AF_INET;
      in->sin_port = htons(53);
      fclose(f);
      return sizeof *in;
    }
    if (inet_pton(AF_INET6, addr, &in6->sin6_addr) == 1) {
      in6->sin6_family = AF_INET6;
      in6->sin6_port = htons(53);
      fclose(f);
      return sizeof *in6;
    }
  }
  if (f != NULL)
    fclose(f);
  in->sin_family = AF_INET;
  in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  in->sin_port = htons(53);
  return sizeof *in;
}

/* Where a query from client_port goes when no rule decides it. */
static socklen_t upstream(fsk__dnsstub_t *s, int fi, int type, uint16_t client_port,
                          struct sockaddr_storage *ns) {
  socklen_t len = 0;
  size_t i, n;

  pthread_mutex_lock(&s->lock);
  n = s->nroutes < STUB_ROUTES ? s->nroutes : STUB_ROUTES;
  for (i = 0; i < n && len == 0; i++) {
    size_t k = (s->nroutes - 1 - i) % STUB_ROUTES; /* the newest first */
    if (s->routes[k].fi == fi && s->routes[k].type == type && s->routes[k].port == client_port) {
      len = s->routes[k].len;
      memcpy(ns, &s->routes[k].ns, len);
    }
  }
  pthread_mutex_unlock(&s->lock);
  return len > 0 ? len : resolv_conf_ns(ns);
}

static uint16_t port_of(const struct sockaddr_storage *ss) {
  return ntohs(ss->ss_family == AF_INET6 ? ((const struct sockaddr_in6 *)ss)->sin6_port
                                         : ((const struct sockaddr_in *)ss)->sin_port);
}

/* What to do with one query: an answer to send (its length in *alen), a
 * relay, or nothing. */
static int handle(fsk__dnsstub_t *s, const uint8_t *msg, size_t len, uint8_t *ans, size_t cap,
                  int *alen) {
  fsk__dns_question_t q;
  int rc = fsk__dns_parse_query(msg, len, &q), d;

  *alen = 0;
  if (rc == -EOPNOTSUPP || (rc != 0 && len >= 12 && !(msg[2] & 0x80))) {
    /* What a server says of a query it cannot read; a response sent to
     * us (or a runt) gets nothing. */
    *alen =
      fsk__dns_answer(msg, &q, rc == -EOPNOTSUPP ? 4 /* NOTIMP */ : FSK_DNS_FORMERR, ans, cap);
    bump(&s->answered);
    return 0;
  }
  if (rc != 0) {
    bump(&s->dropped);
    return FSK_DNS_DROP;
  }
  d = s->decide(s->ctx, q.name, q.qtype);
  if (d == FSK_DNS_FORWARD) {
    bump(&s->forwarded);
    return d;
  }
  if (d < 0) {
    bump(&s->dropped);
    return FSK_DNS_DROP;
  }
  *alen = fsk__dns_answer(msg, &q, d, ans, cap);
  bump(&s->answered);
  return 0;
}

/* ---- TCP: one thread per connection ------------------------------- */

typedef struct {
  fsk__dnsstub_t *s;
  int fd, fi;
  uint16_t client_port;
} tcp_conn_t;

/* Read exactly n bytes before the deadline; 0, or -1. */
static int read_full(int fd, uint8_t *p, size_t n, long long until) {
  size_t got = 0;

  while (got < n) {
    struct pollfd pf = {fd, POLLIN, 0};
    long long left = until - now_ms();
    ssize_t r;

    if (left <= 0 || poll(&pf, 1, (int)(left > 1000 ? 1000 : left)) < 0)
      return -1;
    r = read(fd, p + got, n - got);
    if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
      return -1;
    if (r > 0)
      got += (size_t)r;
  }
  return 0;
}

static int write_full(int fd, const uint8_t *p, size_t n, long long until) {
  size_t put = 0;

  while (put < n) {
    struct pollfd pf = {fd, POLLOUT, 0};
    long long left = until - now_ms();
    ssize_t w;

    if (left <= 0 || poll(&pf, 1, (int)(left > 1000 ? 1000 : left)) < 0)
      return -1;
    w = send(fd, p + put, n - put, MSG_NOSIGNAL);
    if (w < 0 && errno != EAGAIN && errno != EINTR)
      return -1;
    if (w > 0)
      put += (size_t)w;
  }
  return 0;
}

/* One query relayed over TCP: the answer into ans, its length, or -1. */
static int tcp_relay(const struct sockaddr_storage *ns, socklen_t nslen, const uint8_t *msg,
                     size_t len, uint8_t *ans, size_t cap, long long until) {
  int fd = socket(ns->ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), rc = -1, err = 0;
  uint8_t hdr[2];
  socklen_t el = sizeof err;
  struct pollfd pf;
  size_t n;

  if (fd < 0)
    return -1;
  if (connect(fd, (const struct sockaddr *)ns, nslen) != 0 && errno != EINPROGRESS)
    goto out;
  pf = (struct pollfd){fd, POLLOUT, 0};
  if (poll(&pf, 1, (int)(until - now_ms() > 0 ? until - now_ms() : 0)) != 1 ||
      getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0 || err != 0)
    goto out;
  put16(hdr, (uint16_t)len);
  if (write_full(fd, hdr, 2, until) != 0 || write_full(fd, msg, len, until) != 0 ||
      read_full(fd, hdr, 2, until) != 0)
    goto out;
  n = get16(hdr);
  if (n > cap || read_full(fd, ans, n, until) != 0)
    goto out;
  rc = (int)n;
out:
  close(fd);
  return rc;
}

static void *tcp_main(void *arg) {
  tcp_conn_t *c = arg;
  fsk__dnsstub_t *s = c->s;
  uint8_t *msg = malloc(65536), *ans = malloc(65536 + 2), hdr[2];
  int i;

  /* A client may ask several questions on one connection, one at a time. */
  for (i = 0; msg != NULL && ans != NULL && i < 16; i++) {
    long long until = now_ms() + STUB_WAIT_MS;
    size_t len;
    int alen, d;

    if (read_full(c->fd, hdr, 2, until) != 0)
      break;
    len = get16(hdr);
    if (read_full(c->fd, msg, len, until) != 0)
      break;
    d = handle(s, msg, len, ans + 2, 65536, &alen);
    if (d == FSK_DNS_FORWARD) {
      struct sockaddr_storage ns;
      socklen_t nl = upstream(s, c->fi, SOCK_STREAM, c->client_port, &ns);
      alen = tcp_relay(&ns, nl, msg, len, ans + 2, 65536, until);
      if (alen < 0)
        break; /* the client sees the connection close, as from a dead relay */
    } else if (d == FSK_DNS_DROP) {
      /* The server that never answers: hold the connection until the
       * client gives up (or fdsoak stops). */
      while (!__atomic_load_n(&s->stopping, __ATOMIC_ACQUIRE) && now_ms() < until) {
        struct pollfd pf = {c->fd, POLLIN, 0};
        if (poll(&pf, 1, 200) == 1)
          break;
      }
      break;
    }
    put16(ans, (uint16_t)alen);
    if (alen <= 0 || write_full(c->fd, ans, (size_t)alen + 2, until) != 0)
      break;
  }
  free(msg);
  free(ans);
  close(c->fd);
  __atomic_sub_fetch(&s->tcp_threads, 1, __ATOMIC_RELEASE);
  free(c);
  return NULL;
}

static void tcp_accept(fsk__dnsstub_t *s, int fi) {
  struct sockaddr_storage peer;
  socklen_t plen = sizeof peer;
  int fd;

  while ((fd = accept4(s->tcp[fi], (struct sockaddr *)&peer, &plen,
                       SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
    tcp_conn_t *c = calloc(1, sizeof *c);
    pthread_attr_t at;
    pthread_t th;

    plen = sizeof peer;
    if (c == NULL || __atomic_add_fetch(&s->tcp_threads, 1, __ATOMIC_ACQ_REL) > STUB_TCP_MAX) {
      if (c != NULL)
        __atomic_sub_fetch(&s->tcp_threads, 1, __ATOMIC_RELEASE);
      free(c);
      close(fd); /* too many at once: as a server out of room would */
      continue;
    }
    c->s = s;
    c->fd = fd;
    c->fi = fi;
    c->client_port = port_of(&peer);
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&th, &at, tcp_main, c) != 0) {
      __atomic_sub_fetch(&s->tcp_threads, 1, __ATOMIC_RELEASE);
      close(fd);
      free(c);
    }
    pthread_attr_destroy(&at);
  }
}

/* ---- UDP: the serving thread --------------------------------------- */

typedef struct {
  int fd; /* connected to the nameserver; -1 when the slot is free */
  int fi; /* the stub socket the answer goes out of */
  socklen_t clen;
  struct sockaddr_storage client;
  long long until;
} relay_t;

static void udp_query(fsk__dnsstub_t *s, int fi, relay_t *relays, uint8_t *buf, uint8_t *ans) {
  struct sockaddr_storage from;
  socklen_t flen = sizeof from;
  ssize_t r;
  int i;

  /* A few per wake-up, so one busy client cannot starve the relays. */
  for (i = 0; i < 16; i++) {
    int alen, d, k, up;
    struct sockaddr_storage ns;
    socklen_t nl;

    flen = sizeof from;
    if ((r = recvfrom(s->udp[fi], buf, 65536, 0, (struct sockaddr *)&from, &flen)) < 0)
      return;
    d = handle(s, buf, (size_t)r, ans, 65536, &alen);
    if (d == 0 && alen > 0) {
      sendto(s->udp[fi], ans, (size_t)alen, MSG_DONTWAIT, (struct sockaddr *)&from, flen);
      continue;
    }
    if (d != FSK_DNS_FORWARD)
      continue;
    for (k = 0; k < STUB_RELAYS && relays[k].fd >= 0; k++)
      ;
    if (k == STUB_RELAYS)
      continue; /* lost, as a datagram may be: the client retries */
    nl = upstream(s, fi, SOCK_DGRAM, port_of(&from), &ns);
    if ((up = socket(ns.ss_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0)
      continue;
    if (connect(up, (struct sockaddr *)&ns, nl) != 0 || send(up, buf, (size_t)r, 0) != r) {
      close(up);
      continue;
    }
    relays[k].fd = up;
    relays[k].fi = fi;
    relays[k].clen = flen;
    relays[k].client = from;
    relays[k].until = now_ms() + STUB_WAIT_MS;
  }
}

static void *stub_main(void *arg) {
  fsk__dnsstub_t *s = arg;
  relay_t relays[STUB_RELAYS];
  uint8_t *buf = malloc(65536), *ans = malloc(65536);
  int i;

  for (i = 0; i < STUB_RELAYS; i++)
    relays[i].fd = -1;
  while (buf != NULL && ans != NULL && !__atomic_load_n(&s->stopping, __ATOMIC_ACQUIRE)) {
    struct pollfd p[5 + STUB_RELAYS];
    int map[STUB_RELAYS], n = 0, m = 0, f;
    long long now;

    p[n++] = (struct pollfd){s->wake[0], POLLIN, 0};
    for (f = 0; f < 2; f++) {
      p[n++] = (struct pollfd){s->udp[f], POLLIN, 0};
      p[n++] = (struct pollfd){s->tcp[f], POLLIN, 0};
    }
    for (i = 0; i < STUB_RELAYS; i++)
      if (relays[i].fd >= 0) {
        map[m++] = i;
        p[n++] = (struct pollfd){relays[i].fd, POLLIN, 0};
      }
    if (poll(p, (nfds_t)n, 500) < 0)
      continue;
    if (p[0].revents)
      break;
    for (f = 0; f < 2; f++) {
      if (p[1 + 2 * f].revents & POLLIN)
        udp_query(s, f, relays, buf, ans);
      if (p[2 + 2 * f].revents & POLLIN)
        tcp_accept(s, f);
    }
    now = now_ms();
    for (i = 0; i < m; i++) {
      relay_t *rl = &relays[map[i]];
      ssize_t r;

      if (p[5 + i].revents) {
        if ((r = recv(rl->fd, buf, 65536, 0)) > 0)
          sendto(s->udp[rl->fi], buf, (size_t)r, MSG_DONTWAIT, (struct sockaddr *)&rl->client,
                 rl->clen);
        else if (r < 0 && errno == EAGAIN)
          continue;
      } else if (now < rl->until) {
        continue;
      }
      /* Answered, refused by the kernel (ICMP), or given up: the client
       * sees what the nameserver's silence would give it. */
      close(rl->fd);
      rl->fd = -1;
    }
  }
  for (i = 0; i < STUB_RELAYS; i++)
    if (relays[i].fd >= 0)
      close(relays[i].fd);
  free(buf);
  free(ans);
  return NULL;
}

int fsk__dnsstub_start(fsk__dnsstub_t **out, fsk__dns_decide_cb fn, void *ctx) {
  fsk__dnsstub_t *s = calloc(1, sizeof *s);
  sigset_t all, old;
  int f, rc;

  if (s == NULL)
    return -ENOMEM;
  s->decide = fn;
  s->ctx = ctx;
  s->wake[0] = s->wake[1] = -1;
  pthread_mutex_init(&s->lock, NULL);
  for (f = 0; f < 2; f++) {
    s->udp[f] = bind_lo(f, SOCK_DGRAM, &s->udp_port[f]);
    s->tcp[f] = bind_lo(f, SOCK_STREAM, &s->tcp_port[f]);
    if (s->udp[f] < 0)
      s->udp[f] = -1;
    if (s->tcp[f] < 0)
      s->tcp[f] = -1;
  }
  if (s->udp[0] < 0 && s->udp[1] < 0) {
    rc = -EADDRNOTAVAIL; /* no loopback at all */
    goto fail;
  }
  if (pipe2(s->wake, O_CLOEXEC) != 0) {
    rc = -errno;
    goto fail;
  }
  /* fdsoak's signals are for its main thread. */
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  rc = pthread_create(&s->thread, NULL, stub_main, s);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (rc != 0) {
    rc = -rc;
    goto fail;
  }
  s->running = 1;
  *out = s;
  return 0;
fail:
  fsk__dnsstub_stop(s);
  return rc;
}

void fsk__dnsstub_counts(const fsk__dnsstub_t *s, uint64_t *answered, uint64_t *dropped,
                         uint64_t *forwarded) {
  *answered = s ? __atomic_load_n(&s->answered, __ATOMIC_RELAXED) : 0;
  *dropped = s ? __atomic_load_n(&s->dropped, __ATOMIC_RELAXED) : 0;
  *forwarded = s ? __atomic_load_n(&s->forwarded, __ATOMIC_RELAXED) : 0;
}

void fsk__dnsstub_stop(fsk__dnsstub_t *s) {
  int f, i;

  if (s == NULL)
    return;
  __atomic_store_n(&s->stopping, 1, __ATOMIC_RELEASE);
  if (s->running) {
    if (write(s->wake[1], "x", 1) < 0) {
      /* the pipe is ours and empty */
    }
    pthread_join(s->thread, NULL);
  }
  /* TCP threads look at `stopping` at least every second. */
  for (i = 0; i < 300 && __atomic_load_n(&s->tcp_threads, __ATOMIC_ACQUIRE) > 0; i++)
    usleep(10000);
  for (f = 0; f < 2; f++) {
    if (s->udp[f] >= 0)
      close(s->udp[f]);
    if (s->tcp[f] >= 0)
      close(s->tcp[f]);
    if (s->wake[f] >= 0)
      close(s->wake[f]);
  }
  if (__atomic_load_n(&s->tcp_threads, __ATOMIC_ACQUIRE) == 0) {
    pthread_mutex_destroy(&s->lock);
    free(s);
  } /* else a TCP thread still holds it: leave it to the process's end */
}
