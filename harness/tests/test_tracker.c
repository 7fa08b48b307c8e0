/* test_tracker.c - identity tracking: survivors, closes, reused numbers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "fsk.h"

static fsk_fd_t mk(int fd, uint64_t ino, const char *target) {
  fsk_fd_t f;
  memset(&f, 0, sizeof(f));
  f.fd = fd;
  f.ino = ino;
  snprintf(f.target, sizeof(f.target), "%s", target);
  f.cls = fsk_fdclass_of(target);
  return f;
}

static void test_survivor_found_with_its_cycle(void **state) {
  fsk_tracker_t *t;
  fsk_fd_t base[2] = {mk(0, 1, "/dev/null"), mk(3, 10, "anon_inode:[eventpoll]")};
  fsk_fd_t c1[3] = {base[0], base[1], mk(4, 20, "/tmp/s.db-wal")};
  fsk_leak_t out[4];

  assert_int_equal(fsk_tracker_new(&t), 0);
  assert_int_equal(fsk_tracker_baseline(t, base, 2, 49), 0);
  assert_int_equal(fsk_tracker_feed(t, c1, 3, 50), 0);
  /* Opened in the cycle just sampled: not yet outliving anything. */
  assert_int_equal(fsk_tracker_survivors(t, out, 4), 0);
  assert_int_equal(fsk_tracker_feed(t, c1, 3, 51), 0);
  assert_int_equal(fsk_tracker_survivors(t, out, 4), 1);
  assert_int_equal(out[0].fd, 4);
  assert_int_equal(out[0].opened_cycle, 50);
  assert_string_equal(out[0].target, "/tmp/s.db-wal");
  assert_int_equal(out[0].cls, FSK_FD_FILE);
  fsk_tracker_free(t);
}

static void test_closed_and_reused_numbers(void **state) {
  fsk_tracker_t *t;
  fsk_fd_t base[1] = {mk(0, 1, "/dev/null")};
  fsk_fd_t a[2] = {base[0], mk(5, 100, "socket:[100]")};
  fsk_fd_t b[2] = {base[0], mk(5, 101, "socket:[101]")}; /* same number, new socket */
  fsk_leak_t out[4];

  assert_int_equal(fsk_tracker_new(&t), 0);
  assert_int_equal(fsk_tracker_baseline(t, base, 1, 0), 0);
  assert_int_equal(fsk_tracker_feed(t, a, 2, 1), 0);
  assert_int_equal(fsk_tracker_feed(t, b, 2, 2), 0);
  /* fd 5 was closed and reopened: each socket lived one cycle only. */
  assert_int_equal(fsk_tracker_survivors(t, out, 4), 0);
  assert_int_equal(fsk_tracker_feed(t, base, 1, 3), 0);
  assert_int_equal(fsk_tracker_survivors(t, out, 4), 0);
  /* A baseline member never counts, however long it lives. */
  assert_int_equal(fsk_tracker_feed(t, base, 1, 4), 0);
  assert_int_equal(fsk_tracker_survivors(t, NULL, 0), 0);
  fsk_tracker_free(t);
  fsk_tracker_free(NULL);
}

static void test_many_survivors_counted_beyond_max(void **state) {
  fsk_tracker_t *t;
  fsk_fd_t fds[300];
  fsk_leak_t out[10];
  int i;

  assert_int_equal(fsk_tracker_new(&t), 0);
  assert_int_equal(fsk_tracker_baseline(t, NULL, 0, 0), 0);
  for (i = 0; i < 300; i++)
    fds[i] = mk(10 + i, (uint64_t)(1000 + i), "pipe:[1]");
  assert_int_equal(fsk_tracker_feed(t, fds, 300, 1), 0);
  assert_int_equal(fsk_tracker_feed(t, fds, 300, 2), 0);
  assert_int_equal(fsk_tracker_survivors(t, out, 10), 300);
  fsk_tracker_free(t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_survivor_found_with_its_cycle),
    cmocka_unit_test(test_closed_and_reused_numbers),
    cmocka_unit_test(test_many_survivors_counted_beyond_max),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
