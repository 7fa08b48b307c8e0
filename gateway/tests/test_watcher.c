/* test_watcher.c - the reconnect watcher: the upstream scenarios, ported.
 *
 * Every test runs on the virtual clock, so the retry schedule is asserted
 * exactly in (virtual) milliseconds while the I/O underneath is real.
 */
#include "fixture.h"

/* Start the runner and let the first connect (and its disposal) finish. */
static void start(void) {
  assert_int_equal(gw_runner_start(fx.r), 0);
  fx_settle(&fx);
}

static void test_success_leaves_queue(void **state) {
  gw_platform_status_t st;

  fx_add(&fx, "p", "RO");
  start();
  st = fx_status(&fx, "p");
  assert_int_equal(st.state, GW_PLATFORM_RETRYING);
  assert_true(st.queued);
  assert_int_equal(st.attempts, 1);
  assert_int_equal(st.next_retry, 30000);

  assert_int_equal(fx_step(&fx), 0);
  st = fx_status(&fx, "p");
  assert_int_equal(st.state, GW_PLATFORM_CONNECTED);
  assert_false(st.queued);
  assert_int_equal(st.attempts, 0);
  assert_non_null(gw_runner_adapter(fx.r, "p"));
  /* Nothing left to schedule: the watcher is idle. */
  assert_int_equal(gw_clock_jump(&fx.clock), UV_EAGAIN);
}

static void test_non_retryable_leaves_with_fatal(void **state) {
  gw_platform_status_t st;

  fx_add(&fx, "p", "RF");
  start();
  assert_int_equal(fx_step(&fx), 0);
  st = fx_status(&fx, "p");
  assert_int_equal(st.state, GW_PLATFORM_FATAL);
  assert_false(st.queued);
  assert_string_equal(st.last_error_code, "invalid_token");
  assert_int_equal(st.outcomes[GW_OUTCOME_FATAL], 1);
  assert_int_equal(gw_clock_jump(&fx.clock), UV_EAGAIN);
}

static void test_retryable_stays_with_attempts_plus_one(void **state) {
  gw_platform_status_t st;

  fx_add(&fx, "p", "R");
  start();
  assert_int_equal(fx_step(&fx), 0); /* t = 30 s: attempt 2 */
  st = fx_status(&fx, "p");
  assert_int_equal(st.state, GW_PLATFORM_RETRYING);
  assert_true(st.queued);
  assert_int_equal(st.attempts, 2);
  assert_int_equal(st.next_retry, 30000 + 60000);
  assert_string_equal(st.last_error_code, "connect_failed");
}

static void assert_attempt_gaps(const char *name, size_t first, const uint64_t *gaps_s, size_t n) {
  size_t i;

  for (i = 0; i < n; i++) {
    const fx_event_t *a = fx_nth(&fx, GW_EV_ATTEMPT, name, first + i);
    const fx_event_t *b = fx_nth(&fx, GW_EV_ATTEMPT, name, first + i + 1);
    assert_non_null(a);
    assert_non_null(b);
    if (b->now - a->now != gaps_s[i] * 1000)
      fail_msg("gap %zu: %llu ms, want %llu s", i, (unsigned long long)(b->now - a->now),
               (unsigned long long)gaps_s[i]);
  }
}

static void test_schedule_from_startup(void **state) {
  static const uint64_t want[] = {30, 60, 120, 240, 300, 300};
  size_t i;

  fx_add(&fx, "p", "R");
  start();
  for (i = 0; i < FX_ARRAY_SIZE(want); i++)
    assert_int_equal(fx_step(&fx), 0);
  assert_attempt_gaps("p", 0, want, FX_ARRAY_SIZE(want));
  assert_true(fx_nth(&fx, GW_EV_ATTEMPT, "p", 0)->startup);
  assert_int_equal(fx_nth(&fx, GW_EV_ATTEMPT, "p", 3)->attempt, 4);
}

