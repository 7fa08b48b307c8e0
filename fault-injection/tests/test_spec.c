/* test_spec.c — the FDSOAK_INJECT parser: good specs, and every kind of bad
   spec with the exact message a user sees. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <netdb.h>
#include <string.h>
#include <sys/socket.h>

#include "inj.h"

static inj_spec_t spec; /* 32 rules of ~400 bytes: keep off the stack */
static char err[256];

static void parse_ok(const char *text) {
  int rc = inj_spec_parse(text, &spec, err, sizeof err);
  if (rc != 0)
    fail_msg("spec '%s' rejected: %s", text, err);
}

static void test_empty_is_valid(void **state) {
  (void)state;
  parse_ok("");
  assert_int_equal(spec.nrules, 0);
  assert_int_equal(spec.opmask, 0);
  parse_ok("  ;  ; ");
  assert_int_equal(spec.nrules, 0);
}

static void test_connect_refuse_first(void **state) {
  const inj_rule_t *r;
  (void)state;
  parse_ok("connect:addr=127.0.0.1/8,port=9:when=first(3):do=refuse");
  assert_int_equal(spec.nrules, 1);
  assert_int_equal(spec.opmask, 1u << INJ_OP_CONNECT);
  r = &spec.rules[0];
  assert_int_equal(r->op, INJ_OP_CONNECT);
  assert_int_equal(r->has_addr, 1);
  assert_int_equal(r->addr_family, AF_INET);
  assert_int_equal(r->prefix, 8);
  assert_int_equal(r->addr[0], 127);
  assert_int_equal(r->addr[1], 0); /* masked */
  assert_int_equal(r->port_lo, 9);
  assert_int_equal(r->port_hi, 9);
  assert_int_equal(r->when, INJ_WHEN_FIRST);
  assert_int_equal(r->k, 3);
  assert_int_equal(r->action, INJ_DO_ASYNC);
  assert_int_equal(r->code, ECONNREFUSED);
  assert_string_equal(r->text, "connect:addr=127.0.0.1/8,port=9:when=first(3):do=refuse");
}

static void test_three_rules_from_readme(void **state) {
  (void)state;
  parse_ok("connect:addr=127.0.0.1/8,port=9:when=first(3):do=refuse; "
           "open:path=*.db-wal:do=errno(EMFILE); "
           "getaddrinfo:host=*.example:do=eai(EAI_AGAIN)");
  assert_int_equal(spec.nrules, 3);
  assert_int_equal(spec.opmask,
                   (1u << INJ_OP_CONNECT) | (1u << INJ_OP_OPEN) | (1u << INJ_OP_GETADDRINFO));
  assert_string_equal(spec.rules[1].glob, "*.db-wal");
  assert_int_equal(spec.rules[1].action, INJ_DO_ERRNO);
  assert_int_equal(spec.rules[1].code, EMFILE);
  assert_int_equal(spec.rules[1].when, INJ_WHEN_ALWAYS);
  assert_string_equal(spec.rules[2].glob, "*.example");
  assert_int_equal(spec.rules[2].action, INJ_DO_EAI);
  assert_int_equal(spec.rules[2].code, EAI_AGAIN);
}

