/* test_dnsstub.c - the seccomp engine's DNS stub (dnsstub.c): queries
 * parsed, answers built, malformed packets refused, and one round trip per
 * decision through the running stub on loopback. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "dnsstub.h"

/* A query for name (dotted) and qtype, as a resolver sends it; its length. */
static size_t make_query(uint8_t *b, uint16_t id, const char *name, uint16_t qtype) {
  size_t off = 12;
  const char *p = name;

  memset(b, 0, 12);
  b[0] = (uint8_t)(id >> 8);
  b[1] = (uint8_t)id;
  b[2] = 0x01; /* RD */
  b[5] = 1;    /* QDCOUNT */
  while (*p != '\0') {
    const char *dot = strchr(p, '.');
    size_t l = dot != NULL ? (size_t)(dot - p) : strlen(p);

    b[off++] = (uint8_t)l;
    memcpy(b + off, p, l);
    off += l;
    p += l + (dot != NULL);
  }
  b[off++] = 0;
  b[off++] = (uint8_t)(qtype >> 8);
  b[off++] = (uint8_t)qtype;
  b[off++] = 0;
  b[off++] = 1; /* IN */
  return off;
}

static void parse_ok(void **state) {
  uint8_t b[512];
  fsk__dns_question_t q;
  size_t n = make_query(b, 0xbeef, "Db.Example.TEST", 28);

  (void)state;
  assert_int_equal(fsk__dns_parse_query(b, n, &q), 0);
  assert_int_equal(q.id, 0xbeef);
  assert_int_equal(q.qtype, 28);
  assert_int_equal(q.qclass, 1);
  assert_int_equal(q.rd, 1);
  assert_int_equal(q.qend, n);
  assert_string_equal(q.name, "db.example.test");
  /* An EDNS OPT record after the question is fine (glibc and Go send one). */
  b[11] = 1;
  memcpy(b + n, "\0\0\x29\x04\xd0\0\0\0\0\0\0", 11);
  assert_int_equal(fsk__dns_parse_query(b, n + 11, &q), 0);
  assert_int_equal(q.qend, n);
}