static void test_schedule_from_runtime_error(void **state) {
  static const uint64_t want[] = {0, 30, 60, 120, 240, 300};
  gw_adapter_t *a;
  size_t i;

  fx_add(&fx, "p", "OR");
  start();
  a = gw_runner_adapter(fx.r, "p");
  assert_non_null(a);
  gw_test_adapter_runtime_error(a, 1);
  assert_int_equal(fx_status(&fx, "p").attempts, 0);
  fx_settle(&fx); /* due now: retried without a jump */
  for (i = 1; i < FX_ARRAY_SIZE(want); i++)
    assert_int_equal(fx_step(&fx), 0);
  /* The connect at startup is attempt 0 here; the runtime retries follow. */
  assert_attempt_gaps("p", 1, want + 1, FX_ARRAY_SIZE(want) - 1);
  assert_int_equal(fx_nth(&fx, GW_EV_ATTEMPT, "p", 1)->attempt, 1);
  assert_int_equal(fx_nth(&fx, GW_EV_ATTEMPT, "p", 1)->now,
                   fx_nth(&fx, GW_EV_RUNTIME_ERROR, "p", 0)->now);
}

static void test_no_pause_after_25_failures(void **state) {
  gw_platform_status_t st;
  int i;

  fx_add(&fx, "p", "R");
  start();
  for (i = 0; i < 30; i++)
    assert_int_equal(fx_step(&fx), 0);
  st = fx_status(&fx, "p");
  assert_int_equal(st.attempts, 31);
  assert_false(st.paused);
  assert_int_equal(st.state, GW_PLATFORM_RETRYING);
  assert_true(st.has_next_retry);
  assert_int_equal(st.next_retry - fx_nth(&fx, GW_EV_ATTEMPT, "p", 30)->now, 300000);
}

static void test_paused_and_not_due_are_skipped(void **state) {
  fx_add(&fx, "a", "R");
  fx_add(&fx, "b", "R");
  start();
  assert_int_equal(fx_step(&fx), 0); /* t=30: both retried, next at 90 */
  assert_int_equal(fx_count(&fx, GW_EV_ATTEMPT, "a"), 2);
  assert_int_equal(fx_count(&fx, GW_EV_ATTEMPT, "b"), 2);

  /* Resume makes b due now (attempts 0): it runs at once, next at 30+30. */
  assert_int_equal(gw_runner_pause(fx.r, "b", "maintenance"), 0);
  assert_int_equal(gw_runner_resume(fx.r, "b"), 0);
  fx_settle(&fx);
  assert_int_equal(fx_count(&fx, GW_EV_ATTEMPT, "b"), 3);
  assert_int_equal(fx_status(&fx, "b").next_retry, 60000);

  assert_int_equal(fx_step(&fx), 0); /* t=60: only b; a is not yet due */
  assert_int_equal(fx.clock.vnow, 60000);
  assert_int_equal(fx_count(&fx, GW_EV_ATTEMPT, "a"), 2);
  assert_int_equal(fx_count(&fx, GW_EV_ATTEMPT, "b"), 4);

  /* A paused entry is never attempted, however long time runs. */
  assert_int_equal(gw_runner_pause(fx.r, "a", "operator"), 0);
  for (int i = 0; i < 10; i++)
    assert_int_equal(fx_step(&fx), 0);
  assert_int_equal(fx_count(&fx, GW_EV_ATTEMPT, "a"), 2);
  assert_true(fx_count(&fx, GW_EV_ATTEMPT, "b") > 4);
  assert_int_equal(fx_status(&fx, "a").state, GW_PLATFORM_PAUSED);
}

static void test_idle_watcher_creates_nothing(void **state) {
  gw_test_adapter_stats_t s;
  int i;

  fx_add(&fx, "p", "O");
  start();
  for (i = 0; i < 50; i++) {
    assert_int_equal(gw_clock_jump(&fx.clock), UV_EAGAIN);
    fx_settle(&fx);
  }
  gw_test_adapter_stats(&s);
  assert_int_equal(s.created, 1);
  assert_int_equal(fx_count(&fx, GW_EV_ATTEMPT, NULL), 1);
}