static void test_ipv6_and_ranges(void **state) {
  const inj_rule_t *r;
  (void)state;
  parse_ok("connect:addr=[::1]/128,port=8000-8099:do=async(ETIMEDOUT)");
  r = &spec.rules[0];
  assert_int_equal(r->addr_family, AF_INET6);
  assert_int_equal(r->prefix, 128);
  assert_int_equal(r->addr[15], 1);
  assert_int_equal(r->port_lo, 8000);
  assert_int_equal(r->port_hi, 8099);
  /* async(ETIMEDOUT) is the real timeout: the hang mechanism */
  assert_int_equal(r->action, INJ_DO_HANG);
  assert_int_equal(r->code, ETIMEDOUT);
  parse_ok("connect:do=timeout;connect:do=unreachable(net);connect:do=async(EHOSTUNREACH);"
           "connect:do=reset;connect:do=reset(100);connect:do=async(ECONNREFUSED)");
  assert_int_equal(spec.rules[0].action, INJ_DO_HANG);
  assert_int_equal(spec.rules[1].action, INJ_DO_UNREACH);
  assert_int_equal(spec.rules[1].code, ENETUNREACH);
  assert_int_equal(spec.rules[2].action, INJ_DO_UNREACH);
  assert_int_equal(spec.rules[2].code, EHOSTUNREACH);
  assert_int_equal(spec.rules[3].action, INJ_DO_RESET);
  assert_int_equal(spec.rules[3].arg, 0);
  assert_int_equal(spec.rules[4].arg, 100);
  /* reset's byte count is not the schedule's k (they once shared a field:
     when=first(3):do=reset made first(0), which never fires) */
  parse_ok("connect:when=first(3):do=reset;connect:do=reset(7):when=every(2)");
  assert_int_equal(spec.rules[0].k, 3);
  assert_int_equal(spec.rules[0].arg, 0);
  assert_int_equal(spec.rules[1].k, 2);
  assert_int_equal(spec.rules[1].arg, 7);
  /* reset(accept): the server resets at accept, before the client speaks */
  parse_ok("connect:do=reset(accept);connect:do=reset( accept )");
  assert_int_equal(spec.rules[0].action, INJ_DO_RESET);
  assert_int_equal(spec.rules[0].arg, INJ_RESET_AT_ACCEPT);
  assert_int_equal(spec.rules[1].arg, INJ_RESET_AT_ACCEPT);
  parse_ok("getaddrinfo:do=eai(EAI_AGAIN, 1.5s);getaddrinfo:do=eai(EAI_NONAME)");
  assert_int_equal(spec.rules[0].code, EAI_AGAIN);
  assert_int_equal(spec.rules[0].arg, 1500000000ull);
  assert_int_equal(spec.rules[1].code, EAI_NONAME);
  assert_int_equal(spec.rules[1].arg, 0);
  assert_int_equal(spec.rules[5].action, INJ_DO_ASYNC);
  assert_int_equal(spec.rules[5].code, ECONNREFUSED);
  parse_ok("connect:addr=[fe80::]/10:do=hang");
  assert_int_equal(spec.rules[0].prefix, 10);
  assert_int_equal(spec.rules[0].action, INJ_DO_HANG);
  parse_ok("connect:addr=[::1]:do=errno(ENETUNREACH)");
  assert_int_equal(spec.rules[0].prefix, 128);
  parse_ok("bind:addr=0.0.0.0/0:do=errno(EADDRINUSE)");
  assert_int_equal(spec.rules[0].prefix, 0);
}

static void test_schedules(void **state) {
  (void)state;
  parse_ok("connect:when=always:do=refuse");
  assert_int_equal(spec.rules[0].when, INJ_WHEN_ALWAYS);
  parse_ok("connect:when=after(2):do=refuse");
  assert_int_equal(spec.rules[0].when, INJ_WHEN_AFTER);
  assert_int_equal(spec.rules[0].k, 2);
  parse_ok("connect:when=every(4):do=refuse");
  assert_int_equal(spec.rules[0].when, INJ_WHEN_EVERY);
  parse_ok("connect:when=prob(0.25,42):do=refuse");
  assert_int_equal(spec.rules[0].when, INJ_WHEN_PROB);
  assert_int_equal(spec.rules[0].seed, 42);
  assert_true(spec.rules[0].prob_threshold == UINT64_C(1) << 62);
  parse_ok("connect:when=prob(0.5):do=refuse");
  assert_int_equal(spec.rules[0].seed, 1);
  parse_ok("connect:when=prob(1):do=refuse");
  assert_int_equal(spec.rules[0].prob_always, 1);
  parse_ok("connect:when=pattern(XXOXO):do=refuse");
  assert_int_equal(spec.rules[0].pattern_len, 5);
  assert_string_equal(spec.rules[0].pattern, "XXOXO");
  parse_ok("connect:when=down(1.5):do=refuse");
  assert_int_equal(spec.rules[0].when, INJ_WHEN_WINDOW);
  assert_true(spec.rules[0].win_start_ns == 0);
  assert_true(spec.rules[0].win_end_ns == UINT64_C(1500000000));
  parse_ok("connect:when=down(250ms):do=refuse");
  assert_true(spec.rules[0].win_end_ns == UINT64_C(250000000));
  parse_ok("connect:when=window(2s,5):do=refuse");
  assert_true(spec.rules[0].win_start_ns == UINT64_C(2000000000));
  assert_true(spec.rules[0].win_end_ns == UINT64_C(5000000000));
}

