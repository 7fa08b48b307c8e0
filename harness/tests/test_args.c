/* test_args.c - the flag-table parser every fdsoak verb uses (args.c):
 * both value forms, a missing or empty value, an unknown flag (and an
 * abbreviation, which getopt_long would take), a repeated flag, `--`,
 * operands, ranges, callbacks, and the help printed from the table. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "args.h"
#include "fsk.h"

typedef struct {
  long cycles;
  double period;
  long truncated;
  const char *name;
  char out[PATH_MAX];
  int quiet;
  int mode;
} opts_t;

static int set_mode(void *opts, const char *v, char *why, size_t len) {
  if (strcmp(v, "fast") == 0 || strcmp(v, "slow") == 0) {
    ((opts_t *)opts)->mode = v[0];
    return 0;
  }
  snprintf(why, len, "--mode: '%s' is not fast or slow", v);
  return -1;
}

static const fsk__flag_t flags[] = {
  {"--cycles", NULL, FSK_ARG_LONG, "N", offsetof(opts_t, cycles), 2, 1000, NULL, "cycles", 0},
  {"--period", NULL, FSK_ARG_REAL, "S", offsetof(opts_t, period), 0.5, 10, NULL, "period", 0},
  {"--trunc", NULL, FSK_ARG_REAL_LONG, "N", offsetof(opts_t, truncated), 1, 100, NULL, "t", 0},
  {"--name", NULL, FSK_ARG_STR, "NAME", offsetof(opts_t, name), 0, 0, NULL,
   "a name\nits second line", 0},
  {"--out", NULL, FSK_ARG_PATH, "DIR", offsetof(opts_t, out), 0, 0, NULL, "where", 0},
  {"--quiet", "-q", FSK_ARG_BOOL, NULL, offsetof(opts_t, quiet), 0, 0, NULL, "quiet", 0},
  {"--mode", NULL, FSK_ARG_CALL, "fast|slow", 0, 0, 0, set_mode, "mode", 0},
  {"--secret-looking-but-hidden", NULL, FSK_ARG_BOOL, NULL, offsetof(opts_t, quiet), 0, 0, NULL,
   "not in the brackets", 1},
  {NULL, NULL, 0, NULL, 0, 0, 0, NULL, NULL, 0},
};

static const fsk__verb_t verb = {"try", flags, "FILE...", 0, "  about it\n", "exit: 0 or 2\n"};
static const fsk__verb_t cmd_verb = {"cmdv", flags, NULL, 1, NULL, NULL};

/* stderr and stdout of one parse, captured through files. */
static char err_text[4096], out_text[8192];

static int parse(const fsk__verb_t *v, opts_t *o, fsk__args_t *a, int argc, ...) {
  static char *argv[32]; /* a.pos and a.cmd point into it after the return */
  FILE *ef = tmpfile(), *of = tmpfile();
  int saved_err = dup(2), saved_out = dup(1), rc, i;
  size_t n;
  va_list ap;

  va_start(ap, argc);
  for (i = 0; i < argc; i++)
    argv[i] = va_arg(ap, char *);
  va_end(ap);
  argv[argc] = NULL;
  memset(o, 0, sizeof *o);
  fflush(stdout);
  fflush(stderr);
  dup2(fileno(ef), 2);
  dup2(fileno(of), 1);
  rc = fsk__args_parse(v, argc, argv, o, a);
  fflush(stdout);
  fflush(stderr);
  dup2(saved_err, 2);
  dup2(saved_out, 1);
  close(saved_err);
  close(saved_out);
  rewind(ef);
  n = fread(err_text, 1, sizeof err_text - 1, ef);
  err_text[n] = '\0';
  rewind(of);
  n = fread(out_text, 1, sizeof out_text - 1, of);
  out_text[n] = '\0';
  fclose(ef);
  fclose(of);
  return rc;
}

