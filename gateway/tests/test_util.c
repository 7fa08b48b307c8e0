/*
 * test_util.c - the libc-only helpers: gw__grow (the one way to grow an
 * array) and gw__strlcpy.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static void test_grow_doubles_from_first(void **state) {
  int *a = NULL;
  size_t cap = 0;

  (void)state;
  assert_int_equal(gw__grow(&a, &cap, 1, sizeof(*a), 16, 0), 0);
  assert_non_null(a);
  assert_int_equal(cap, 16);
  a[15] = 7;
  assert_int_equal(gw__grow(&a, &cap, 16, sizeof(*a), 16, 0), 0); /* fits: no change */
  assert_int_equal(cap, 16);
  assert_int_equal(gw__grow(&a, &cap, 17, sizeof(*a), 16, 0), 0);
  assert_int_equal(cap, 32);
  assert_int_equal(a[15], 7); /* the contents moved with it */
  assert_int_equal(gw__grow(&a, &cap, 100, sizeof(*a), 16, 0), 0);
  assert_int_equal(cap, 128);
  free(a);
}

static void test_grow_bound_and_overflow(void **state) {
  char *b = NULL, *keep;
  size_t cap = 0;

  (void)state;
  /* Never past max: 40 is wanted, doubling would give 64, max is 50. */
  assert_int_equal(gw__grow(&b, &cap, 40, 1, 8, 50), 0);
  assert_int_equal(cap, 50);
  /* A count whose bytes overflow size_t fails and leaves the array alone. */
  keep = b;
  assert_int_equal(gw__grow(&b, &cap, SIZE_MAX / 2, 16, 8, 0), -EOVERFLOW);
  assert_ptr_equal(b, keep);
  assert_int_equal(cap, 50);
  free(b);
}

static void test_strlcpy(void **state) {
  char d[4];

  (void)state;
  gw__strlcpy(d, "abcdef", sizeof(d));
  assert_string_equal(d, "abc");
  gw__strlcpy(d, NULL, sizeof(d));
  assert_string_equal(d, "");
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_grow_doubles_from_first),
    cmocka_unit_test(test_grow_bound_and_overflow),
    cmocka_unit_test(test_strlcpy),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