static void test_other_ops(void **state) {
  (void)state;
  parse_ok("socket:family=inet6,type=stream:when=first(1):do=errno(EMFILE)");
  assert_int_equal(spec.rules[0].sock_family, AF_INET6);
  assert_int_equal(spec.rules[0].sock_type, SOCK_STREAM);
  parse_ok("getaddrinfo:do=errno(ENOMEM)");
  assert_int_equal(spec.rules[0].action, INJ_DO_ERRNO);
  parse_ok("connect:path=/run/*.sock:do=errno(ECONNREFUSED)");
  assert_string_equal(spec.rules[0].glob, "/run/*.sock");
  parse_ok("open : path = *.db-shm , when = every(2) , do = errno(111)");
  assert_int_equal(spec.rules[0].code, 111);
  assert_int_equal(spec.rules[0].k, 2);
  /* pass observes any op: the call goes through and counts as an attempt */
  parse_ok("connect:addr=127.0.0.1,port=5432:do=pass");
  assert_int_equal(spec.rules[0].action, INJ_DO_PASS);
  parse_ok("open:path=*.db:when=every(3):do=pass");
  assert_int_equal(spec.rules[0].action, INJ_DO_PASS);
}

static void test_max_rules(void **state) {
  char buf[2048] = "";
  (void)state;
  for (int i = 0; i < INJ_MAX_RULES; i++)
    strcat(buf, "open:do=errno(EIO);");
  parse_ok(buf);
  assert_int_equal(spec.nrules, INJ_MAX_RULES);
  strcat(buf, "open:do=errno(EIO)");
  assert_int_equal(inj_spec_parse(buf, &spec, err, sizeof err), -EINVAL);
  assert_string_equal(err, "rule 33: too many rules (at most 32) near 'open:do=errno(EIO)'");
}

struct bad {
  const char *spec;
  const char *msg;
};

