/* test_runner.c - startup and runtime rules of the runner (upstream's). */
#include "fixture.h"

static void start(void) {
  assert_int_equal(gw_runner_start(fx.r), 0);
  fx_settle(&fx);
}

static void test_startup_outcomes(void **state) {
  fx_add(&fx, "ok", "O");
  fx_add(&fx, "retry", "R");
  fx_add(&fx, "fatal", "F");
  fx_add(&fx, "exc", "E");
  fx_add(&fx, "nocreate", "C");
  start();
  assert_int_equal(fx_status(&fx, "ok").state, GW_PLATFORM_CONNECTED);
  /* Retryable or unknown at startup: queued, attempts 1, first retry in 30 s. */
  assert_int_equal(fx_status(&fx, "retry").state, GW_PLATFORM_RETRYING);
  assert_int_equal(fx_status(&fx, "retry").attempts, 1);
  assert_int_equal(fx_status(&fx, "retry").next_retry, 30000);
  /* An exception in the first connect is queued as retryable. */
  assert_int_equal(fx_status(&fx, "exc").state, GW_PLATFORM_RETRYING);
  assert_int_equal(fx_status(&fx, "exc").next_retry, 30000);
  assert_string_equal(fx_status(&fx, "exc").last_error_code, "ENETUNREACH");
  /* Non-retryable at startup: not queued. */
  assert_int_equal(fx_status(&fx, "fatal").state, GW_PLATFORM_FATAL);
  assert_false(fx_status(&fx, "fatal").queued);
  assert_int_equal(fx_status(&fx, "nocreate").state, GW_PLATFORM_FATAL);
  assert_false(gw_runner_failed(fx.r));
  /* The first connect's failure path disconnects its adapters too. */
  gw_test_adapter_stats_t s;
  gw_test_adapter_stats(&s);
  assert_int_equal(s.live, 1); /* only the connected one */
}

static void test_startup_all_fatal_stops(void **state) {
  fx_add(&fx, "a", "F");
  fx_add(&fx, "b", "C");
  start();
  assert_true(gw_runner_failed(fx.r));
  assert_int_equal(fx_count(&fx, GW_EV_STOPPED, NULL), 1);
}

static void test_startup_fatal_with_one_retrying_continues(void **state) {
  fx_add(&fx, "a", "F");
  fx_add(&fx, "b", "W"); /* its queueing waits on a hung disconnect */
  start();
  assert_false(gw_runner_failed(fx.r));
  assert_int_equal(fx_step(&fx), 0); /* the disconnect timeout: b is queued */
  assert_true(fx_status(&fx, "b").queued);
  assert_false(gw_runner_failed(fx.r));
}

static void test_runtime_retryable_queues_at_once(void **state) {
  gw_platform_status_t st;

  fx_add(&fx, "p", "OH");
  start();
  gw_test_adapter_runtime_error(gw_runner_adapter(fx.r, "p"), 1);
  st = fx_status(&fx, "p");
  assert_null(gw_runner_adapter(fx.r, "p"));
  assert_true(st.queued);
  assert_int_equal(st.attempts, 0);
  assert_int_equal(st.next_retry, fx.clock.vnow);
  assert_string_equal(st.last_error_code, "connection_lost");
  assert_int_equal(fx_count(&fx, GW_EV_RUNTIME_ERROR, "p"), 1);
  fx_settle(&fx);
  assert_true(fx_status(&fx, "p").in_flight);
  assert_false(gw_runner_failed(fx.r));
}

static void test_runtime_non_retryable_alone_stops(void **state) {
  fx_add(&fx, "p", "O");
  start();
  gw_test_adapter_runtime_error(gw_runner_adapter(fx.r, "p"), 0);
  fx_settle(&fx);
  assert_int_equal(fx_status(&fx, "p").state, GW_PLATFORM_FATAL);
  assert_false(fx_status(&fx, "p").queued);
  assert_true(gw_runner_failed(fx.r));
  assert_int_equal(fx_count(&fx, GW_EV_STOPPED, NULL), 1);
}

static void test_runtime_non_retryable_with_others_up_continues(void **state) {
  fx_add(&fx, "a", "O");
  fx_add(&fx, "b", "O");
  start();
  gw_test_adapter_runtime_error(gw_runner_adapter(fx.r, "a"), 0);
  fx_settle(&fx);
  assert_false(gw_runner_failed(fx.r));
  assert_int_equal(fx_status(&fx, "b").state, GW_PLATFORM_CONNECTED);
}