static void test_queued_while_idle_retried_without_waiting(void **state) {
  uint64_t jumps;

  fx_add(&fx, "p", "OO");
  start();
  jumps = fx.clock.jumps;
  gw_test_adapter_runtime_error(gw_runner_adapter(fx.r, "p"), 1);
  fx_settle(&fx);
  assert_int_equal(fx.clock.jumps, jumps); /* no waiting for a poll interval */
  assert_int_equal(fx_status(&fx, "p").state, GW_PLATFORM_CONNECTED);
  assert_int_equal(fx_count(&fx, GW_EV_ATTEMPT, "p"), 2);
}

static void test_create_failing_drops_platform(void **state) {
  gw_platform_status_t st;

  fx_add(&fx, "p", "RC");
  start();
  assert_int_equal(fx_step(&fx), 0);
  st = fx_status(&fx, "p");
  assert_false(st.queued);
  assert_int_equal(st.state, GW_PLATFORM_FATAL);
  assert_int_equal(st.outcomes[GW_OUTCOME_DROPPED], 1);
  assert_string_equal(st.last_error_code, "create_failed");
  assert_int_equal(gw_clock_jump(&fx.clock), UV_EAGAIN);
}

static void test_pause_resume_semantics(void **state) {
  gw_platform_status_t st;

  fx_add(&fx, "p", "R");
  fx_add(&fx, "up", "O");
  start();
  assert_int_equal(gw_runner_pause(fx.r, "nope", "x"), UV_ENOENT);
  assert_int_equal(gw_runner_pause(fx.r, "up", "x"), UV_EINVAL); /* not queued */
  assert_int_equal(gw_runner_resume(fx.r, "p"), UV_EALREADY);    /* not paused */
  assert_int_equal(fx_step(&fx), 0);
  assert_int_equal(fx_status(&fx, "p").attempts, 2);

  assert_int_equal(gw_runner_pause(fx.r, "p", "first"), 0);
  assert_int_equal(gw_runner_pause(fx.r, "p", "second"), 0);
  st = fx_status(&fx, "p");
  assert_true(st.paused);
  assert_false(st.has_next_retry);
  assert_string_equal(st.pause_reason, "first");
  assert_int_equal(st.state, GW_PLATFORM_PAUSED);
  assert_int_equal(gw_clock_jump(&fx.clock), UV_EAGAIN); /* nothing due, ever */

  assert_int_equal(gw_runner_resume(fx.r, "p"), 0);
  st = fx_status(&fx, "p");
  assert_false(st.paused);
  assert_int_equal(st.attempts, 0);
  assert_int_equal(st.next_retry, fx.clock.vnow);
  assert_string_equal(st.pause_reason, "");
  fx_settle(&fx);
  assert_int_equal(fx_status(&fx, "p").attempts, 1);
}

static void test_startup_disconnect_timeout_continues(void **state) {
  gw_platform_status_t st;

  fx_add(&fx, "p", "WR");
  start();
  /* The failed adapter's disconnect hangs: not queued yet. */
  st = fx_status(&fx, "p");
  assert_false(st.queued);
  assert_int_equal(gw_runner_disposing(fx.r), 1);
  assert_int_equal(fx_step(&fx), 0); /* the 5 s disconnect timeout */
  assert_int_equal(fx.clock.vnow, 5000);
  st = fx_status(&fx, "p");
  assert_true(st.queued);
  assert_int_equal(st.attempts, 1);
  assert_int_equal(st.next_retry, 5000 + 30000);
  assert_int_equal(gw_runner_disposing(fx.r), 0);
  assert_int_equal(fx_step(&fx), 0); /* and the watcher goes on */
  assert_int_equal(fx_count(&fx, GW_EV_ATTEMPT, "p"), 2);
}