static const struct bad bad_specs[] = {
  {"conect:do=refuse",
   "rule 1: unknown operation (connect, bind, socket, getaddrinfo, open) near 'conect'"},
  {"connect:do=refuse;;open:when=first(1)", "rule 2: missing do=ACTION near 'open:when=first(1)'"},
  {"connect:port=9", "rule 1: missing do=ACTION near 'connect:port=9'"},
  {"connect:port:do=refuse", "rule 1: expected KEY=VALUE near 'port'"},
  {"connect:colour=red:do=refuse",
   "rule 1: unknown key (addr, port, path, host, family, type, when, do) near 'colour=red'"},
  {"connect:port=9:port=10:do=refuse", "rule 1: key given twice near 'port=10'"},
  {"connect:port=:do=refuse", "rule 1: empty value near 'port='"},
  {"connect::do=refuse", "rule 1: empty field near 'do=refuse'"},
  {"connect:addr=300.1.1.1:do=refuse", "rule 1: bad IPv4 address near '300.1.1.1'"},
  {"connect:addr=10.0.0.0/33:do=refuse", "rule 1: prefix length must be 0..32 near '10.0.0.0/33'"},
  {"connect:addr=[::1]/129:do=refuse", "rule 1: prefix length must be 0..128 near '[::1]/129'"},
  {"connect:addr=[::g]:do=refuse", "rule 1: bad IPv6 address near '[::g]'"},
  {"connect:addr=::1:do=refuse",
   "rule 1: empty address (write IPv6 in brackets, e.g. addr=[::1]/128) near ''"},
  {"connect:addr=[::1:do=refuse",
   "rule 1: unbalanced brackets or parentheses near 'connect:addr=[::1:do=refuse'"},
  {"connect:port=70000:do=refuse", "rule 1: port must be 0..65535 near '70000'"},
  {"connect:port=90-80:do=refuse", "rule 1: port range is reversed near '90-80'"},
  {"connect:port=a-b:do=refuse",
   "rule 1: port range must be N-M with 0 <= N <= M <= 65535 near 'a-b'"},
  {"connect:when=sometimes:do=refuse",
   "rule 1: unknown schedule (always, first(K), after(K), every(N), prob(P[,SEED]), "
   "pattern(XO..), down(T), window(A,B)) near 'sometimes'"},
  {"connect:when=first(x):do=refuse", "rule 1: expected a whole number near 'first(x)'"},
  {"connect:when=first(3:do=refuse",
   "rule 1: unbalanced brackets or parentheses near 'connect:when=first(3:do=refuse'"},
  {"connect:when=first(3)x:do=refuse", "rule 1: expected NAME(ARGS) near 'first(3)x'"},
  {"connect:when=always(1):do=refuse", "rule 1: always takes no argument near 'always(1)'"},
  {"connect:when=every(0):do=refuse", "rule 1: every(N) needs N >= 1 near 'every(0)'"},
  {"connect:when=prob(1.5):do=refuse",
   "rule 1: probability must be a number in 0..1 near 'prob(1.5)'"},
  {"connect:when=prob(0.5,abc):do=refuse",
   "rule 1: seed must be a whole number near 'prob(0.5,abc)'"},
  {"connect:when=pattern(XXAX):do=refuse",
   "rule 1: outage pattern may hold only X (fail) and O (pass) near 'pattern(XXAX)'"},
  {"connect:when=pattern():do=refuse", "rule 1: empty outage pattern near 'pattern()'"},
  {"connect:when=down(soon):do=refuse",
   "rule 1: down(T) needs a duration like 30, 1.5s or 250ms near 'down(soon)'"},
  {"connect:when=window(5,2):do=refuse", "rule 1: window end before its start near 'window(5,2)'"},
  {"connect:when=window(5):do=refuse", "rule 1: window(A,B) needs two durations near 'window(5)'"},
  /* longer than a year does not fit the nanosecond clock (fuzz_spec) */
  {"connect:when=window(0,77777777777):do=refuse",
   "rule 1: window(A,B) needs two durations near 'window(0,77777777777)'"},
  {"connect:when=down(31536001):do=refuse",
   "rule 1: down(T) needs a duration like 30, 1.5s or 250ms near 'down(31536001)'"},
  {"connect:do=explode",
   "rule 1: unknown action (errno(E), refuse, hang, timeout, unreachable(net|host), "
   "reset[(N|accept)], async(E), eai(EAI_X[,T]), pass) near 'explode'"},
  {"connect:do=async(ECONNRESET)",
   "rule 1: async(E) models ECONNREFUSED, ETIMEDOUT, ENETUNREACH or EHOSTUNREACH "
   "(reset for an accepted-then-reset peer, errno(E) for a synchronous failure) "
   "near 'async(ECONNRESET)'"},
  {"connect:do=unreachable(port)",
   "rule 1: unreachable(net) or unreachable(host) near 'unreachable(port)'"},
  {"connect:do=reset(-1)",
   "rule 1: reset(N) needs a byte count (or reset(accept)) near 'reset(-1)'"},
  {"connect:do=reset(accepted)",
   "rule 1: reset(N) needs a byte count (or reset(accept)) near 'reset(accepted)'"},
  {"connect:do=pass(1)", "rule 1: this action takes no argument near 'pass(1)'"},
  {"connect:do=errno(ENOTANERRNO)", "rule 1: unknown errno (use a name such as ECONNREFUSED, or a "
                                    "number) near 'errno(ENOTANERRNO)'"},
  {"connect:do=refuse(1)", "rule 1: this action takes no argument near 'refuse(1)'"},
  {"getaddrinfo:do=eai(EAI_AGAIN,soon)", "rule 1: eai(EAI_X,T): T is a delay up to 600 s, like 1, "
                                         "1.5s or 250ms near 'eai(EAI_AGAIN,soon)'"},
  {"getaddrinfo:do=eai(EAI_AGAIN,601)", "rule 1: eai(EAI_X,T): T is a delay up to 600 s, like 1, "
                                        "1.5s or 250ms near 'eai(EAI_AGAIN,601)'"},
  {"getaddrinfo:do=eai(EAI_WHAT)",
   "rule 1: unknown EAI code (EAI_AGAIN, EAI_FAIL, EAI_NONAME, ...) near 'eai(EAI_WHAT)'"},
  {"open:path=*.db:do=refuse", "rule 1: refuse/hang/timeout/unreachable/reset/async apply only to "
                               "connect near 'open:path=*.db:do=refuse'"},
  {"bind:do=hang",
   "rule 1: refuse/hang/timeout/unreachable/reset/async apply only to connect near 'bind:do=hang'"},
  {"connect:do=eai(EAI_AGAIN)",
   "rule 1: eai(...) applies only to getaddrinfo near 'connect:do=eai(EAI_AGAIN)'"},
  {"open:host=x:do=errno(EIO)", "rule 1: host applies only to getaddrinfo near 'host=x'"},
  {"getaddrinfo:port=53:do=eai(EAI_FAIL)",
   "rule 1: addr/port apply only to connect and bind near 'port=53'"},
  {"socket:path=/x:do=errno(EMFILE)",
   "rule 1: path applies only to open (and AF_UNIX connect/bind) near 'path=/x'"},
  {"connect:family=inet:do=refuse", "rule 1: family/type apply only to socket near 'family=inet'"},
  {"socket:family=ipx:do=errno(EMFILE)",
   "rule 1: family must be inet, inet6 or unix near 'family=ipx'"},
  {"socket:type=raw:do=errno(EMFILE)", "rule 1: type must be stream or dgram near 'type=raw'"},
  {"connect:path=/a:port=1:do=refuse", "rule 1: path (AF_UNIX) cannot be combined with addr/port "
                                       "near 'connect:path=/a:port=1:do=refuse'"},
};

