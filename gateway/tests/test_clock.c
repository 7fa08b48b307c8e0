/* test_clock.c - the one-deadline clock, real and virtual. */
#include "fixture.h"

static uv_loop_t loop;
static gw_clock_t clk;
static int fired;
static uint64_t fired_at;

static void cb(gw_clock_t *c) {
  fired++;
  fired_at = gw_clock_now(c);
}

static void close_all(void) {
  gw_clock_close(&clk, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&loop), 0);
}

static int setup(void **state) {
  fired = 0;
  fired_at = 0;
  assert_int_equal(uv_loop_init(&loop), 0);
  return 0;
}

static void test_virtual_jumps_to_deadline(void **state) {
  uint64_t next;

  assert_int_equal(gw_clock_init(&loop, &clk, GW_CLOCK_VIRTUAL), 0);
  assert_int_equal(gw_clock_now(&clk), 0);
  assert_int_equal(gw_clock_jump(&clk), UV_EAGAIN); /* nothing armed */
  gw_clock_arm(&clk, 26ull * 3600 * 1000, cb, NULL);
  /* A future deadline never fires on its own... */
  assert_int_equal(gw_clock_settle(&clk, 1), 0);
  assert_int_equal(fired, 0);
  assert_int_equal(gw_clock_next(&clk, &next), 0);
  assert_int_equal(next, 26ull * 3600 * 1000);
  /* ...and a jump moves now there; the callback runs from the loop. */
  assert_int_equal(gw_clock_jump(&clk), 0);
  assert_int_equal(fired, 0);
  assert_int_equal(gw_clock_settle(&clk, 1), 0);
  assert_int_equal(fired, 1);
  assert_int_equal(fired_at, 26ull * 3600 * 1000);
  assert_int_equal(gw_clock_next(&clk, &next), UV_EAGAIN);
  close_all();
}

static void test_virtual_due_fires_without_jump(void **state) {
  assert_int_equal(gw_clock_init(&loop, &clk, GW_CLOCK_VIRTUAL), 0);
  gw_clock_arm(&clk, 0, cb, NULL);
  assert_int_equal(gw_clock_settle(&clk, 1), 0);
  assert_int_equal(fired, 1);
  assert_int_equal(clk.jumps, 0);
  close_all();
}

static void test_rearm_and_disarm(void **state) {
  assert_int_equal(gw_clock_init(&loop, &clk, GW_CLOCK_VIRTUAL), 0);
  gw_clock_arm(&clk, 0, cb, NULL);
  gw_clock_arm(&clk, 5000, cb, NULL); /* replaces the due deadline */
  assert_int_equal(gw_clock_settle(&clk, 1), 0);
  assert_int_equal(fired, 0);
  gw_clock_disarm(&clk);
  assert_int_equal(gw_clock_jump(&clk), UV_EAGAIN);
  close_all();
}

static void test_settle_returns_with_long_lived_io(void **state) {
  uv_tcp_t server;
  struct sockaddr_in addr;

  /* A listener keeps the loop alive forever; settle must still return. */
  assert_int_equal(gw_clock_init(&loop, &clk, GW_CLOCK_VIRTUAL), 0);
  assert_int_equal(uv_tcp_init(&loop, &server), 0);
  assert_int_equal(uv_ip4_addr("127.0.0.1", 0, &addr), 0);
  assert_int_equal(uv_tcp_bind(&server, (struct sockaddr *)&addr, 0), 0);
  assert_int_equal(uv_listen((uv_stream_t *)&server, 8, NULL), 0);
  assert_int_equal(gw_clock_settle(&clk, 5), 0);
  uv_close((uv_handle_t *)&server, NULL);
  close_all();
}

static void test_real_clock_fires(void **state) {
  uint64_t t0;

  assert_int_equal(gw_clock_init(&loop, &clk, GW_CLOCK_REAL), 0);
  t0 = gw_clock_now(&clk);
  gw_clock_arm(&clk, t0 + 20, cb, NULL);
  assert_int_equal(gw_clock_jump(&clk), UV_EINVAL);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(fired, 1);
  assert_true(fired_at >= t0 + 20);
  close_all();
}

static void test_bad_arguments(void **state) {
  assert_int_equal(gw_clock_init(NULL, &clk, GW_CLOCK_REAL), UV_EINVAL);
  assert_int_equal(gw_clock_init(&loop, &clk, (gw_clock_kind_t)7), UV_EINVAL);
  assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup(test_virtual_jumps_to_deadline, setup),
    cmocka_unit_test_setup(test_virtual_due_fires_without_jump, setup),
    cmocka_unit_test_setup(test_rearm_and_disarm, setup),
    cmocka_unit_test_setup(test_settle_returns_with_long_lived_io, setup),
    cmocka_unit_test_setup(test_real_clock_fires, setup),
    cmocka_unit_test_setup(test_bad_arguments, setup),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