static void test_connect_timeout_is_exception_path(void **state) {
  gw_platform_status_t st;
  gw_test_adapter_stats_t s;

  fx_add(&fx, "p", "RH");
  start();
  assert_int_equal(fx_step(&fx), 0); /* t=30: attempt 2 hangs */
  assert_true(fx_status(&fx, "p").in_flight);
  assert_int_equal(fx_step(&fx), 0); /* t=60: connect timeout */
  assert_int_equal(fx.clock.vnow, 60000);
  st = fx_status(&fx, "p");
  assert_false(st.in_flight);
  assert_int_equal(st.outcomes[GW_OUTCOME_EXCEPTION], 1);
  assert_string_equal(st.last_error_code, "ETIMEDOUT");
  assert_int_equal(st.next_retry, 60000 + 60000);
  gw_test_adapter_stats(&s);
  assert_int_equal(s.live, 0);
}

static void test_failing_dispose_does_not_stop_watcher(void **state) {
  gw_test_adapter_stats_t s;

  fx_add(&fx, "p", "DDDO");
  start();
  assert_int_equal(fx_step(&fx), 0);
  assert_int_equal(fx_step(&fx), 0);
  assert_int_equal(fx_step(&fx), 0);
  assert_int_equal(fx_status(&fx, "p").state, GW_PLATFORM_CONNECTED);
  gw_test_adapter_stats(&s);
  assert_int_equal(s.destroyed, 3);
  assert_int_equal(fx_count(&fx, GW_EV_DISPOSED, "p"), 3);
  assert_int_equal(fx_nth(&fx, GW_EV_DISPOSED, "p", 1)->err, UV_EIO);
}

static void test_operator_retry_of_fatal(void **state) {
  fx_add(&fx, "p", "FFO");
  start();
  assert_int_equal(fx_status(&fx, "p").state, GW_PLATFORM_FATAL);
  assert_int_equal(gw_runner_retry(fx.r, "p"), 0);
  assert_int_equal(gw_runner_retry(fx.r, "p"), UV_EINVAL);
  fx_settle(&fx);
  assert_int_equal(fx_status(&fx, "p").state, GW_PLATFORM_FATAL);
  assert_int_equal(gw_runner_retry(fx.r, "p"), 0);
  fx_settle(&fx);
  assert_int_equal(fx_status(&fx, "p").state, GW_PLATFORM_CONNECTED);
}

static void test_26_hour_schedule_in_virtual_time(void **state) {
  uint64_t t0 = uv_hrtime();
  size_t n = 0;
  double ms;

  fx_add(&fx, "p", "R");
  start();
  while (fx.clock.vnow < 26ull * 3600 * 1000) {
    assert_int_equal(fx_step(&fx), 0);
    n++;
  }
  ms = (double)(uv_hrtime() - t0) / 1e6;
  /* Figures for the closing note; nothing timed is asserted. */
  printf("# 26 h retry schedule: %zu attempts, %.1f ms wall (virtual clock)\n", n, ms);
  assert_true(n > 300 && n < 320);
}

#define T(f) cmocka_unit_test_setup_teardown(f, fx_cm_setup, fx_cm_teardown)

int main(void) {
  const struct CMUnitTest tests[] = {
    T(test_success_leaves_queue),
    T(test_non_retryable_leaves_with_fatal),
    T(test_retryable_stays_with_attempts_plus_one),
    T(test_schedule_from_startup),
    T(test_schedule_from_runtime_error),
    T(test_no_pause_after_25_failures),
    T(test_paused_and_not_due_are_skipped),
    T(test_idle_watcher_creates_nothing),
    T(test_queued_while_idle_retried_without_waiting),
    T(test_create_failing_drops_platform),
    T(test_pause_resume_semantics),
    T(test_startup_disconnect_timeout_continues),
    T(test_connect_timeout_is_exception_path),
    T(test_failing_dispose_does_not_stop_watcher),
    T(test_operator_retry_of_fatal),
    T(test_26_hour_schedule_in_virtual_time),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
