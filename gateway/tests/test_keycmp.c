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

/*
 * Timing.  The compare's own cost must be told apart from what it shares
 * with every input: strlen(key), which for a 64 KiB key is as slow as a
 * memcmp of it.  (With only first-vs-last a memcmp early exit passed: both
 * timings were mostly the strlen.)  So each round times three calls back to
 * back -- the key's strlen alone, a mismatch at the first byte, one at the
 * last -- and keeps the fastest of each over many rounds (noise only ever
 * adds time; interleaving puts the three in the same conditions).  The
 * compare's work is a timing minus the strlen: an early exit does nothing
 * after a first-byte mismatch and all of it after a last-byte one.
 */
typedef struct {
  uint64_t base, first, last;
} timings_t;

static uint64_t time_call(const char *given, size_t len, const char *key, volatile int *sink) {
  uint64_t t0 = now_ns();
  *sink += gw__key_equal(given, len, key);
  return now_ns() - t0;
}

/* Through a volatile pointer, so the compiler cannot hoist the strlen of an
 * unchanging key out of the loop. */
static size_t (*volatile strlen_fn)(const char *) = strlen;

static uint64_t time_strlen(const char *key, volatile size_t *sink) {
  uint64_t t0 = now_ns();
  *sink += strlen_fn(key);
  return now_ns() - t0;
}

static timings_t fastest(const char *first, const char *last, const char *key, size_t len,
                         int rounds) {
  timings_t best = {UINT64_MAX, UINT64_MAX, UINT64_MAX};
  volatile int sink = 0;
  volatile size_t lsink = 0;
  uint64_t t;
  int i;

  for (i = 0; i < rounds; i++) {
    if ((t = time_strlen(key, &lsink)) < best.base)
      best.base = t;
    if ((t = time_call(first, len, key, &sink)) < best.first)
      best.first = t;
    if ((t = time_call(last, len, key, &sink)) < best.last)
      best.last = t;
  }
  return best;
}

static void test_no_early_exit(void **state) {
  enum { N = 1 << 16 };
  char *key = malloc(N + 1), *first = malloc(N + 1), *last = malloc(N + 1);
  timings_t t;
  uint64_t work_first, work_last;

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
  fastest(first, last, key, N, 10); /* warm caches and branch predictors */
  t = fastest(first, last, key, N, 200);
  /* The compare's work beyond the strlen, at least 1 ns so a ratio exists. */
  work_first = t.first > t.base ? t.first - t.base : 1;
  work_last = t.last > t.base ? t.last - t.base : 1;
  print_message("64 KiB key: strlen %llu ns; mismatch at byte 0 %llu ns, at the last byte "
                "%llu ns; the compare's own work %llu ns and %llu ns\n",
                (unsigned long long)t.base, (unsigned long long)t.first, (unsigned long long)t.last,
                (unsigned long long)work_first, (unsigned long long)work_last);
  /* An early exit does next to nothing after the first byte and the whole
   * key after the last (a memcmp's ratio is in the hundreds); a
   * constant-time fold does the same work for both.  A factor of 3 either
   * way tolerates a loaded machine. */
  assert_true(work_first * 3 >= work_last);
  assert_true(work_last * 3 >= work_first);
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
