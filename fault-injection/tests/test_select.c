/* test_select.c — which calls a rule selects: address/port/path/host filters
   and the schedules (first K, after K, every N, prob with seed, outage
   pattern, monotonic window). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "inj.h"
#include "internal.h"

static inj_spec_t spec;
static char err[256];

static const inj_rule_t *rule(const char *text) {
  if (inj_spec_parse(text, &spec, err, sizeof err) != 0)
    fail_msg("spec '%s' rejected: %s", text, err);
  return &spec.rules[0];
}

static struct sockaddr_in v4(const char *a, int port) {
  struct sockaddr_in in;
  memset(&in, 0, sizeof in);
  in.sin_family = AF_INET;
  in.sin_port = htons((uint16_t)port);
  inet_pton(AF_INET, a, &in.sin_addr);
  return in;
}

static struct sockaddr_in6 v6(const char *a, int port) {
  struct sockaddr_in6 in6;
  memset(&in6, 0, sizeof in6);
  in6.sin6_family = AF_INET6;
  in6.sin6_port = htons((uint16_t)port);
  inet_pton(AF_INET6, a, &in6.sin6_addr);
  return in6;
}

#define M4(r, a, p)                                                                                \
  ({                                                                                               \
    struct sockaddr_in s_ = v4(a, p);                                                              \
    inj_match_sockaddr(r, &s_, sizeof s_);                                                         \
  })
#define M6(r, a, p)                                                                                \
  ({                                                                                               \
    struct sockaddr_in6 s_ = v6(a, p);                                                             \
    inj_match_sockaddr(r, &s_, sizeof s_);                                                         \
  })

static void test_cidr_port(void **state) {
  const inj_rule_t *r;
  (void)state;
  r = rule("connect:addr=127.0.0.1/8,port=9:do=refuse");
  assert_true(M4(r, "127.0.0.1", 9));
  assert_true(M4(r, "127.200.3.4", 9));
  assert_false(M4(r, "128.0.0.1", 9));
  assert_false(M4(r, "127.0.0.1", 10));
  assert_false(M6(r, "::1", 9));
  assert_true(M6(r, "::ffff:127.0.0.1", 9)); /* v4-mapped on a dual-stack socket */
  r = rule("connect:addr=10.1.2.128/25:do=refuse");
  assert_true(M4(r, "10.1.2.200", 1));
  assert_false(M4(r, "10.1.2.127", 1));
  r = rule("connect:addr=[fe80::]/10,port=1000-2000:do=refuse");
  assert_true(M6(r, "fe80::1", 1000));
  assert_true(M6(r, "febf::1", 2000));
  assert_false(M6(r, "fec0::1", 1500));
  assert_false(M6(r, "fe80::1", 2001));
  assert_false(M4(r, "10.0.0.1", 1500));
  r = rule("connect:port=9:do=refuse"); /* no addr: any inet/inet6 */
  assert_true(M4(r, "1.2.3.4", 9));
  assert_true(M6(r, "::1", 9));
  assert_false(inj_match_sockaddr(r, NULL, 0));
}

static void test_unix_path(void **state) {
  struct sockaddr_un un;
  const inj_rule_t *r;
  (void)state;
  memset(&un, 0, sizeof un);
  un.sun_family = AF_UNIX;
  strcpy(un.sun_path, "/run/app/api.sock");
  r = rule("connect:do=refuse"); /* inet rules ignore AF_UNIX */
  assert_false(inj_match_sockaddr(r, &un, sizeof un));
  r = rule("connect:path=/run/*.sock:do=errno(ECONNREFUSED)");
  assert_true(inj_match_sockaddr(r, &un, sizeof un));
  assert_false(M4(r, "127.0.0.1", 80));
  memset(un.sun_path, 0, sizeof un.sun_path);
  memcpy(un.sun_path, "\0abstract", 9);
  r = rule("connect:path=@abs*:do=errno(ECONNREFUSED)");
  assert_true(inj_match_sockaddr(r, &un, offsetof(struct sockaddr_un, sun_path) + 9));
}

static void test_glob(void **state) {
  (void)state;
  assert_true(inj_glob_match("*.db-wal", "/tmp/x/responses.db-wal"));
  assert_false(inj_glob_match("*.db-wal", "/tmp/x/responses.db"));
  assert_true(inj_glob_match("*.example", "api.example"));
  assert_false(inj_glob_match("*.example", "example"));
  assert_true(inj_glob_match("h?st[0-9]", "host7"));
  assert_false(inj_glob_match("h?st[!0-9]", "host7"));
  assert_true(inj_glob_match("*", ""));
  assert_true(inj_glob_match("a*b*c", "aXXbYYc"));
  assert_false(inj_glob_match("a*b*c", "aXXbYY"));
  assert_true(inj_glob_match("localhost", "localhost"));
  /* A set that never closes matches nothing and must stop at the NUL
   * (found by fuzz_spec: the pattern "'/[" read past its end). */
  assert_false(inj_glob_match("'/[", "'/["));
  assert_false(inj_glob_match("[", "a"));
  assert_false(inj_glob_match("[!", "a"));
  assert_false(inj_glob_match("x[a-", "xa"));
  assert_true(inj_glob_match("[]]", "]"));
}

