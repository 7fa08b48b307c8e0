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

static double rng_unit(uint64_t *s) {
  return (double)(rng_next(s) >> 11) / 9007199254740992.0;
}

#define BASE 40
#define CYCLES 1000
#define WARMUP 50
#define RUNS 200

typedef enum {
  POOL_SLOTS = 0, /* 8 pooled connections, each open or idle: mean-reverting */
  POOL_WALK       /* a plain bounded walk: no pull to a mean (harsher) */
} pool_model_t;

typedef struct {
  int leak_period;      /* +1 fd every this many cycles; 0: none */
  double climb;         /* fds still to come at cycle 0 (plateau approach) */
  double climb_tau;     /* its time constant in cycles */
  double pool_p;        /* chance per cycle that the socket pool changes */
  pool_model_t model;
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
    out[i] = BASE + pool + burst + leak + (int)lround(climb);
  }
}

/* Verdict counts of RUNS seeded runs of one scenario; *ls_alone gets how
 * many the least-squares bound alone would have called a leak. */
static void batch(const sim_t *p, uint64_t seed0, int counts[4], int *ls_alone) {
  int series[CYCLES];
  int r;

  memset(counts, 0, 4 * sizeof counts[0]);
  if (ls_alone)
    *ls_alone = 0;
  for (r = 0; r < RUNS; r++) {
    fsk_stats_t st;
    fsk_verdict_t v;

    simulate(seed0 + (uint64_t)r * 7919u, p, series, CYCLES);
    v = fsk_verdict_stat(series, CYCLES, WARMUP, 0, &st);
    counts[v]++;
    if (ls_alone && st.slope_lo > 0.0)
      (*ls_alone)++;
    assert_true(st.why[0] != '\0');
  }
}

static void print_rates(const char *what, const int c[4]) {
  printf("# %-44s flat %3d  leak %3d  inconclusive %3d  (of %d runs)\n", what, c[FSK_VERDICT_FLAT],
         c[FSK_VERDICT_LEAK], c[FSK_VERDICT_INCONCLUSIVE], RUNS);
}

/* ------------------------------------------------------------------ */
/* Statistical rule on simulated series                                */
/* ------------------------------------------------------------------ */

static void test_stat_no_false_alarms(void **state) {
  sim_t p = {.pool_p = 0.5};
  int c[4], ls;

  batch(&p, 0x5eed0001u, c, &ls);
  print_rates("clean (false alarms = leak):", c);
  printf("# (the least-squares bound alone: %d of %d clean runs red)\n", ls, RUNS);
  assert_int_equal(c[FSK_VERDICT_LEAK], 0);
  /* A clean target should come out flat, not shrug. */
  assert_true(c[FSK_VERDICT_FLAT] >= RUNS * 95 / 100);

  /* Where the rule stops holding (printed, not asserted): a pool that
   * changes only every 5th cycle, and a walk with no pull to its mean. */
  p.pool_p = 0.2;
  batch(&p, 0x5eed0002u, c, NULL);
  print_rates("info: clean, slow pool (p=0.2):", c);
  p.pool_p = 0.5;
  p.model = POOL_WALK;
  batch(&p, 0x5eed0003u, c, NULL);
  print_rates("info: clean, unreverting walk (p=0.5):", c);
}

static void test_stat_catches_one_per_hundred(void **state) {
  sim_t p = {.leak_period = 100, .pool_p = 0.5};
  int c[4];

  batch(&p, 0x1eac0001u, c, NULL);
  print_rates("1 fd / 100 cycles (caught = leak):", c);
  assert_true(c[FSK_VERDICT_LEAK] >= 198);

  p.pool_p = 0.2;
  batch(&p, 0x1eac0002u, c, NULL);
  print_rates("info: 1 fd / 100 cycles, slow pool:", c);
  p.pool_p = 0.5;
  p.model = POOL_WALK;
  batch(&p, 0x1eac0003u, c, NULL);
  print_rates("info: 1 fd / 100 cycles, unreverting walk:", c);
}

/* A warm-up too short for a target still filling its pools: the count
 * climbs by 16 fds (time constant 80 cycles) and then holds; after the
 * 50-cycle warm-up about 9 of them are still to come.  Neither "leak" nor
 * "flat" would be honest. */
