/* test_adapter.c - the adapter base and the test adapter's fds. */
#include "fixture.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

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
  assert_int_equal(gw_adapter_open(a), 0);
  assert_int_equal(gw_fd_count(), before + 3);
  assert_int_equal(gw_adapter_disconnect(a, done_cb), 0);
  assert_int_equal(done_calls, 0); /* never synchronous */
  assert_int_equal(gw_fd_count(), before);
  fx_settle(&fx);
  assert_int_equal(done_calls, 1);
}

static void test_disconnect_idempotent(void **state) {
  gw_adapter_t *a = make("O");

  assert_int_equal(gw_adapter_open(a), 0);
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
  assert_int_equal(gw_adapter_open(b), UV_EIO);
  assert_int_equal(gw_fd_count(), before + 1); /* the db, not yet the WAL */
  assert_int_equal(gw_adapter_disconnect(b, done_cb), 0);
  assert_int_equal(gw_fd_count(), before);
  fx_settle(&fx);
  assert_int_equal(done_calls, 2);
}

static void test_disconnect_cancels_connect(void **state) {
  gw_adapter_t *a = make("O");

  assert_int_equal(gw_adapter_open(a), 0);
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
  assert_int_equal(gw_adapter_open(a), 0);
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

  assert_int_equal(gw_adapter_open(a), 0);
  assert_int_equal(gw_adapter_disconnect(a, done_cb), 0);
  fx_settle(&fx);
  assert_int_equal(done_status, UV_EIO);
  assert_int_equal(gw_fd_count(), before);
}

/* The base owns the open state: open once, from CREATED; a failed open
 * leaves CREATED (connect refused) but counts as opened for destroy. */
static void test_base_owns_open_state(void **state) {
  int before = gw_fd_count();
  gw_adapter_t *a = make("O");
  gw_adapter_t *b = make("P");

  assert_int_equal(gw_adapter_state(a), GW_ADAPTER_CREATED);
  assert_int_equal(gw_adapter_open(a), 0);
  assert_int_equal(gw_adapter_state(a), GW_ADAPTER_OPEN);
  assert_int_equal(gw_adapter_open(a), UV_EINVAL); /* not twice */
  assert_int_equal(gw_fd_count(), before + 3);

  assert_int_equal(gw_adapter_open(b), UV_EIO);
  assert_int_equal(gw_adapter_state(b), GW_ADAPTER_CREATED);
  assert_int_equal(gw_adapter_open(b), UV_EINVAL); /* a failed open is not retried */
  assert_int_equal(gw_adapter_connect(b, connect_cb), UV_EINVAL);
  assert_int_equal(gw_adapter_open(NULL), UV_EINVAL);

  assert_int_equal(gw_adapter_disconnect(a, done_cb), 0);
  assert_int_equal(gw_adapter_disconnect(b, done_cb), 0);
  fx_settle(&fx);
  assert_int_equal(done_calls, 2);
  assert_int_equal(gw_fd_count(), before);
}

/* Destroy only after disconnect: in a child, each way of breaking the rule
 * must abort with a message, and the lawful ones must not. */
static int destroy_in_child(const char *script, int open, int connect) {
  pid_t pid;
  int status;

  fflush(NULL);
  pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    gw_adapter_t *a = make(script);

    if (open)
      gw_adapter_open(a);
    if (connect)
      gw_adapter_connect(a, connect_cb);
    gw_adapter_destroy(a);
    _exit(0);
  }
  assert_int_equal(waitpid(pid, &status, 0), pid);
  return WIFSIGNALED(status) ? WTERMSIG(status) : -WEXITSTATUS(status);
}

static void test_destroy_rule_enforced(void **state) {
  int before = gw_fd_count();
  gw_adapter_t *a;

  assert_int_equal(destroy_in_child("O", 1, 0), SIGABRT); /* open */
  assert_int_equal(destroy_in_child("H", 1, 1), SIGABRT); /* connecting */
  assert_int_equal(destroy_in_child("P", 1, 0), SIGABRT); /* half-open */
  assert_int_equal(destroy_in_child("O", 0, 0), 0);       /* never opened */

  /* Disconnecting is not done yet: only its callback may destroy. */
  a = make("O");
  assert_int_equal(gw_adapter_open(a), 0);
  assert_int_equal(gw_adapter_disconnect(a, done_cb), 0);
  assert_int_equal(gw_adapter_state(a), GW_ADAPTER_DISCONNECTING);
  fx_settle(&fx);
  assert_int_equal(done_calls, 1); /* done_cb destroyed it, CLOSED */
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
    T(test_open_holds_db_wal_shm),
    T(test_disconnect_idempotent),
    T(test_disconnect_before_open_and_half_open),
    T(test_disconnect_cancels_connect),
    T(test_connect_outcomes),
    T(test_disconnect_error_still_releases),
    T(test_dispose_null_is_noop),
    T(test_base_owns_open_state),
    T(test_destroy_rule_enforced),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