static void test_runtime_non_retryable_with_one_queued_continues(void **state) {
  fx_add(&fx, "a", "O");
  fx_add(&fx, "b", "R");
  start();
  gw_test_adapter_runtime_error(gw_runner_adapter(fx.r, "a"), 0);
  fx_settle(&fx);
  assert_false(gw_runner_failed(fx.r));
  assert_true(fx_status(&fx, "b").queued);
}

static void test_runtime_retryable_with_everything_down_stays_alive(void **state) {
  fx_add(&fx, "a", "OR");
  start();
  gw_test_adapter_runtime_error(gw_runner_adapter(fx.r, "a"), 1);
  fx_settle(&fx);
  for (int i = 0; i < 5; i++)
    assert_int_equal(fx_step(&fx), 0);
  assert_false(gw_runner_failed(fx.r));
  assert_int_equal(fx_status(&fx, "a").state, GW_PLATFORM_RETRYING);
}

static void test_runtime_error_disposes_the_adapter(void **state) {
  gw_test_adapter_stats_t s;
  int before;

  fx_add(&fx, "p", "OF");
  start();
  before = gw_fd_count();
  gw_test_adapter_runtime_error(gw_runner_adapter(fx.r, "p"), 1);
  fx_settle(&fx); /* retried at once, fails fatally, disposed */
  gw_test_adapter_stats(&s);
  assert_int_equal(s.live, 0);
  /* Both adapters gone: the store's three fds (db, -wal, -shm) are closed. */
  assert_int_equal(gw_fd_count(), before - 3);
}

static void test_close_disposes_connected_and_in_flight(void **state) {
  gw_test_adapter_stats_t s;

  fx_add(&fx, "up", "O");
  fx_add(&fx, "hang", "H");
  start();
  gw_test_adapter_stats(&s);
  assert_int_equal(s.live, 2);
  /* teardown closes the runner and asserts a clean loop and fd table */
}

static void test_real_clock_startup_and_retry(void **state) {
  fx_t *f = &fx;
  gw_platform_config_t cfg;
  char err[256];

  /* Replace the virtual fixture with a real-clock one. */
  fx_teardown(f);
  fx_setup_kind(f, GW_CLOCK_REAL);
  fx_config(f, &cfg, "p", "AO");
  cfg.connect_timeout_s = 1;
  assert_int_equal(gw_runner_add_platform(f->r, &cfg, err, sizeof(err)), 0);
  assert_int_equal(gw_runner_start(f->r), 0);
  /* Run real time until the startup failure is queued; a retry is 30 s away
   * on a real clock, so resume (attempts 0, due now) brings it forward. */
  for (int i = 0; i < 100 && !fx_status(f, "p").queued; i++)
    uv_run(&f->loop, UV_RUN_ONCE);
  assert_true(fx_status(f, "p").queued);
  assert_int_equal(gw_runner_pause(f->r, "p", "test"), 0);
  assert_int_equal(gw_runner_resume(f->r, "p"), 0);
  for (int i = 0; i < 100 && fx_status(f, "p").state != GW_PLATFORM_CONNECTED; i++)
    uv_run(&f->loop, UV_RUN_ONCE);
  assert_int_equal(fx_status(f, "p").state, GW_PLATFORM_CONNECTED);
}