static unsigned count_fires(const inj_rule_t *r, uint64_t from, uint64_t to) {
  unsigned n = 0;
  for (uint64_t i = from; i < to; i++)
    n += (unsigned)inj_when_fires(r, i, 0);
  return n;
}

static void test_first_after_every(void **state) {
  const inj_rule_t *r;
  (void)state;
  r = rule("connect:when=first(3):do=refuse");
  assert_true(inj_when_fires(r, 0, 0) && inj_when_fires(r, 2, 0));
  assert_false(inj_when_fires(r, 3, 0));
  assert_int_equal(count_fires(r, 0, 100), 3);
  r = rule("connect:when=after(3):do=refuse");
  assert_false(inj_when_fires(r, 2, 0));
  assert_true(inj_when_fires(r, 3, 0));
  assert_int_equal(count_fires(r, 0, 100), 97);
  r = rule("connect:when=every(3):do=refuse");
  assert_false(inj_when_fires(r, 0, 0));
  assert_false(inj_when_fires(r, 1, 0));
  assert_true(inj_when_fires(r, 2, 0)); /* the 3rd call */
  assert_true(inj_when_fires(r, 5, 0));
  assert_int_equal(count_fires(r, 0, 99), 33);
  r = rule("connect:when=first(0):do=refuse");
  assert_int_equal(count_fires(r, 0, 10), 0);
}

static void test_prob_reproducible(void **state) {
  inj_rule_t a, b, c;
  unsigned na = 0, same = 1;
  (void)state;
  a = *rule("connect:when=prob(0.3,42):do=refuse");
  b = *rule("connect:when=prob(0.3,42):do=refuse");
  c = *rule("connect:when=prob(0.3,43):do=refuse");
  for (uint64_t i = 0; i < 10000; i++) {
    int fa = inj_when_fires(&a, i, 0);
    assert_int_equal(fa, inj_when_fires(&b, i, 0));
    if (fa != inj_when_fires(&c, i, 0))
      same = 0;
    na += (unsigned)fa;
  }
  assert_false(same);              /* the seed matters */
  assert_in_range(na, 2800, 3200); /* ~30 % (binomial sd ~46) */
  /* The n-th decision depends on n only, not on the order of evaluation. */
  assert_int_equal(inj_when_fires(&a, 777, 0), inj_when_fires(&b, 777, 0));
  assert_int_equal(count_fires(rule("connect:when=prob(0):do=refuse"), 0, 1000), 0);
  assert_int_equal(count_fires(rule("connect:when=prob(1):do=refuse"), 0, 1000), 1000);
  assert_true(inj__prob_draw(42, 0) != inj__prob_draw(42, 1));
}

static void test_pattern(void **state) {
  const inj_rule_t *r;
  const char *want = "XXOXOXXOXOXX";
  (void)state;
  r = rule("connect:when=pattern(XXOXO):do=refuse");
  for (uint64_t i = 0; i < strlen(want); i++)
    assert_int_equal(inj_when_fires(r, i, 0), want[i] == 'X');
  assert_int_equal(count_fires(r, 0, 50), 30);
}

static void test_window(void **state) {
  const inj_rule_t *r;
  const uint64_t s = 1000000000u;
  (void)state;
  r = rule("connect:when=down(2):do=refuse");
  assert_true(inj_when_fires(r, 0, 0));
  assert_true(inj_when_fires(r, 99, 2 * s - 1));
  assert_false(inj_when_fires(r, 100, 2 * s));
  assert_false(inj_when_fires(r, 0, 100 * s));
  r = rule("connect:when=window(1,3):do=refuse");
  assert_false(inj_when_fires(r, 0, s / 2));
  assert_true(inj_when_fires(r, 0, s));
  assert_true(inj_when_fires(r, 0, 3 * s - 1));
  assert_false(inj_when_fires(r, 0, 3 * s));
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_cidr_port),
    cmocka_unit_test(test_unix_path),
    cmocka_unit_test(test_glob),
    cmocka_unit_test(test_first_after_every),
    cmocka_unit_test(test_prob_reproducible),
    cmocka_unit_test(test_pattern),
    cmocka_unit_test(test_window),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
