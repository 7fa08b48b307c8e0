/* test_verdict.c - the strict and statistical rules, on hand-made and on
 * seeded simulated series, and the projection. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fsk.h"
#include "verdict_internal.h"

/* ------------------------------------------------------------------ */
/* A simulated noisy target                                            */
/* ------------------------------------------------------------------ */

/* splitmix64: fixed seeds give the same series on every machine. */
static uint64_t rng_next(uint64_t *s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static double rng_unit(uint64_t *s) { return (double)(rng_next(s) >> 11) / 9007199254740992.0; }

#define BASE 40
#define CYCLES 1000
#define WARMUP 50
#define RUNS 200

typedef enum {
  POOL_SLOTS = 0, /* 8 pooled connections, each open or idle: mean-reverting */
  POOL_WALK       /* a plain bounded walk: no pull to a mean (harsher) */
} pool_model_t;

typedef struct {
  int leak_period;  /* +1 fd every this many cycles; 0: none */
  double climb;     /* fds still to come at cycle 0 (plateau approach) */
  double climb_tau; /* its time constant in cycles */
  double pool_p;    /* chance per cycle that the socket pool changes */
  pool_model_t model;
  int step;      /* fds opened once, for good, at a random cycle */
  int step_from; /* ... at or after this cycle */
} sim_t;

/*
 * base + pool + burst + leak + climb, with
 * - pool: long-lived pooled sockets, a random walk bounded in [0, 8]: the
 *   correlated noise that makes textbook trend tests cry wolf.  In the
 *   default model (POOL_SLOTS) each of 8 pool slots is open or idle and
 *   one slot flips when the pool changes (the Ehrenfest urn: a pool under
 *   steady load wanders around half full and comes back).  POOL_WALK
 *   steps up or down with equal odds, so it lingers at either end; no
 *   real pool does that, but it shows where the rule stops working.
 * - burst: 1-5 extra fds in flight at 2 % of the samples;
 * - leak: +1 every leak_period cycles, from a random phase;
 * - climb: the approach to a plateau of a target still filling caches.
 */
static void simulate(uint64_t seed, const sim_t *p, int *out, size_t n) {
  uint64_t s = seed;
  int pool = (int)(rng_next(&s) % 9);
  int phase = p->leak_period ? (int)(rng_next(&s) % (uint64_t)p->leak_period) : 0;
  size_t step_at =
    p->step ? (size_t)p->step_from + (size_t)(rng_next(&s) % (n - (size_t)p->step_from)) : n;
  size_t i;

  for (i = 0; i < n; i++) {
    int burst = 0, leak = 0;
    double climb = 0.0;

    if (rng_unit(&s) < p->pool_p) {
      if (p->model == POOL_SLOTS)
        pool += rng_unit(&s) < pool / 8.0 ? -1 : 1;
      else
        pool += (rng_next(&s) & 1) ? 1 : -1;
    }
    if (pool < 0)
      pool = 1;
    if (pool > 8)
      pool = 7;
    if (rng_unit(&s) < 0.02)
      burst = 1 + (int)(rng_next(&s) % 5);
    if (p->leak_period)
      leak = ((int)i + phase) / p->leak_period;
    if (p->climb > 0.0)
      climb = p->climb * (1.0 - exp(-(double)i / p->climb_tau));
    out[i] = BASE + pool + burst + leak + (int)lround(climb) + (i >= step_at ? p->step : 0);
  }
}

/* The statistical rule on counts alone (the simulation has no identity). */
static fsk_verdict_t judge(const int *y, size_t n, size_t warmup, fsk_stats_t *st) {
  fsk_series_t ser = {
    .counts = y, .n = n, .warmup = warmup, .unit = "cycle", .min_rate = FSK_STAT_MIN_RATE};

  return fsk_verdict_stat(&ser, st);
}

/* Verdict counts of RUNS seeded runs of one scenario of `cycles` cycles;
 * *ls_alone gets how many the least-squares bound alone would have called
 * a leak. */
static void batch_n(const sim_t *p, uint64_t seed0, size_t cycles, int counts[4], int *ls_alone) {
  static int series[CYCLES + 400];
  int r;

  memset(counts, 0, 4 * sizeof counts[0]);
  if (ls_alone)
    *ls_alone = 0;
  for (r = 0; r < RUNS; r++) {
    fsk_stats_t st;
    fsk_verdict_t v;
    double b, lo;

    simulate(seed0 + (uint64_t)r * 7919u, p, series, cycles);
    v = judge(series, cycles, WARMUP, &st);
    counts[v]++;
    if (ls_alone && fsk__ols(series + WARMUP, cycles - WARMUP, &b, NULL, &lo) == 0 && lo > 0.0)
      (*ls_alone)++;
    assert_true(st.why[0] != '\0');
  }
}

static void batch(const sim_t *p, uint64_t seed0, int counts[4], int *ls_alone) {
  batch_n(p, seed0, CYCLES, counts, ls_alone);
}

static void print_rates(const char *what, const int c[4]) {
  printf("# %-44s flat %3d  leak %3d  inconclusive %3d  (of %d runs)\n", what, c[FSK_VERDICT_FLAT],
         c[FSK_VERDICT_LEAK], c[FSK_VERDICT_INCONCLUSIVE], RUNS);
}

/* ------------------------------------------------------------------ */
/* Statistical rule on simulated series                                */
/* ------------------------------------------------------------------ */

/* Bounded sets are never a leak: a pool wandering around half full, a
 * pool that changes only every 5th cycle, and a plain bounded walk that
 * lingers at either end (the harshest autocorrelated noise). */
static void test_stat_no_false_alarms(void **state) {
  sim_t p = {.pool_p = 0.5};
  int c[4], ls;

  (void)state;
  batch(&p, 0x5eed0001u, c, &ls);
  print_rates("clean (false alarms = leak):", c);
  printf("# (the plain least-squares bound alone: %d of %d clean runs red)\n", ls, RUNS);
  assert_int_equal(c[FSK_VERDICT_LEAK], 0);
  assert_true(c[FSK_VERDICT_FLAT] >= RUNS * 99 / 100);

  p.pool_p = 0.2;
  batch(&p, 0x5eed0002u, c, NULL);
  print_rates("clean, slow pool (p=0.2):", c);
  assert_true(c[FSK_VERDICT_LEAK] <= RUNS / 100);
  p.pool_p = 0.5;
  p.model = POOL_WALK;
  batch(&p, 0x5eed0003u, c, &ls);
  print_rates("clean, bounded walk (p=0.5):", c);
  printf("# (the plain least-squares bound alone: %d of %d walk runs red)\n", ls, RUNS);
  assert_true(c[FSK_VERDICT_LEAK] <= RUNS / 100);
}

static void test_stat_catches_one_per_hundred(void **state) {
  sim_t p = {.leak_period = 100, .pool_p = 0.5};
  int c[4];

  (void)state;
  batch(&p, 0x1eac0001u, c, NULL);
  print_rates("1 fd / 100 cycles over 1000 (caught = leak):", c);
  assert_true(c[FSK_VERDICT_LEAK] >= RUNS * 99 / 100);

  p.pool_p = 0.2;
  batch(&p, 0x1eac0002u, c, NULL);
  print_rates("info: 1 fd / 100 cycles, slow pool:", c);
  p.pool_p = 0.5;
  p.model = POOL_WALK;
  batch(&p, 0x1eac0003u, c, NULL);
  print_rates("info: 1 fd / 100 cycles, bounded walk:", c);
}

static void test_stat_catches_one_per_ten_over_300(void **state) {
  sim_t p = {.leak_period = 10, .pool_p = 0.5};
  int c[4];

  (void)state;
  batch_n(&p, 0x1eac0010u, 300, c, NULL);
  print_rates("1 fd / 10 cycles over 300 (caught = leak):", c);
  assert_true(c[FSK_VERDICT_LEAK] >= RUNS * 99 / 100);
}

/* A target still filling its pools after warm-up: the count climbs by 16
 * fds (time constant 80 cycles) and then holds.  That is a bounded set --
 * a pool grown lazily, a cache filling -- and must come out flat. */
static void test_stat_flat_when_climbing_to_a_plateau(void **state) {
  sim_t p = {.climb = 16.0, .climb_tau = 80.0, .pool_p = 0.5};
  int series[CYCLES], c[4];
  fsk_stats_t st;

  (void)state;
  batch(&p, 0xc11b0001u, c, NULL);
  print_rates("climbing to a plateau:", c);
  assert_true(c[FSK_VERDICT_LEAK] <= RUNS / 100);
  assert_true(c[FSK_VERDICT_FLAT] >= RUNS * 99 / 100);
  simulate(0xc11b0001u, &p, series, CYCLES);
  assert_int_equal(judge(series, CYCLES, WARMUP, &st), FSK_VERDICT_FLAT);
  printf("# why: %s\n", st.why);
  assert_null(strstr(st.why, "warmup"));
}

/* A one-time step after warm-up (5 fds opened for good) is not a leak. */
static void test_stat_flat_on_a_step(void **state) {
  sim_t p = {.pool_p = 0.5, .step = 5, .step_from = WARMUP};
  int c[4];

  (void)state;
  batch(&p, 0x57e90001u, c, NULL);
  print_rates("a step of 5 fds after warm-up:", c);
  assert_true(c[FSK_VERDICT_LEAK] <= RUNS / 100);
}

/* A short warm-up must not hide a real leak: once the climb is over the
 * count keeps rising, and that is a leak. */
static void test_stat_leak_behind_a_climb(void **state) {
  sim_t p = {.leak_period = 100, .climb = 16.0, .climb_tau = 80.0, .pool_p = 0.5};
  int c[4];

  (void)state;
  batch(&p, 0xc11b1eacu, c, NULL);
  print_rates("climb, then 1 fd / 100 cycles:", c);
  assert_true(c[FSK_VERDICT_LEAK] >= RUNS * 9 / 10);
}

/* Against attempts: several attempts per sample, at uneven steps, give the
 * rate per attempt, not per sample. */
static void test_stat_rate_per_attempt(void **state) {
  static int y[400];
  static double x[400];
  fsk_series_t ser = {
    .counts = y, .x = x, .n = 400, .warmup = 20, .unit = "attempt", .min_rate = FSK_STAT_MIN_RATE};
  fsk_stats_t st;
  uint64_t s = 42;
  double a = 0.0;
  size_t i;

  (void)state;
  for (i = 0; i < 400; i++) {
    a += 1.0 + (double)(rng_next(&s) % 9); /* 1..9 attempts per sample */
    x[i] = a;
    y[i] = 30 + (int)(a / 10.0) + (int)(rng_next(&s) % 3); /* 1 fd per 10 attempts */
  }
  assert_int_equal(fsk_verdict_stat(&ser, &st), FSK_VERDICT_LEAK);
  printf("# rate per attempt: %.4f (true 0.1000)\n", st.slope);
  assert_true(fabs(st.slope - 0.1) < 0.01);
}

/* The reported rate is what really leaked: a staircase of random 3-fd
 * jumps, with in-flight fds on top, over 300 attempts. */
static void test_realized_rate(void **state) {
  static int y[300];
  static double x[300];
  uint64_t s = 7;
  int leaked = 0;
  size_t i;

  (void)state;
  for (i = 0; i < 300; i++) {
    x[i] = (double)i;
    if (rng_unit(&s) < 0.1)
      leaked += 3;
    y[i] = 20 + leaked + (rng_unit(&s) < 0.3 ? 2 : 0); /* 2 in flight at 30 % of the looks */
  }
  printf("# realized %.4f, leaked %d over 299 attempts (%.4f)\n", fsk_realized_rate(y, x, 300),
         leaked, (double)leaked / 299.0);
  assert_true(fabs(fsk_realized_rate(y, x, 300) - (double)leaked / 299.0) <
              0.1 * (double)leaked / 299.0);
  assert_true(isnan(fsk_realized_rate(y, x, 1)));
  assert_true(isnan(fsk_realized_rate(NULL, x, 300)));
}

/* Identity: survivors that all date from one half are replaced, not kept. */
static void test_stat_identity(void **state) {
  static int y[200];
  double born_early[6] = {1, 5, 9, 12, 20, 30}, born_all[6] = {1, 40, 80, 120, 160, 190};
  fsk_series_t ser = {.counts = y,
                      .n = 200,
                      .warmup = 0,
                      .unit = "cycle",
                      .min_rate = FSK_STAT_MIN_RATE,
                      .identity = 1,
                      .nsurvivors = 6};
  fsk_stats_t st;
  size_t i;

  (void)state;
  for (i = 0; i < 200; i++)
    y[i] = 10 + (int)i / 20;
  ser.born = born_all;
  assert_int_equal(fsk_verdict_stat(&ser, &st), FSK_VERDICT_LEAK);
  ser.born = born_early;
  assert_int_equal(fsk_verdict_stat(&ser, &st), FSK_VERDICT_FLAT);
  assert_non_null(strstr(st.why, "replaced"));
  ser.born = NULL;
  ser.nsurvivors = 0;
  assert_int_equal(fsk_verdict_stat(&ser, &st), FSK_VERDICT_FLAT);
}

static void test_stat_small_cases(void **state) {
  int flat[40], up[100];
  fsk_stats_t st;
  size_t i;

  (void)state;
  for (i = 0; i < 40; i++)
    flat[i] = 12;
  /* 19 samples after warm-up: too few for the rule. */
  assert_int_equal(judge(flat, 29, 10, &st), FSK_VERDICT_INCONCLUSIVE);
  assert_int_equal(st.n, 19);
  assert_non_null(strstr(st.why, "20"));
  /* 20: enough, and flat. */
  assert_int_equal(judge(flat, 30, 10, &st), FSK_VERDICT_FLAT);
  assert_true(fabs(st.slope) < 1e-12);
  /* A clean staircase: +1 every 10 cycles. */
  for (i = 0; i < 100; i++)
    up[i] = 20 + (int)i / 10;
  assert_int_equal(judge(up, 100, 0, &st), FSK_VERDICT_LEAK);
  assert_true(st.slope > 0.09 && st.slope < 0.11);
  assert_true(st.slope_lo > 0.0 && st.slope_lo < st.slope);
  /* Bad input does not crash. */
  assert_int_equal(fsk_verdict_stat(NULL, &st), FSK_VERDICT_INCONCLUSIVE);
  assert_int_equal(judge(NULL, 100, 0, &st), FSK_VERDICT_INCONCLUSIVE);
  assert_int_equal(judge(up, 100, 500, NULL), FSK_VERDICT_INCONCLUSIVE);
}

static void test_t_quantile(void **state) {
  /* Published one-sided 0.999 quantiles. */
  assert_true(fabs(fsk__t999(1) - 318.309) < 0.01);
  assert_true(fabs(fsk__t999(10) - 4.144) < 0.001);
  assert_true(fabs(fsk__t999(28) - 3.408) < 0.001);
  assert_true(fabs(fsk__t999(120) - 3.160) < 0.001);
  assert_true(fabs(fsk__t999(1e7) - 3.090) < 0.001);
  assert_true(isinf(fsk__t999(0)));
}

static void test_ols(void **state) {
  int y[5] = {3, 5, 7, 9, 11};
  double b, a, lo;

  assert_int_equal(fsk__ols(y, 5, &b, &a, &lo), 0);
  assert_true(fabs(b - 2.0) < 1e-12 && fabs(a - 3.0) < 1e-12 && fabs(lo - 2.0) < 1e-12);
  assert_int_equal(fsk__ols(y, 2, &b, &a, &lo), -EINVAL);
  assert_int_equal(fsk__ols(NULL, 5, &b, &a, &lo), -EINVAL);
}

/* ------------------------------------------------------------------ */
/* Strict rule                                                         */
/* ------------------------------------------------------------------ */

static void test_strict(void **state) {
  int flat[] = {5, 9, 12, 12, 12, 12, 12, 12};
  int dip[] = {5, 9, 12, 12, 11, 10, 12, 12};
  int rise[] = {5, 9, 12, 12, 12, 13, 12, 12};
  fsk_stats_t st;

  /* Warm-up (the first three) may climb; after it the count may not. */
  assert_int_equal(fsk_verdict_strict(flat, 8, 2, 0, &st), FSK_VERDICT_FLAT);
  assert_int_equal(st.n, 6);
  assert_int_equal(fsk_verdict_strict(dip, 8, 2, 0, &st), FSK_VERDICT_FLAT);
  assert_int_equal(fsk_verdict_strict(rise, 8, 2, 0, &st), FSK_VERDICT_LEAK);
  assert_non_null(strstr(st.why, "13"));
  /* Even one fd that outlived its cycle is a leak. */
  assert_int_equal(fsk_verdict_strict(flat, 8, 2, 1, &st), FSK_VERDICT_LEAK);
  /* With warm-up covering the rise, only flat samples remain. */
  assert_int_equal(fsk_verdict_strict(flat, 8, 0, 0, &st), FSK_VERDICT_LEAK);
  /* Fewer than two post-warm-up samples: nothing to compare. */
  assert_int_equal(fsk_verdict_strict(flat, 8, 7, 0, &st), FSK_VERDICT_INCONCLUSIVE);
  assert_int_equal(fsk_verdict_strict(flat, 8, 8, 0, &st), FSK_VERDICT_INCONCLUSIVE);
  assert_int_equal(fsk_verdict_strict(flat, 8, 100, 0, &st), FSK_VERDICT_INCONCLUSIVE);
  assert_int_equal(fsk_verdict_strict(NULL, 8, 0, 0, &st), FSK_VERDICT_INCONCLUSIVE);
  assert_int_equal(fsk_verdict_strict(flat, 8, 6, 0, NULL), FSK_VERDICT_FLAT);
  assert_true(st.why[0] != '\0');
}

static void test_names(void **state) {
  assert_string_equal(fsk_verdict_name(FSK_VERDICT_FLAT), "flat");
  assert_string_equal(fsk_verdict_name(FSK_VERDICT_LEAK), "leak");
  assert_string_equal(fsk_verdict_name(FSK_VERDICT_INCONCLUSIVE), "inconclusive");
  assert_string_equal(fsk_verdict_name((fsk_verdict_t)42), "unknown");
}

/* ------------------------------------------------------------------ */
/* Projection and the run's verdict                                    */
/* ------------------------------------------------------------------ */

static void test_projection_hours(void **state) {
  double h = fsk_projection_hours(0.01, 40, 1024, 300.0);

  assert_true(fabs(h - (984.0 / 0.01) * 300.0 / 3600.0) < 1e-9);
  /* The bug of the story: ~3 fds per attempt at the cap, ~40 open. */
  h = fsk_projection_hours(3.0, 40, 1024, 300.0);
  assert_true(fabs(h - 984.0 / 3.0 * 300.0 / 3600.0) < 1e-9);
  assert_true(fsk_projection_hours(0.0, 40, 1024, 300.0) < 0);
  assert_true(fsk_projection_hours(-1.0, 40, 1024, 300.0) < 0);
  assert_true(fsk_projection_hours(NAN, 40, 1024, 300.0) < 0);
  assert_true(fsk_projection_hours(0.01, 40, 0, 300.0) < 0);
  assert_true(fsk_projection_hours(0.01, 40, 1024, 0.0) < 0);
  assert_true(fsk_projection_hours(0.01, 2000, 1024, 300.0) == 0.0);
}

static void scen(fsk_scenario_t *s, const char *path, fsk_verdict_t v, double slope, int last) {
  fsk_scenario_init(s, path, "api", 0);
  assert_int_equal(fsk_scenario_push(s, 40, NULL), 0);
  assert_int_equal(fsk_scenario_push(s, last, NULL), 0);
  s->verdict = v;
  s->stats.slope = slope;
}

static void test_run_finish(void **state) {
  fsk_scenario_t s[3];
  fsk_run_t run;
  double want;
  size_t i;

  memset(&run, 0, sizeof run);
  run.mode = "run";
  run.scen = s;
  run.nscen = 3;
  run.rlimit_nofile = 1024;
  run.cycle_period_s = 300.0;

  scen(&s[0], "fatal", FSK_VERDICT_FLAT, 0.0, 40);
  scen(&s[1], "retryable", FSK_VERDICT_FLAT, 0.0, 40);
  scen(&s[2], "exception", FSK_VERDICT_FLAT, 0.0, 40);
  fsk_run_finish(&run);
  assert_int_equal(run.verdict, FSK_VERDICT_FLAT);
  assert_int_equal(run.has_projection, 0);
  assert_string_equal(run.projection_text, "flat: no projection");

  s[1].verdict = FSK_VERDICT_INCONCLUSIVE;
  fsk_run_finish(&run);
  assert_int_equal(run.verdict, FSK_VERDICT_INCONCLUSIVE);
  assert_int_equal(run.has_projection, 0);

  /* Two leaks: the one that runs out first is the worst. */
  s[0].verdict = FSK_VERDICT_LEAK;
  s[0].stats.slope = 0.01;
  s[2].verdict = FSK_VERDICT_LEAK;
  s[2].stats.slope = 3.0;
  s[2].counts[1] = 43;
  fsk_run_finish(&run);
  assert_int_equal(run.verdict, FSK_VERDICT_LEAK);
  assert_int_equal(run.has_projection, 1);
  want = (1024.0 - 43.0) / 3.0 * 300.0 / 3600.0;
  assert_true(fabs(run.projection_hours - want) < 1e-9);
  printf("# %s\n", run.projection_text);
  assert_non_null(strstr(run.projection_text, "exception/api"));
  assert_non_null(strstr(run.projection_text, "runs out of fds (limit 1024) in 27.2 h"));

  /* A cadence of 0 is not a cadence: the production cap is used. */
  run.cycle_period_s = 0.0;
  fsk_run_finish(&run);
  assert_true(run.cycle_period_s == 300.0);

  /* Leak found by identity only (no slope): projected from survivors. */
  s[0].verdict = s[2].verdict = FSK_VERDICT_FLAT;
  s[1].verdict = FSK_VERDICT_LEAK;
  s[1].stats.slope = 0.0;
  s[1].nleaked = 2; /* over 2 post-warm-up samples: 1 per cycle */
  fsk_run_finish(&run);
  s[1].nleaked = 0;
  assert_int_equal(run.has_projection, 1);
  assert_true(fabs(run.projection_hours - 984.0 * 300.0 / 3600.0) < 1e-9);

  /* Unknown limit: still a leak, no projection. */
  run.rlimit_nofile = 0;
  fsk_run_finish(&run);
  assert_int_equal(run.verdict, FSK_VERDICT_LEAK);
  assert_int_equal(run.has_projection, 0);

  fsk_run_finish(NULL);
  for (i = 0; i < 3; i++)
    fsk_scenario_free(&s[i]);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_names),
    cmocka_unit_test(test_t_quantile),
    cmocka_unit_test(test_ols),
    cmocka_unit_test(test_strict),
    cmocka_unit_test(test_stat_small_cases),
    cmocka_unit_test(test_stat_no_false_alarms),
    cmocka_unit_test(test_stat_catches_one_per_hundred),
    cmocka_unit_test(test_stat_catches_one_per_ten_over_300),
    cmocka_unit_test(test_stat_flat_when_climbing_to_a_plateau),
    cmocka_unit_test(test_stat_flat_on_a_step),
    cmocka_unit_test(test_stat_leak_behind_a_climb),
    cmocka_unit_test(test_stat_rate_per_attempt),
    cmocka_unit_test(test_stat_identity),
    cmocka_unit_test(test_realized_rate),
    cmocka_unit_test(test_projection_hours),
    cmocka_unit_test(test_run_finish),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