static void test_stat_inconclusive_when_still_climbing(void **state) {
  sim_t p = {.climb = 16.0, .climb_tau = 80.0, .pool_p = 0.5};
  int series[CYCLES], c[4];
  fsk_stats_t st;

  batch(&p, 0xc11b0001u, c, NULL);
  print_rates("climbing to a plateau:", c);
  /* A leak verdict here comes from the late-part test alone, on ~760
   * samples, where the rule's own false-alarm rate is ~0.5 %. */
  assert_true(c[FSK_VERDICT_LEAK] <= 2);
  assert_true(c[FSK_VERDICT_INCONCLUSIVE] >= 196);

  simulate(0xc11b0001u, &p, series, CYCLES);
  assert_int_equal(fsk_verdict_stat(series, CYCLES, WARMUP, 0, &st), FSK_VERDICT_INCONCLUSIVE);
  printf("# why: %s\n", st.why);
  assert_non_null(strstr(st.why, "never settled"));
  assert_non_null(strstr(st.why, "--warmup"));

  /* The same target with a warm-up long enough (and as many cycles after
   * it as before) is flat. */
  {
    static int longer[CYCLES + 400];

    simulate(0xc11b0001u, &p, longer, CYCLES + 400);
    assert_int_equal(fsk_verdict_stat(longer, CYCLES + 400, 400, 0, &st), FSK_VERDICT_FLAT);
  }
}

/* A short warm-up must not hide a real leak: once the climb is over the
 * count keeps rising, and that is a leak. */
static void test_stat_leak_behind_a_climb(void **state) {
  sim_t p = {.leak_period = 100, .climb = 16.0, .climb_tau = 80.0, .pool_p = 0.5};
  int c[4];

  batch(&p, 0xc11b1eacu, c, NULL);
  print_rates("climb, then 1 fd / 100 cycles:", c);
  assert_true(c[FSK_VERDICT_LEAK] >= RUNS * 9 / 10);
}

static void test_stat_small_cases(void **state) {
  int flat[40], up[100];
  fsk_stats_t st;
  size_t i;

  for (i = 0; i < 40; i++)
    flat[i] = 12;
  /* 29 samples after warm-up: too few for the rule. */
  assert_int_equal(fsk_verdict_stat(flat, 39, 10, 0, &st), FSK_VERDICT_INCONCLUSIVE);
  assert_int_equal(st.n, 29);
  assert_non_null(strstr(st.why, "30"));
  /* 30: enough, and flat. */
  assert_int_equal(fsk_verdict_stat(flat, 40, 10, 0, &st), FSK_VERDICT_FLAT);
  assert_true(fabs(st.slope) < 1e-12);
  assert_true(st.floor_rise == 0.0);
  /* Identity survivors are proof on their own, even on a short series. */
  assert_int_equal(fsk_verdict_stat(flat, 12, 10, 3, &st), FSK_VERDICT_LEAK);
  assert_non_null(strstr(st.why, "outlived"));
  /* A clean staircase: +1 every 10 cycles. */
  for (i = 0; i < 100; i++)
    up[i] = 20 + (int)i / 10;
  assert_int_equal(fsk_verdict_stat(up, 100, 0, 0, &st), FSK_VERDICT_LEAK);
  assert_true(st.slope > 0.09 && st.slope < 0.11);
  assert_true(st.slope_lo > 0.0 && st.slope_lo < st.slope);
  assert_true(st.floor_rise == 9.0);
  /* Bad input does not crash. */
  assert_int_equal(fsk_verdict_stat(NULL, 100, 0, 0, &st), FSK_VERDICT_INCONCLUSIVE);
  assert_int_equal(fsk_verdict_stat(up, 100, 500, 0, NULL), FSK_VERDICT_INCONCLUSIVE);
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
      cmocka_unit_test(test_stat_inconclusive_when_still_climbing),
      cmocka_unit_test(test_stat_leak_behind_a_climb),
      cmocka_unit_test(test_projection_hours),
      cmocka_unit_test(test_run_finish),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