static void test_value_forms(void **state) {
  opts_t o;
  fsk__args_t a;

  (void)state;
  assert_int_equal(
    parse(&verb, &o, &a, 6, "--cycles", "12", "--period=2.5", "--name", "x=y", "--out=/tmp/d"), 0);
  assert_int_equal(o.cycles, 12);
  assert_true(o.period == 2.5);
  assert_string_equal(o.name, "x=y"); /* only the first '=' splits */
  assert_string_equal(o.out, "/tmp/d");
  assert_int_equal(parse(&verb, &o, &a, 3, "-q", "--trunc", "7.9"), 0);
  assert_int_equal(o.quiet, 1);
  assert_int_equal(o.truncated, 7);
  /* A value that looks like a flag is still the value. */
  assert_int_equal(parse(&verb, &o, &a, 2, "--name", "--quiet"), 0);
  assert_string_equal(o.name, "--quiet");
  assert_int_equal(o.quiet, 0);
  assert_int_equal(parse(&verb, &o, &a, 2, "--mode", "slow"), 0);
  assert_int_equal(o.mode, 's');
  assert_true(fsk__args_seen(&verb, &a, "--mode"));
  assert_false(fsk__args_seen(&verb, &a, "--cycles"));
}

static void test_missing_value(void **state) {
  opts_t o;
  fsk__args_t a;

  (void)state;
  assert_int_equal(parse(&verb, &o, &a, 1, "--cycles"), FSK_EXIT_USAGE);
  assert_non_null(strstr(err_text, "fdsoak try: --cycles needs a value (N)"));
  assert_int_equal(parse(&verb, &o, &a, 1, "--name="), FSK_EXIT_USAGE);
  assert_non_null(strstr(err_text, "--name needs a value"));
  assert_int_equal(parse(&verb, &o, &a, 2, "--out", ""), FSK_EXIT_USAGE);
  assert_non_null(strstr(err_text, "--out needs a value"));
  assert_int_equal(parse(&verb, &o, &a, 1, "--quiet=1"), FSK_EXIT_USAGE);
  assert_non_null(strstr(err_text, "--quiet takes no value"));
}

static void test_bad_values(void **state) {
  opts_t o;
  fsk__args_t a;

  (void)state;
  assert_int_equal(parse(&verb, &o, &a, 2, "--cycles", "ten"), FSK_EXIT_USAGE);
  assert_non_null(strstr(err_text, "--cycles: 'ten' is not a whole number in 2..1000"));
  assert_int_equal(parse(&verb, &o, &a, 2, "--cycles", "1"), FSK_EXIT_USAGE);
  assert_int_equal(parse(&verb, &o, &a, 2, "--cycles", "3.5"), FSK_EXIT_USAGE);
  assert_int_equal(parse(&verb, &o, &a, 2, "--period", "nan"), FSK_EXIT_USAGE);
  assert_non_null(strstr(err_text, "--period: 'nan' is not a number in 0.5..10"));
  assert_int_equal(parse(&verb, &o, &a, 2, "--mode", "medium"), FSK_EXIT_USAGE);
  assert_non_null(strstr(err_text, "fdsoak try: --mode: 'medium' is not fast or slow"));
}

static void test_unknown_flag(void **state) {
  opts_t o;
  fsk__args_t a;

  (void)state;
  assert_int_equal(parse(&verb, &o, &a, 1, "--turbo"), FSK_EXIT_USAGE);
  assert_non_null(strstr(err_text, "fdsoak try: unknown flag '--turbo' (see fdsoak try --help)"));
  /* No abbreviations: getopt_long would take --cyc for --cycles. */
  assert_int_equal(parse(&verb, &o, &a, 2, "--cyc", "5"), FSK_EXIT_USAGE);
  assert_non_null(strstr(err_text, "unknown flag '--cyc'"));
  assert_int_equal(parse(&verb, &o, &a, 1, "--turbo=on"), FSK_EXIT_USAGE);
  assert_non_null(strstr(err_text, "unknown flag '--turbo'"));
  assert_int_equal(parse(&verb, &o, &a, 1, "-x"), FSK_EXIT_USAGE);
  /* A verb without operands names the stray word. */
  assert_int_equal(parse(&cmd_verb, &o, &a, 1, "stray"), FSK_EXIT_USAGE);
  assert_non_null(strstr(err_text, "unexpected 'stray'"));
}