static void test_bad_config_refused_with_field(void **state) {
  gw_platform_config_t cfg;
  char err[256];

  fx_config(&fx, &cfg, "p", "O");
  snprintf(cfg.kind, sizeof(cfg.kind), "carrier-pigeon");
  assert_int_equal(gw_runner_add_platform(fx.r, &cfg, err, sizeof(err)), GW_ECONFIG);
  assert_non_null(strstr(err, "'kind'"));

  fx_config(&fx, &cfg, "", "O");
  assert_int_equal(gw_runner_add_platform(fx.r, &cfg, err, sizeof(err)), GW_ECONFIG);
  assert_non_null(strstr(err, "'name'"));

  fx_config(&fx, &cfg, "p", "O");
  cfg.connect_timeout_s = -1;
  assert_int_equal(gw_runner_add_platform(fx.r, &cfg, err, sizeof(err)), GW_ECONFIG);
  assert_non_null(strstr(err, "'connect_timeout'"));

  fx_config(&fx, &cfg, "p", "O");
  cfg.disconnect_timeout_s = 1e12;
  assert_int_equal(gw_runner_add_platform(fx.r, &cfg, err, sizeof(err)), GW_ECONFIG);
  assert_non_null(strstr(err, "'disconnect_timeout'"));

  fx_config(&fx, &cfg, "p", "O");
  cfg.port = 70000;
  assert_int_equal(gw_runner_add_platform(fx.r, &cfg, err, sizeof(err)), GW_ECONFIG);
  assert_non_null(strstr(err, "'port'"));

  fx_config(&fx, &cfg, "p", "O");
  cfg.store_path[0] = '\0';
  assert_int_equal(gw_runner_add_platform(fx.r, &cfg, err, sizeof(err)), GW_ECONFIG);
  assert_non_null(strstr(err, "'store_path'"));

  /* The test kind's script is the test library's, not a config field. */
  assert_int_equal(gw_test_adapter_script("p", "OZ"), UV_EINVAL);

  fx_config(&fx, &cfg, "p", "O");
  memset(cfg.host, 'x', sizeof(cfg.host)); /* not terminated */
  assert_int_equal(gw_runner_add_platform(fx.r, &cfg, err, sizeof(err)), GW_ECONFIG);

  fx_config(&fx, &cfg, "p", "O");
  assert_int_equal(gw_runner_add_platform(fx.r, &cfg, err, sizeof(err)), 0);
  assert_int_equal(gw_runner_add_platform(fx.r, &cfg, err, sizeof(err)), GW_ECONFIG);
  assert_non_null(strstr(err, "duplicate"));
  /* defaults filled in */
  assert_int_equal(gw_runner_platform_count(fx.r), 1);
}

/* log_level filters the callback too, before a line is formatted: the soak
 * runs thousands of attempts a second and reads none of their lines. */
static void log_levels_seen(gw_log_level_t level, unsigned nlog[GW_LOG_ERROR + 1]) {
  fx_log_level = level;
  fx_setup(&fx);
  fx_log_level = GW_LOG_DEBUG;
  fx_add(&fx, "p", "RR");
  start();
  assert_int_equal(fx_step(&fx), 0); /* a reconnect attempt, failed */
  memcpy(nlog, fx.nlog, sizeof(fx.nlog));
  fx_teardown(&fx);
}

static void test_log_level_filters_the_callback(void **state) {
  unsigned all[GW_LOG_ERROR + 1], warn[GW_LOG_ERROR + 1], off[GW_LOG_ERROR + 1];

  log_levels_seen(GW_LOG_DEBUG, all);
  log_levels_seen(GW_LOG_WARN, warn);
  log_levels_seen(GW_LOG_OFF, off);
  /* The default passes every line: info (attempts) and warn (failures). */
  assert_true(all[GW_LOG_INFO] > 0);
  assert_true(all[GW_LOG_WARN] > 0);
  assert_int_equal(warn[GW_LOG_DEBUG] + warn[GW_LOG_INFO], 0);
  assert_int_equal(warn[GW_LOG_WARN], all[GW_LOG_WARN]);
  assert_int_equal(off[GW_LOG_DEBUG] + off[GW_LOG_INFO] + off[GW_LOG_WARN] + off[GW_LOG_ERROR], 0);
}

static void test_backoff_formula(void **state) {
  assert_int_equal(gw_backoff_ms(1), 30000);
  assert_int_equal(gw_backoff_ms(2), 60000);
  assert_int_equal(gw_backoff_ms(3), 120000);
  assert_int_equal(gw_backoff_ms(4), 240000);
  assert_int_equal(gw_backoff_ms(5), 300000);
  assert_int_equal(gw_backoff_ms(1000000), 300000);
  assert_int_equal(gw_backoff_ms(0), 30000);
}

#define T(f) cmocka_unit_test_setup_teardown(f, fx_cm_setup, fx_cm_teardown)

int main(void) {
  const struct CMUnitTest tests[] = {
    T(test_startup_outcomes),
    T(test_startup_all_fatal_stops),
    T(test_startup_fatal_with_one_retrying_continues),
    T(test_runtime_retryable_queues_at_once),
    T(test_runtime_non_retryable_alone_stops),
    T(test_runtime_non_retryable_with_others_up_continues),
    T(test_runtime_non_retryable_with_one_queued_continues),
    T(test_runtime_retryable_with_everything_down_stays_alive),
    T(test_runtime_error_disposes_the_adapter),
    T(test_close_disposes_connected_and_in_flight),
    T(test_real_clock_startup_and_retry),
    T(test_bad_config_refused_with_field),
    T(test_backoff_formula),
    cmocka_unit_test(test_log_level_filters_the_callback),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