static void test_bad_specs(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof bad_specs / sizeof *bad_specs; i++) {
    int rc = inj_spec_parse(bad_specs[i].spec, &spec, err, sizeof err);
    if (rc != -EINVAL)
      fail_msg("spec '%s' accepted", bad_specs[i].spec);
    if (strcmp(err, bad_specs[i].msg))
      fail_msg("spec '%s'\n  got  '%s'\n  want '%s'", bad_specs[i].spec, err, bad_specs[i].msg);
  }
}

static void test_long_glob_and_spec(void **state) {
  char buf[INJ_SPEC_MAX + 64];
  (void)state;
  strcpy(buf, "open:path=");
  memset(buf + 10, 'a', 200);
  strcpy(buf + 210, ":do=errno(EIO)");
  assert_int_equal(inj_spec_parse(buf, &spec, err, sizeof err), -EINVAL);
  assert_non_null(strstr(err, "rule 1: pattern longer than 127 bytes near 'path=aaa"));
  memset(buf, ';', sizeof buf - 1);
  buf[sizeof buf - 1] = '\0';
  assert_int_equal(inj_spec_parse(buf, &spec, err, sizeof err), -EINVAL);
  assert_non_null(strstr(err, "spec longer than 8192 bytes"));
}

static void test_names(void **state) {
  (void)state;
  assert_string_equal(inj_op_name(INJ_OP_OPEN), "open");
  assert_string_equal(inj_op_name(99), "?");
  assert_string_equal(inj_errno_name(ECONNREFUSED), "ECONNREFUSED");
  assert_string_equal(inj_eai_name(EAI_AGAIN), "EAI_AGAIN");
  assert_null(inj_errno_name(9999));
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_empty_is_valid),
    cmocka_unit_test(test_connect_refuse_first),
    cmocka_unit_test(test_three_rules_from_readme),
    cmocka_unit_test(test_ipv6_and_ranges),
    cmocka_unit_test(test_schedules),
    cmocka_unit_test(test_other_ops),
    cmocka_unit_test(test_max_rules),
    cmocka_unit_test(test_bad_specs),
    cmocka_unit_test(test_long_glob_and_spec),
    cmocka_unit_test(test_names),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