static void test_repeated_flag(void **state) {
  opts_t o;
  fsk__args_t a;

  (void)state;
  assert_int_equal(parse(&verb, &o, &a, 4, "--cycles", "5", "--cycles=9"), 0);
  assert_int_equal(o.cycles, 9); /* the last one wins */
  /* The first is still checked. */
  assert_int_equal(parse(&verb, &o, &a, 4, "--cycles", "x", "--cycles", "9"), FSK_EXIT_USAGE);
}

static void test_dash_dash_and_operands(void **state) {
  opts_t o;
  fsk__args_t a;

  (void)state;
  /* Operands anywhere among the flags, in order; `--` ends the flags. */
  assert_int_equal(parse(&verb, &o, &a, 6, "f1", "--cycles", "4", "f2", "--", "--cycles"), 0);
  assert_int_equal(a.npos, 3);
  assert_string_equal(a.pos[0], "f1");
  assert_string_equal(a.pos[1], "f2");
  assert_string_equal(a.pos[2], "--cycles");
  assert_int_equal(o.cycles, 4);
  assert_null(a.cmd);
  /* A verb with a command: what follows `--` is the command, unparsed
   * (its --help is not ours). */
  assert_int_equal(parse(&cmd_verb, &o, &a, 5, "-q", "--", "prog", "--help", "--cycles"), 0);
  assert_int_equal(a.ncmd, 3);
  assert_string_equal(a.cmd[0], "prog");
  assert_string_equal(a.cmd[1], "--help");
  assert_int_equal(o.quiet, 1);
  assert_string_equal(out_text, "");
  /* A lone '-' is an operand (stdin, by convention), not a flag. */
  assert_int_equal(parse(&verb, &o, &a, 1, "-"), 0);
  assert_int_equal(a.npos, 1);
}

static void test_help(void **state) {
  opts_t o;
  fsk__args_t a;

  (void)state;
  /* Help wins wherever it is before `--`, even after a bad flag. */
  assert_int_equal(parse(&verb, &o, &a, 2, "--turbo", "--help"), 1);
  assert_string_equal(err_text, "");
  assert_non_null(strstr(out_text, "usage: fdsoak try [--cycles N] [--period S] [--trunc N]"));
  /* Every flag of the table, with its value's name, and its help lines. */
  assert_non_null(strstr(out_text, "  --cycles N "));
  assert_non_null(strstr(out_text, "  -q, --quiet "));
  assert_non_null(strstr(out_text, "  --mode fast|slow "));
  assert_non_null(strstr(out_text, "a name\n                     its second line\n"));
  assert_non_null(strstr(out_text, "FILE...\n  about it\n"));
  assert_non_null(strstr(out_text, "exit: 0 or 2\n"));
  /* A hidden flag is in the list but not in the synopsis's brackets. */
  assert_null(strstr(out_text, "[--secret-looking-but-hidden]"));
  assert_non_null(strstr(out_text, "  --secret-looking-but-hidden\n"));
  assert_int_equal(parse(&verb, &o, &a, 1, "-h"), 1);
  /* Synopsis lines wrap at 80 columns. */
  {
    const char *p = out_text, *nl;

    while ((nl = strchr(p, '\n')) != NULL) {
      if (strncmp(p, "  ", 2) != 0 || p == out_text)
        assert_true(nl - p <= 80);
      p = nl + 1;
    }
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_value_forms),   cmocka_unit_test(test_missing_value),
    cmocka_unit_test(test_bad_values),    cmocka_unit_test(test_unknown_flag),
    cmocka_unit_test(test_repeated_flag), cmocka_unit_test(test_dash_dash_and_operands),
    cmocka_unit_test(test_help),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