static void parse_malformed(void **state) {
  uint8_t b[600];
  fsk__dns_question_t q;
  size_t n = make_query(b, 7, "a.test", 1), i;
  char longname[300];

  (void)state;
  assert_int_equal(fsk__dns_parse_query(NULL, 0, &q), -EINVAL);
  assert_int_equal(fsk__dns_parse_query(b, 11, &q), -EINVAL);
  /* Every truncation of a good query is refused, and none is read past its
   * end: each sits at the end of a page followed by an inaccessible one (a
   * read beyond it is a SIGSEGV). */
  {
    long pg = sysconf(_SC_PAGESIZE);
    uint8_t *m =
      mmap(NULL, (size_t)pg * 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    assert_true(m != MAP_FAILED);
    assert_int_equal(mprotect(m + pg, (size_t)pg, PROT_NONE), 0);
    for (i = 12; i < n; i++) {
      memcpy(m + pg - i, b, i);
      assert_int_equal(fsk__dns_parse_query(m + pg - i, i, &q), -EINVAL);
    }
    /* A label longer than what is left. */
    memcpy(m + pg - 14, b, 12);
    m[pg - 2] = 40;
    m[pg - 1] = 'a';
    assert_int_equal(fsk__dns_parse_query(m + pg - 14, 14, &q), -EINVAL);
    munmap(m, (size_t)pg * 2);
  }
  /* The header still gives the id, for a FORMERR. */
  assert_int_equal(fsk__dns_parse_query(b, n - 1, &q), -EINVAL);
  assert_int_equal(q.id, 7);
  b[2] |= 0x80; /* a response */
  assert_int_equal(fsk__dns_parse_query(b, n, &q), -EINVAL);
  b[2] = 0x01 | (2 << 3); /* opcode STATUS */
  assert_int_equal(fsk__dns_parse_query(b, n, &q), -EOPNOTSUPP);
  b[2] = 0x01;
  b[5] = 2; /* two questions */
  assert_int_equal(fsk__dns_parse_query(b, n, &q), -EINVAL);
  b[5] = 0;
  assert_int_equal(fsk__dns_parse_query(b, n, &q), -EINVAL);
  b[5] = 1;
  b[7] = 1; /* an answer in a query */
  assert_int_equal(fsk__dns_parse_query(b, n, &q), -EINVAL);
  b[7] = 0;
  b[12] = 0xc0; /* a compression pointer */
  assert_int_equal(fsk__dns_parse_query(b, n, &q), -EINVAL);
  b[12] = 64; /* a label over 63 */
  assert_int_equal(fsk__dns_parse_query(b, n, &q), -EINVAL);
  b[12] = 1;
  b[13] = '.'; /* a dot inside a label */
  assert_int_equal(fsk__dns_parse_query(b, n, &q), -EINVAL);
  /* A name over 255 bytes. */
  memset(longname, 'x', sizeof longname);
  for (i = 50; i < 280; i += 51)
    longname[i] = '.';
  longname[281] = '\0';
  n = make_query(b, 7, longname, 1);
  assert_int_equal(fsk__dns_parse_query(b, n, &q), -EINVAL);
  /* The root. */
  n = make_query(b, 7, "", 2);
  assert_int_equal(fsk__dns_parse_query(b, n, &q), 0);
  assert_string_equal(q.name, ".");
}

static void answer_built(void **state) {
  uint8_t b[512], a[512];
  fsk__dns_question_t q;
  size_t n = make_query(b, 0x1234, "nx.test", 1);
  int len;

  (void)state;
  assert_int_equal(fsk__dns_parse_query(b, n, &q), 0);
  len = fsk__dns_answer(b, &q, FSK_DNS_NXDOMAIN, a, sizeof a);
  assert_int_equal(len, (int)n);
  assert_int_equal(a[0], 0x12);
  assert_int_equal(a[1], 0x34);
  assert_int_equal(a[2], 0x81);     /* QR, RD */
  assert_int_equal(a[3], 0x80 | 3); /* RA, NXDOMAIN */
  assert_int_equal(a[5], 1);        /* the question */
  assert_int_equal(a[7] | a[9] | a[11], 0);
  assert_memory_equal(a + 12, b + 12, n - 12);
  assert_int_equal(fsk__dns_answer(b, &q, FSK_DNS_SERVFAIL, a, n - 1), -EMSGSIZE);
  assert_int_equal(fsk__dns_answer(b, &q, 16, a, sizeof a), -EINVAL);
  /* A query that did not parse: the header alone. */
  assert_int_equal(fsk__dns_parse_query(b, 14, &q), -EINVAL);
  assert_int_equal(fsk__dns_answer(b, &q, FSK_DNS_FORMERR, a, sizeof a), 12);
  assert_int_equal(a[3] & 0xf, FSK_DNS_FORMERR);
  assert_int_equal(a[5], 0);
}

/* The stub's decisions by name. */
static int decide(void *ctx, const char *name, int qtype) {
  (void)ctx;
  (void)qtype;
  if (strcmp(name, "nx.test") == 0)
    return FSK_DNS_NXDOMAIN;
  if (strcmp(name, "sf.test") == 0)
    return FSK_DNS_SERVFAIL;
  if (strcmp(name, "quiet.test") == 0)
    return FSK_DNS_DROP;
  return FSK_DNS_FORWARD;
}

/* Send q to the stub over UDP; the answer's length, or -1 after 1 s. */
static int ask(int fd, const uint8_t *qb, size_t n, uint8_t *a, size_t cap) {
  struct pollfd p = {fd, POLLIN, 0};

  if (send(fd, qb, n, 0) != (ssize_t)n || poll(&p, 1, 1000) != 1)
    return -1;
  return (int)recv(fd, a, cap, 0);
}

static void stub_round_trip(void **state) {
  fsk__dnsstub_t *s = NULL;
  struct sockaddr_in lo = {.sin_family = AF_INET}, up = {.sin_family = AF_INET}, me;
  socklen_t ml = sizeof me;
  uint8_t qb[512], a[512], fwd[512];
  uint16_t port = 0;
  uint64_t answered, dropped, forwarded;
  int fd, ns, n;
  size_t qn;

  (void)state;
  assert_int_equal(fsk__dnsstub_start(&s, decide, NULL), 0);
  assert_int_equal(fsk__dnsstub_port(s, 0, SOCK_DGRAM, &port), 0);
  lo.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  lo.sin_port = htons(port);
  fd = socket(AF_INET, SOCK_DGRAM, 0);
  assert_int_equal(connect(fd, (struct sockaddr *)&lo, sizeof lo), 0);
  assert_int_equal(getsockname(fd, (struct sockaddr *)&me, &ml), 0);

  qn = make_query(qb, 1, "NX.test", 1);
  n = ask(fd, qb, qn, a, sizeof a);
  assert_int_equal(n, (int)qn);
  assert_int_equal(a[3] & 0xf, FSK_DNS_NXDOMAIN);
  qn = make_query(qb, 2, "sf.test", 28);
  n = ask(fd, qb, qn, a, sizeof a);
  assert_int_equal(a[3] & 0xf, FSK_DNS_SERVFAIL);
  assert_int_equal(a[1], 2);
  qn = make_query(qb, 3, "quiet.test", 1);
  assert_int_equal(ask(fd, qb, qn, a, sizeof a), -1); /* no answer at all */
  /* Garbage with a header: FORMERR, as a server says it. */
  memset(qb, 0, 16);
  qb[1] = 9;
  qb[5] = 1;
  n = ask(fd, qb, 16, a, sizeof a);
  assert_int_equal(n, 12);
  assert_int_equal(a[3] & 0xf, FSK_DNS_FORMERR);

  /* Unmatched names go to the nameserver routed for this client's port,
   * and its answer comes back unchanged. */
  ns = socket(AF_INET, SOCK_DGRAM, 0);
  up.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(bind(ns, (struct sockaddr *)&up, sizeof up), 0);
  ml = sizeof up;
  assert_int_equal(getsockname(ns, (struct sockaddr *)&up, &ml), 0);
  fsk__dnsstub_route(s, 0, SOCK_DGRAM, ntohs(me.sin_port), (struct sockaddr *)&up, sizeof up);
  qn = make_query(qb, 4, "real.test", 1);
  assert_int_equal(send(fd, qb, qn, 0), (ssize_t)qn);
  {
    struct pollfd p = {ns, POLLIN, 0};
    struct sockaddr_in from;
    socklen_t fl = sizeof from;
    ssize_t r;

    assert_int_equal(poll(&p, 1, 2000), 1);
    r = recvfrom(ns, fwd, sizeof fwd, 0, (struct sockaddr *)&from, &fl);
    assert_int_equal(r, (ssize_t)qn);
    assert_memory_equal(fwd, qb, qn);
    fwd[2] |= 0x80;
    fwd[3] = 0x80;
    memcpy(fwd + qn, "tail", 4); /* the relay changes nothing */
    assert_int_equal(sendto(ns, fwd, qn + 4, 0, (struct sockaddr *)&from, fl), (ssize_t)qn + 4);
  }
  {
    struct pollfd p = {fd, POLLIN, 0};
    assert_int_equal(poll(&p, 1, 2000), 1);
    n = (int)recv(fd, a, sizeof a, 0);
    assert_int_equal(n, (int)qn + 4);
    assert_memory_equal(a, fwd, qn + 4);
  }
  fsk__dnsstub_counts(s, &answered, &dropped, &forwarded);
  assert_int_equal(answered, 3);
  assert_int_equal(dropped, 1);
  assert_int_equal(forwarded, 1);
  close(ns);
  close(fd);
  fsk__dnsstub_stop(s);
}

static void stub_tcp(void **state) {
  fsk__dnsstub_t *s = NULL;
  struct sockaddr_in lo = {.sin_family = AF_INET};
  uint8_t qb[514], a[514];
  uint16_t port = 0;
  size_t qn;
  int fd;
  ssize_t got = 0;

  (void)state;
  assert_int_equal(fsk__dnsstub_start(&s, decide, NULL), 0);
  assert_int_equal(fsk__dnsstub_port(s, 0, SOCK_STREAM, &port), 0);
  lo.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  lo.sin_port = htons(port);
  fd = socket(AF_INET, SOCK_STREAM, 0);
  assert_int_equal(connect(fd, (struct sockaddr *)&lo, sizeof lo), 0);
  qn = make_query(qb + 2, 5, "nx.test", 1);
  qb[0] = 0;
  qb[1] = (uint8_t)qn;
  /* Written in two pieces: the stub reassembles the message. */
  assert_int_equal(write(fd, qb, 3), 3);
  usleep(20000);
  assert_int_equal(write(fd, qb + 3, qn - 1), (ssize_t)qn - 1);
  while (got < (ssize_t)qn + 2) {
    struct pollfd p = {fd, POLLIN, 0};
    ssize_t r;
    assert_int_equal(poll(&p, 1, 2000), 1);
    r = read(fd, a + got, sizeof a - (size_t)got);
    assert_true(r > 0);
    got += r;
  }
  assert_int_equal(a[1], qn);
  assert_int_equal(a[2 + 3] & 0xf, FSK_DNS_NXDOMAIN);
  close(fd);
  fsk__dnsstub_stop(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(parse_ok),     cmocka_unit_test(parse_malformed),
    cmocka_unit_test(answer_built), cmocka_unit_test(stub_round_trip),
    cmocka_unit_test(stub_tcp),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
