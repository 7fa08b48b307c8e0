/* test_leak.c - every failure path gives back every fd its adapter opened.
 *
 * Built twice: against the release library (each path must stay flat) and
 * against the regress library (GW_REGRESS), where for each regress choice
 * the chosen path must be SEEN to leak and the other two must stay flat.
 * The second build is what proves the first can fail.
 */
#include "fixture.h"

typedef struct {
  const char *path;   /* the failure path's name */
  const char *script; /* startup failure, then the path's outcome forever */
  gw_outcome_t outcome;
  int leak_per_cycle; /* fds an undisposed adapter of this case keeps */
} path_case_t;

/* Exception comes four ways: a synchronous connect errno, an asynchronous
 * error, a store that fails half-way through opening, a connect timeout. */
static const path_case_t cases[] = {
  /* db and -wal; the -shm is shared per process and inode */
  {"fatal", "RF", GW_OUTCOME_FATAL, 2},         {"retryable", "RR", GW_OUTCOME_RETRYABLE, 2},
  {"exception", "RE", GW_OUTCOME_EXCEPTION, 2}, {"exception", "RA", GW_OUTCOME_EXCEPTION, 2},
  {"exception", "RP", GW_OUTCOME_EXCEPTION, 1}, /* stopped before the WAL */
  {"exception", "RH", GW_OUTCOME_EXCEPTION, 2},
};

#define WARMUP 3
#define CYCLES 20

/* One reconnect cycle: the attempt's deadline comes due, the attempt runs to
 * its outcome, the adapter is disposed, the loop goes quiet. */
static void cycle(const path_case_t *c) {
  if (c->outcome == GW_OUTCOME_FATAL && fx_status(&fx, "p").state == GW_PLATFORM_FATAL)
    assert_int_equal(gw_runner_retry(fx.r, "p"), 0); /* fatal leaves the queue */
  fx_settle(&fx);
  while (fx_status(&fx, "p").in_flight || !fx_status(&fx, "p").queued) {
    if (fx_status(&fx, "p").state == GW_PLATFORM_FATAL)
      return;
    assert_int_equal(fx_step(&fx), 0);
  }
  assert_int_equal(fx_step(&fx), 0);
  while (fx_status(&fx, "p").in_flight)
    assert_int_equal(fx_step(&fx), 0); /* the hang: jump to its timeout */
}

/* Returns the fds gained over CYCLES cycles after WARMUP, and checks that
 * every attempt was disposed of exactly once. */
static int run_path(const path_case_t *c, int expect_disposed) {
  gw_test_adapter_stats_t s;
  gw_platform_status_t st;
  int before, after, i;
  uint64_t first;

  fx_setup(&fx);
  fx_add(&fx, "p", c->script);
  assert_int_equal(gw_runner_start(fx.r), 0);
  fx_settle(&fx);
  first = fx_status(&fx, "p").outcomes[c->outcome]; /* the startup failure's */
  for (i = 0; i < WARMUP; i++)
    cycle(c);
  before = gw_fd_count();
  for (i = 0; i < CYCLES; i++)
    cycle(c);
  after = gw_fd_count();

  st = fx_status(&fx, "p");
  assert_int_equal(st.outcomes[c->outcome] - first, WARMUP + CYCLES);
  gw_test_adapter_stats(&s);
  if (expect_disposed) {
    /* Disposal ran exactly once for every adapter of a failed attempt. */
    assert_int_equal(s.live, 0);
    assert_int_equal(s.disconnects, s.created);
    assert_int_equal(s.disconnect_calls, s.created);
  }
  fx_teardown(&fx);
  return after - before;
}

#ifndef GW_REGRESS

static void test_each_path_is_flat(void **state) {
  size_t i;

  for (i = 0; i < FX_ARRAY_SIZE(cases); i++) {
    int gained = run_path(&cases[i], 1);
    printf("# %-9s %s: %+d fds over %d cycles\n", cases[i].path, cases[i].script, gained, CYCLES);
    assert_int_equal(gained, 0);
  }
}

static void test_dispose_missing_or_half_created(void **state) {
  fx_t *f = &fx;
  gw_test_adapter_stats_t s;
  int before;

  /* Disposing of an adapter that does not exist is a no-op. */
  assert_int_equal(gw_adapter_disconnect(NULL, NULL), 0);

  /* Open failing half-way leaves the db open; disconnect releases it. */
  fx_setup(f);
  fx_add(f, "p", "P");
  before = gw_fd_count();
  assert_int_equal(gw_runner_start(f->r), 0);
  fx_settle(f);
  assert_int_equal(gw_fd_count(), before);
  gw_test_adapter_stats(&s);
  assert_int_equal(s.created, 1);
  assert_int_equal(s.opened, 0);
  assert_int_equal(s.live, 0);
  assert_int_equal(fx_status(f, "p").outcomes[GW_OUTCOME_EXCEPTION], 1);
  fx_teardown(f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_each_path_is_flat),
    cmocka_unit_test(test_dispose_missing_or_half_created),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

#else /* GW_REGRESS */

static void check_regress(const char *choice) {
  size_t i;

  assert_int_equal(gw_regress_set(choice), 0);
  for (i = 0; i < FX_ARRAY_SIZE(cases); i++) {
    int chosen = strcmp(cases[i].path, choice) == 0;
    int gained = run_path(&cases[i], !chosen);
    printf("# regress=%-9s path %-9s %s: %+d fds over %d cycles\n", choice, cases[i].path,
           cases[i].script, gained, CYCLES);
    if (chosen) {
      if (gained < cases[i].leak_per_cycle * CYCLES)
        fail_msg("regress %s: leak not seen on %s (%+d fds)", choice, cases[i].script, gained);
    } else {
      assert_int_equal(gained, 0);
    }
  }
  assert_int_equal(gw_regress_set("none"), 0);
}

static void test_regress_fatal_leaks_only_fatal(void **state) { check_regress("fatal"); }
static void test_regress_retryable_leaks_only_retryable(void **state) {
  check_regress("retryable");
}
static void test_regress_exception_leaks_only_exception(void **state) {
  check_regress("exception");
}
static void test_regress_rejects_unknown_path(void **state) {
  assert_int_equal(gw_regress_set("none"), 0);
  assert_int_equal(gw_regress_set("sometimes"), UV_EINVAL);
  assert_int_equal(gw_regress_set(NULL), UV_EINVAL);
  assert_int_equal(gw_regress_get(), GW_REGRESS_NONE);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_regress_fatal_leaks_only_fatal),
    cmocka_unit_test(test_regress_retryable_leaks_only_retryable),
    cmocka_unit_test(test_regress_exception_leaks_only_exception),
    cmocka_unit_test(test_regress_rejects_unknown_path),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
#endif
