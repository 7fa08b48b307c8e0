/* test_bpfconn.c - which rule sets the seccomp engine lets the kernel
 * decide (fsk__bpfconn_expressible, bpfconn.c).  Since the eBPF path is the
 * default, a rule set wrongly called expressible would be carried out by a
 * program that does not know its action or schedule (a fault silently
 * lost or changed), and one wrongly refused would cost a notification per
 * connect.  Each reason for refusing is checked on its own, with the rule
 * it names, next to the closest rule set that is expressible. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bpfconn.h"
#include "../bpf/bpfconn_abi.h"

/* Parse text (it must parse) and ask; why gets the reason. */
static int expressible(const char *text, char *why, size_t len) {
  inj_spec_t *spec = calloc(1, sizeof *spec);
  char err[256] = "";
  int rc;

  assert_non_null(spec);
  if (inj_spec_parse(text, spec, err, sizeof err) != 0)
    fail_msg("spec '%s' does not parse: %s", text, err);
  why[0] = '\0';
  rc = fsk__bpfconn_expressible(spec, why, len);
  free(spec);
  return rc;
}

static void assert_yes(const char *text) {
  char why[200];

  if (expressible(text, why, sizeof why) != 1)
    fail_msg("'%s' should be decided in the kernel, refused: %s", text, why);
}

/* Refused, with a reason that contains want. */
static void assert_no(const char *text, const char *want) {
  char why[200];

  if (expressible(text, why, sizeof why) != 0)
    fail_msg("'%s' should keep the notification path", text);
  if (strstr(why, want) == NULL)
    fail_msg("'%s': reason '%s' does not say '%s'", text, why, want);
}

/* The actions and schedules the programs carry out, on any address form. */
static void expressible_sets(void **state) {
  (void)state;
  assert_yes("connect:do=refuse");
  assert_yes("connect:addr=127.0.0.1,port=8080:do=hang");
  assert_yes("connect:addr=10.0.0.0/8:do=timeout");
  assert_yes("connect:addr=[::1]/128,port=1-52:do=refuse");
  assert_yes("connect:port=54-65535:do=errno(ENETDOWN)");
  assert_yes("connect:do=async(ECONNREFUSED)");
  assert_yes("connect:port=9:when=first(3):do=refuse");
  assert_yes("connect:port=9:when=after(2):do=hang");
  assert_yes("connect:port=9:when=every(3):do=errno(EACCES)");
  /* Rules of other ops are the notification path's: they do not stop
   * the connect rules from going to the kernel. */
  assert_yes("open:path=*.db-wal:do=errno(EMFILE);connect:port=9:do=refuse;"
             "socket:do=errno(EMFILE);bind:port=80:do=errno(EADDRINUSE)");
  assert_yes("connect:port=9:do=refuse;connect:addr=127.0.0.1:when=every(2):do=hang");
}

static void refused_action(void **state) {
  (void)state;
  assert_no("connect:port=9:do=unreachable(net)", "rule 1: only do=refuse, do=hang");
  assert_no("connect:port=9:do=unreachable(host)", "rule 1: only do=refuse");
  assert_no("connect:port=9:do=async(EHOSTUNREACH)", "rule 1: only do=refuse");
  assert_no("connect:port=9:do=reset(0)", "rule 1: only do=refuse");
  assert_no("connect:port=9:do=reset(accept)", "rule 1: only do=refuse");
  /* pass counts an observed attempt, which the programs do not keep. */
  assert_no("connect:port=9:do=pass", "rule 1: only do=refuse");
  /* The rule named is the one that cannot be said, not the first. */
  assert_no("connect:port=9:do=refuse;open:do=errno(EIO);connect:port=10:do=reset",
            "rule 3: only do=refuse");
}

static void refused_schedule(void **state) {
  (void)state;
  assert_no("connect:port=9:when=prob(0.5):do=refuse", "rule 1: only when=first/after/every");
  assert_no("connect:port=9:when=pattern(XXO):do=refuse", "rule 1: only when=first/after/every");
  assert_no("connect:port=9:when=down(2s):do=hang", "rule 1: only when=first/after/every");
  assert_no("connect:port=9:when=window(1s,2s):do=refuse", "rule 1: only when=first/after/every");
  assert_no("connect:port=9:do=refuse;connect:port=10:when=prob(0.1,7):do=refuse",
            "rule 2: only when=");
}

/* AF_UNIX connects never reach the inet programs. */
static void refused_path(void **state) {
  (void)state;
  assert_no("connect:path=/tmp/*.sock:do=errno(ECONNREFUSED)", "rule 1 matches a path (AF_UNIX)");
  assert_no("connect:port=9:do=refuse;connect:path=@abstract:do=errno(ENOENT)",
            "rule 2 matches a path");
}

/* A rule that may match port 53 would take the DNS stub's connects. */
static void refused_port53(void **state) {
  (void)state;
  assert_no("connect:port=53:do=refuse", "rule 1 covers port 53");
  assert_no("connect:addr=127.0.0.1,port=1-1024:do=hang", "rule 1 covers port 53");
  assert_no("connect:port=53-53:do=errno(EIO)", "port 53");
  assert_yes("connect:port=52:do=refuse");
  assert_yes("connect:port=54:do=refuse");
}

static void refused_no_connect_rule(void **state) {
  (void)state;
  assert_no("open:path=*.db:do=errno(EMFILE)", "no connect rule");
  assert_no("bind:port=80:do=errno(EADDRINUSE);socket:do=errno(EMFILE)", "no connect rule");
  assert_no("", "no connect rule");
}

/* The rule map has FSK_BPF_RULES slots: a spec with more rules than that
 * (INJ_MAX_RULES may grow) stays notified.  As many as the slots fit. */
static void refused_too_many(void **state) {
  inj_spec_t *spec = calloc(1, sizeof *spec);
  char text[4096], err[256], why[200];
  size_t used = 0;
  int i;

  (void)state;
  assert_non_null(spec);
  for (i = 0; i < FSK_BPF_RULES; i++)
    used += (size_t)snprintf(text + used, sizeof text - used, "%sconnect:port=%d:do=refuse",
                             i ? ";" : "", 1000 + i);
  assert_int_equal(inj_spec_parse(text, spec, err, sizeof err), 0);
  assert_int_equal(spec->nrules, FSK_BPF_RULES);
  assert_int_equal(fsk__bpfconn_expressible(spec, why, sizeof why), 1);
  spec->nrules = FSK_BPF_RULES + 1;
  assert_int_equal(fsk__bpfconn_expressible(spec, why, sizeof why), 0);
  assert_non_null(strstr(why, "more than 32 rules"));
  free(spec);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(expressible_sets), cmocka_unit_test(refused_action),
    cmocka_unit_test(refused_schedule), cmocka_unit_test(refused_path),
    cmocka_unit_test(refused_port53),   cmocka_unit_test(refused_no_connect_rule),
    cmocka_unit_test(refused_too_many),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
