/* test_adapter.c - the adapter base and the test adapter's fds. */
#include "fixture.h"

static int done_calls;
static int done_status;
static int connect_calls;
static gw_connect_result_t connect_result;

static void done_cb(gw_adapter_t *a, int status) {
  done_calls++;
  done_status = status;
  gw_adapter_destroy(a);
}

static void connect_cb(gw_adapter_t *a, gw_connect_result_t result, int err) {
  connect_calls++;
  connect_result = result;
}

static int setup(void **state) {
  done_calls = connect_calls = 0;
  done_status = 0;
  fx_setup(&fx);
  return 0;
}

static int teardown(void **state) {
  fx_teardown(&fx);
  return 0;
}

static gw_adapter_t *make(const char *script) {
  gw_platform_config_t cfg;
  gw_adapter_t *a = NULL;

  fx_config(&fx, &cfg, "a", script);
  assert_int_equal(gw_test_adapter_vtable.create(fx.r, &cfg, &a), 0);
  return a;
}

static void test_open_holds_db_wal_shm(void **state) {
  int before = gw_fd_count();
  gw_adapter_t *a = make("O");

  assert_int_equal(gw_fd_count(), before); /* create opens nothing */
  assert_int_equal(a->vt->open(a), 0);
  assert_int_equal(gw_fd_count(), before + 3);
  assert_int_equal(gw_adapter_disconnect(a, done_cb), 0);
  assert_int_equal(done_calls, 0); /* never synchronous */
  assert_int_equal(gw_fd_count(), before);
  fx_settle(&fx);
  assert_int_equal(done_calls, 1);
}

static void test_disconnect_idempotent(void **state) {
  gw_adapter_t *a = make("O");

  assert_int_equal(a->vt->open(a), 0);
  assert_int_equal(gw_adapter_disconnect(a, done_cb), 0);
  assert_int_equal(gw_adapter_disconnect(a, done_cb), UV_EALREADY);
  fx_settle(&fx);
  assert_int_equal(done_calls, 1);
}

static void test_disconnect_before_open_and_half_open(void **state) {
  int before = gw_fd_count();
  gw_adapter_t *a = make("O");
  gw_adapter_t *b = make("P");

  assert_int_equal(gw_adapter_disconnect(a, done_cb), 0); /* never opened */
  assert_int_equal(b->vt->open(b), UV_EIO);
  assert_int_equal(gw_fd_count(), before + 1); /* the db, not yet the WAL */
  assert_int_equal(gw_adapter_disconnect(b, done_cb), 0);
  assert_int_equal(gw_fd_count(), before);
  fx_settle(&fx);
  assert_int_equal(done_calls, 2);
}

static void test_disconnect_cancels_connect(void **state) {
  gw_adapter_t *a = make("O");

  assert_int_equal(a->vt->open(a), 0);
  assert_int_equal(gw_adapter_connect(a, connect_cb), 0);
  assert_int_equal(gw_adapter_state(a), GW_ADAPTER_CONNECTING);
  assert_int_equal(gw_adapter_disconnect(a, done_cb), 0);
  fx_settle(&fx);
  assert_int_equal(connect_calls, 0); /* its connect cb never runs */
  assert_int_equal(done_calls, 1);
}

static void test_connect_outcomes(void **state) {
  gw_adapter_t *a = make("F");

  assert_int_equal(gw_adapter_connect(a, connect_cb), UV_EINVAL); /* not open */
  assert_int_equal(a->vt->open(a), 0);
  assert_int_equal(gw_adapter_connect(a, connect_cb), 0);
  fx_settle(&fx);
  assert_int_equal(connect_calls, 1);
  assert_int_equal(connect_result, GW_CONNECT_FAILED);
  assert_true(gw_adapter_failure(a)->has_error);
  assert_false(gw_adapter_failure(a)->retryable);
  assert_string_equal(gw_adapter_failure(a)->code, "invalid_token");
  assert_int_equal(gw_adapter_disconnect(a, done_cb), 0);
  fx_settle(&fx);
}

static void test_disconnect_error_still_releases(void **state) {
  int before = gw_fd_count();
  gw_adapter_t *a = make("D");

  assert_int_equal(a->vt->open(a), 0);
  assert_int_equal(gw_adapter_disconnect(a, done_cb), 0);
  fx_settle(&fx);
  assert_int_equal(done_status, UV_EIO);
  assert_int_equal(gw_fd_count(), before);
}

static void test_dispose_null_is_noop(void **state) {
  assert_int_equal(gw_adapter_disconnect(NULL, done_cb), 0);
  gw_adapter_destroy(NULL);
  assert_int_equal(done_calls, 0);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void) {
  const struct CMUnitTest tests[] = {
      T(test_open_holds_db_wal_shm),          T(test_disconnect_idempotent),
      T(test_disconnect_before_open_and_half_open), T(test_disconnect_cancels_connect),
      T(test_connect_outcomes),               T(test_disconnect_error_still_releases),
      T(test_dispose_null_is_noop),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
