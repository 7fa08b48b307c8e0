/*
 * test_keycmp.c - the api key comparison: right answers on equal, unequal
 * and different-length keys, and no early exit -- a mismatch in the first
 * byte costs the same as one in the last, which is what keeps an attacker
 * from finding the key a byte at a time by timing 401s.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "keycmp.h"

static int eq(const char *given, const char *key) {
  return gw__key_equal(given, strlen(given), key);
}

static void test_answers(void **state) {
  (void)state;
  assert_int_equal(eq("correct-horse-battery", "correct-horse-battery"), 1);
  assert_int_equal(eq("Correct-horse-battery", "correct-horse-battery"), 0);
  assert_int_equal(eq("correct-horse-batterY", "correct-horse-battery"), 0);
  assert_int_equal(eq("correct-horse", "correct-horse-battery"), 0);          /* prefix */
  assert_int_equal(eq("correct-horse-battery!", "correct-horse-battery"), 0); /* longer */
  assert_int_equal(eq("", "correct-horse-battery"), 0);
  assert_int_equal(eq("", ""), 0); /* an empty key matches nothing */
  assert_int_equal(eq("x", ""), 0);
  /* The length given wins over a NUL inside the presented bytes. */
  assert_int_equal(gw__key_equal("abcdefgh\0zz", 11, "abcdefgh"), 0);
  assert_int_equal(gw__key_equal("abcdefghzz", 8, "abcdefgh"), 1);
  /* Past the key's end the key's first byte is reused: a given that
   * repeats it must still not match. */
  assert_int_equal(eq("aaaaaaaaaa", "aaaaaaaa"), 0);
}

static uint64_t now_ns(void) {
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The fastest of many runs: noise only ever adds time. */
static uint64_t min_time(const char *given, size_t len, const char *key, int reps) {
  uint64_t best = UINT64_MAX;
  volatile int sink = 0;
  int i;

  for (i = 0; i < reps; i++) {
    uint64_t t0 = now_ns();
    sink += gw__key_equal(given, len, key);
    uint64_t t = now_ns() - t0;
    if (t < best)
      best = t;
  }
  (void)sink;
  return best;
}

static void test_no_early_exit(void **state) {
  enum { N = 1 << 16 };
  char *key = malloc(N + 1), *first = malloc(N + 1), *last = malloc(N + 1);
  uint64_t t_first, t_last, t_equal;

  (void)state;
  assert_non_null(key);
  assert_non_null(first);
  assert_non_null(last);
  memset(key, 'k', N);
  key[N] = '\0';
  memcpy(first, key, N + 1);
  memcpy(last, key, N + 1);
  first[0] = 'X';
  last[N - 1] = 'X';
  /* Warm the caches and the branch predictor on both inputs first. */
  min_time(first, N, key, 5);
  min_time(last, N, key, 5);
  t_first = min_time(first, N, key, 40);
  t_last = min_time(last, N, key, 40);
  t_equal = min_time(key, N, key, 40);
  print_message("64 KiB key: mismatch at byte 0 %llu ns, at the last byte %llu ns, equal %llu ns\n",
                (unsigned long long)t_first, (unsigned long long)t_last,
                (unsigned long long)t_equal);
  /* An early exit makes the first-byte mismatch thousands of times faster
   * (one byte against 65536); a constant-time fold keeps them within
   * noise.  A factor of 3 either way tolerates a loaded machine. */
  assert_true(t_first * 3 >= t_last);
  assert_true(t_last * 3 >= t_first);
  assert_true(t_first * 3 >= t_equal);
  free(key);
  free(first);
  free(last);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_answers),
    cmocka_unit_test(test_no_early_exit),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
