/*
 * verdict.c - flat / leak / inconclusive from a per-cycle fd count series,
 * and the projection a person reading a leak report wants.
 *
 * Two rules (docs/architecture.md, "Deciding"):
 *
 * strict  for deterministic targets (the reference gateway in-process):
 *         any post-warm-up sample above the first post-warm-up sample, or
 *         any fd that outlived its cycle, is a leak.
 *
 * stat    for programs that are not ours (`fdsoak watch`): a leak is
 *         unbounded accumulation -- the count's floor keeps rising, in the
 *         first half of the run and in the second, at a rate that is
 *         significant once the autocorrelation of pooled fds is allowed
 *         for, and (when identity is known) fds opened all along the run
 *         are still open.  A bounded set -- a pool, a cache, keep-alive
 *         sockets, a one-time step, a bounded random walk -- is never a
 *         leak, however large.  The exact definitions are at
 *         fsk_verdict_stat().
 */
#include "fsk.h"
#include "verdict_internal.h"

#include <errno.h>
#include <float.h>
#include <limits.h>
#include <stdlib.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* One-sided tail of each half's growth bound (the whole run's is 0.001). */
#define HALF_TAIL 0.0025
/* Identity evidence alone: the second half's floor rise must be at least
 * this share of the first half's. */
#define ID_LATE_SHARE 0.25
/* ... and the least part of the whole run's slope each half must show. */
#define HALF_RATE 0.25
/* Window of the strict rule's floor description (stats only). */
#define STAT_MIN_WINDOW 10

const char *fsk_verdict_name(fsk_verdict_t v) {
  switch (v) {
  case FSK_VERDICT_FLAT:
    return "flat";
  case FSK_VERDICT_LEAK:
    return "leak";
  case FSK_VERDICT_INCONCLUSIVE:
    return "inconclusive";
  }
  return "unknown";
}

int fsk_exit_code(fsk_verdict_t v) {
  return v == FSK_VERDICT_LEAK   ? FSK_EXIT_LEAK
         : v == FSK_VERDICT_FLAT ? FSK_EXIT_FLAT
                                 : FSK_EXIT_INCONCLUSIVE;
}

static void why(fsk_stats_t *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void why(fsk_stats_t *st, const char *fmt, ...) {
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(st->why, sizeof st->why, fmt, ap);
  va_end(ap);
}

/* ------------------------------------------------------------------ */
/* Student's t                                                         */
/* ------------------------------------------------------------------ */

/* Continued fraction of the incomplete beta function (modified Lentz). */
static double betacf(double a, double b, double x) {
  const double tiny = 1e-300;
  double qab = a + b, qap = a + 1.0, qam = a - 1.0;
  double c = 1.0, d = 1.0 - qab * x / qap;
  double h;
  int m;

  if (fabs(d) < tiny)
    d = tiny;
  d = 1.0 / d;
  h = d;
  for (m = 1; m <= 300; m++) {
    int m2 = 2 * m;
    double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
    double del;

    d = 1.0 + aa * d;
    if (fabs(d) < tiny)
      d = tiny;
    c = 1.0 + aa / c;
    if (fabs(c) < tiny)
      c = tiny;
    d = 1.0 / d;
    h *= d * c;
    aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
    d = 1.0 + aa * d;
    if (fabs(d) < tiny)
      d = tiny;
    c = 1.0 + aa / c;
    if (fabs(c) < tiny)
      c = tiny;
    d = 1.0 / d;
    del = d * c;
    h *= del;
    if (fabs(del - 1.0) < 1e-14)
      break;
  }
  return h;
}

/* Regularized incomplete beta I_x(a, b). */
static double ibeta(double a, double b, double x) {
  double bt;

  if (x <= 0.0)
    return 0.0;
  if (x >= 1.0)
    return 1.0;
  bt = exp(lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x));
  if (x < (a + 1.0) / (a + b + 2.0))
    return bt * betacf(a, b, x) / a;
  return 1.0 - bt * betacf(b, a, 1.0 - x) / b;
}

/* P(T > t) for t >= 0. */
static double t_upper(double t, double df) { return 0.5 * ibeta(df / 2.0, 0.5, df / (df + t * t)); }

double fsk__t999(double df) { return fsk__tq(df, 0.001); }

double fsk__tq(double df, double tail) {
  double lo = 0.0, hi = 1000.0;
  int i;

  /* Fewer than one degree of freedom has no finite bound worth using:
   * an infinite quantile makes the bound -inf, i.e. never "> 0". */
  if (!(df >= 1.0))
    return INFINITY;
  /* The upper tail is monotone in t: bisection is slow but exact enough
   * (60 halvings of 1000 is below 1e-15) and has no failure mode. */
  for (i = 0; i < 60; i++) {
    double mid = 0.5 * (lo + hi);

    if (t_upper(mid, df) > tail)
      lo = mid;
    else
      hi = mid;
  }
  return hi;
}

/* ------------------------------------------------------------------ */
/* Least squares and windows                                           */
/* ------------------------------------------------------------------ */

int fsk__ols(const int *y, size_t n, double *slope, double *intercept, double *slope_lo) {
  double xbar, ybar = 0.0, sxx, sxy = 0.0, syy = 0.0, b, ssr, se;
  size_t i;

  if (y == NULL || n < 3)
    return -EINVAL;
  xbar = (double)(n - 1) / 2.0;
  for (i = 0; i < n; i++)
    ybar += y[i];
  ybar /= (double)n;
  /* Centred sums: counts near 40 over 1e6 cycles would lose digits in
   * the textbook sum(x*y) - n*xbar*ybar form. */
  for (i = 0; i < n; i++) {
    double dx = (double)i - xbar, dy = y[i] - ybar;

    sxy += dx * dy;
    syy += dy * dy;
  }
  sxx = (double)n * ((double)n * (double)n - 1.0) / 12.0;
  b = sxy / sxx;
  ssr = syy - b * sxy;
  if (ssr < 0.0)
    ssr = 0.0; /* rounding on a perfect fit */
  se = sqrt(ssr / (double)(n - 2) / sxx);
  if (slope)
    *slope = b;
  if (intercept)
    *intercept = ybar - b * xbar;
  if (slope_lo)
    *slope_lo = se > 0.0 ? b - fsk__t999((double)(n - 2)) * se : b;
  return 0;
}

/* Window length of the floor and settling tests: a tenth of the series,
 * but never so short that one quiet stretch of noise makes a floor. */
static size_t window_of(size_t n) {
  size_t w = n / 10;

  if (w < STAT_MIN_WINDOW)
    w = STAT_MIN_WINDOW;
  if (w > n)
    w = n;
  return w;
}

static int min_of(const int *y, size_t n) {
  int m = y[0];
  size_t i;

  for (i = 1; i < n; i++)
    if (y[i] < m)
      m = y[i];
  return m;
}

/* Slope, bound and floor rise of x[0..n); NaN where undefined. */
static void describe(const int *x, size_t n, fsk_stats_t *st) {
  size_t w;

  st->n = n;
  st->slope = st->slope_lo = st->floor_rise = NAN;
  if (n == 0)
    return;
  if (n == 2)
    st->slope = (double)(x[1] - x[0]);
  else if (n >= 3)
    fsk__ols(x, n, &st->slope, NULL, &st->slope_lo);
  w = window_of(n);
  st->floor_rise = (double)(min_of(x + n - w, w) - min_of(x, w));
}

/* ------------------------------------------------------------------ */
/* Rules                                                               */
/* ------------------------------------------------------------------ */

static void stats_reset(fsk_stats_t *st) {
  memset(st, 0, sizeof *st);
  st->slope = st->slope_lo = st->floor_rise = NAN;
}

/* Describe the post-warm-up samples into st, and return how many there
 * are (x points at the first, or NULL). */
static size_t judge_begin(const int *counts, size_t n, size_t warmup, fsk_stats_t *st,
                          const int **x) {
  size_t m = (counts != NULL && n > warmup) ? n - warmup : 0;

  stats_reset(st);
  *x = m ? counts + warmup : NULL;
  if (m)
    describe(*x, m, st);
  return m;
}

/* For the deterministic gateway, an fd that outlived its cycle is proof by
 * identity, whatever the count did: it wins even over a short series. */
static fsk_verdict_t judge_survivors(fsk_stats_t *st, size_t survivors) {
  why(st, "%zu fd%s opened after warm-up outlived %s cycle.", survivors, survivors == 1 ? "" : "s",
      survivors == 1 ? "its" : "their");
  return FSK_VERDICT_LEAK;
}

fsk_verdict_t fsk_verdict_strict(const int *counts, size_t n, size_t warmup, size_t survivors,
                                 fsk_stats_t *st) {
  fsk_stats_t local;
  const int *x;
  size_t m, i, worst = 0;

  if (st == NULL)
    st = &local;
  m = judge_begin(counts, n, warmup, st, &x);
  if (survivors > 0)
    return judge_survivors(st, survivors);
  if (m < 2) {
    why(st, "only %zu sample%s after a warm-up of %zu cycles: nothing to compare.", m,
        m == 1 ? "" : "s", warmup);
    return FSK_VERDICT_INCONCLUSIVE;
  }
  for (i = 1; i < m; i++)
    if (x[i] > x[worst])
      worst = i;
  if (x[worst] > x[0]) {
    why(st,
        "the count rose from %d to %d by cycle %zu after warm-up (strict rule: it may never rise).",
        x[0], x[worst], warmup + worst);
    return FSK_VERDICT_LEAK;
  }
  why(st, "the count never rose above %d in %zu cycles after warm-up and no fd outlived its cycle.",
      x[0], m);
  return FSK_VERDICT_FLAT;
}

/* ------------------------------------------------------------------ */
/* The statistical rule: unbounded accumulation, not survivors          */
/* ------------------------------------------------------------------ */

/*
 * Least squares of y against x (x nondecreasing, not all equal), with the
 * lag-1 autocorrelation of the residuals.  A pool or a random walk moves in
 * long runs, so its residuals are strongly correlated and n samples carry
 * far fewer than n independent pieces of evidence; the slope's standard
 * error is inflated accordingly (AR(1): variance x (1+r)/(1-r)).
 */
int fsk__olsx(const double *x, const int *y, size_t n, fsk__fit_t *f) {
  double xbar = 0.0, ybar = 0.0, sxx = 0.0, sxy = 0.0, ssr = 0.0, num = 0.0, den = 0.0, prev = 0.0;
  size_t i;

  if (x == NULL || y == NULL || f == NULL || n < 3)
    return -EINVAL;
  for (i = 0; i < n; i++) {
    xbar += x[i];
    ybar += y[i];
  }
  xbar /= (double)n;
  ybar /= (double)n;
  for (i = 0; i < n; i++) {
    sxx += (x[i] - xbar) * (x[i] - xbar);
    sxy += (x[i] - xbar) * (y[i] - ybar);
  }
  if (!(sxx > 0.0))
    return -EDOM; /* every sample at the same x: no slope */
  f->slope = sxy / sxx;
  f->intercept = ybar - f->slope * xbar;
  for (i = 0; i < n; i++) {
    double r = y[i] - (f->intercept + f->slope * x[i]);

    ssr += r * r;
    den += r * r;
    if (i > 0)
      num += r * prev;
    prev = r;
  }
  f->r1 = den > 0.0 ? num / den : 0.0;
  if (f->r1 < 0.0)
    f->r1 = 0.0; /* anti-correlation would shrink the bound: never trust that */
  if (f->r1 > 0.98)
    f->r1 = 0.98;
  f->n_eff = (double)n * (1.0 - f->r1) / (1.0 + f->r1);
  if (f->n_eff < 3.0)
    f->n_eff = 3.0;
  f->se = sqrt(ssr / (double)(n - 2) / sxx) * sqrt((1.0 + f->r1) / (1.0 - f->r1));
  f->slope_lo = f->se > 0.0 ? f->slope - fsk__t999(f->n_eff - 2.0) * f->se : f->slope;
  return 0;
}

/* Floor (minimum) of the samples whose x lies in [lo, hi); INT_MAX if none. */
static int floor_in(const double *x, const int *y, size_t n, double lo, double hi) {
  int m = INT_MAX;
  size_t i;

  for (i = 0; i < n; i++)
    if (x[i] >= lo && x[i] < hi && y[i] < m)
      m = y[i];
  return m;
}

double fsk_realized_rate(const int *y, const double *x, size_t n) {
  size_t w, i, a = 0, b;

  if (y == NULL || x == NULL || n < 2)
    return NAN;
  w = n / 10 < 3 ? (n < 6 ? 1 : 3) : n / 10;
  /* The floor of each end window, at the last sample that held it: the
   * count at a quiescent moment, with what leaked so far and nothing in
   * flight. */
  for (i = 1; i < w; i++)
    if (y[i] <= y[a])
      a = i;
  b = n - w;
  for (i = n - w + 1; i < n; i++)
    if (y[i] <= y[b])
      b = i;
  if (!(x[b] > x[a]))
    return NAN;
  return (double)(y[b] - y[a]) / (x[b] - x[a]);
}

/* Distinct first-seen moments among the survivors born in [lo, hi). */
static size_t distinct_births(const double *born, size_t n, double lo, double hi) {
  size_t i, j, k = 0;

  for (i = 0; born != NULL && i < n; i++) {
    if (!(born[i] >= lo && born[i] < hi))
      continue;
    for (j = 0; j < i; j++)
      if (born[j] == born[i])
        break;
    if (j == i)
      k++;
  }
  return k;
}

fsk_verdict_t fsk_verdict_stat(const fsk_series_t *s, fsk_stats_t *st) {
  fsk_stats_t local;
  fsk__fit_t fit;
  fsk__fit_t hf;
  double *xs = NULL, span, q, mid, half_lo[2];
  const int *y;
  int fl[4];
  size_t m, i, born_early = 0, born_late = 0;
  int id_kept, grows;
  const char *unit;
  fsk_verdict_t v = FSK_VERDICT_INCONCLUSIVE;

  if (st == NULL)
    st = &local;
  stats_reset(st);
  if (s == NULL || s->counts == NULL || s->n <= s->warmup) {
    why(st, "no samples after warm-up.");
    return FSK_VERDICT_INCONCLUSIVE;
  }
  m = s->n - s->warmup;
  y = s->counts + s->warmup;
  unit = s->unit != NULL ? s->unit : "cycle";
  st->n = m;
  if (m < FSK_STAT_MIN_SAMPLES) {
    why(st, "only %zu samples after warm-up; the statistical rule needs %d: run more cycles.", m,
        FSK_STAT_MIN_SAMPLES);
    return FSK_VERDICT_INCONCLUSIVE;
  }
  if ((xs = malloc(m * sizeof *xs)) == NULL) {
    why(st, "out of memory.");
    return FSK_VERDICT_INCONCLUSIVE;
  }
  for (i = 0; i < m; i++)
    xs[i] = s->x != NULL ? s->x[s->warmup + i] : (double)i;
  span = xs[m - 1] - xs[0];
  if (!(span > 0.0) || fsk__olsx(xs, y, m, &fit) != 0) {
    why(st, "no %ss happened after warm-up: nothing to relate the count to.", unit);
    goto out;
  }
  st->slope = fit.slope;
  st->slope_lo = fit.slope_lo;

  /* The floor of each quarter of the span: pooled and in-flight fds come
   * and go above it, accumulated ones raise it. */
  q = span / 4.0;
  for (i = 0; i < 4; i++)
    fl[i] =
      floor_in(xs, y, m, xs[0] + q * (double)i, i == 3 ? INFINITY : xs[0] + q * (double)(i + 1));
  for (i = 0; i < 4; i++)
    if (fl[i] == INT_MAX) {
      why(st, "the samples after warm-up do not cover the run (a quarter of it has none); "
              "run more cycles.");
      goto out;
    }
  st->floor_rise = (double)(fl[3] - fl[0]);
  /* A leak keeps growing: each half of the run, fitted on its own, shows
   * significant growth, and the floor rises across each half (F3 > F1,
   * F4 > F2).  A set that grew and then held -- a pool grown
   * lazily, a cache filled, a one-time step -- grows in one half only. */
  mid = xs[0] + span / 2.0;
  for (i = 0; i < m && xs[i] < mid; i++)
    ;
  half_lo[0] = half_lo[1] = -INFINITY;
  /* Each half confirms the whole (already significant at 99.9 %): a 99 %
   * one-sided bound each is enough there. */
  /* And each at a good part of the whole's rate: the tail of a climb to a
   * plateau can look significant on its own, but not at the rate of the
   * climb itself. */
  if (i >= 3 && fsk__olsx(xs, y, i, &hf) == 0 && hf.slope >= HALF_RATE * fit.slope)
    half_lo[0] = hf.slope - fsk__tq(hf.n_eff - 2.0, HALF_TAIL) * hf.se;
  if (m - i >= 3 && fsk__olsx(xs + i, y + i, m - i, &hf) == 0 && hf.slope >= HALF_RATE * fit.slope)
    half_lo[1] = hf.slope - fsk__tq(hf.n_eff - 2.0, HALF_TAIL) * hf.se;

  for (i = 0; s->born != NULL && i < s->nsurvivors; i++) {
    if (s->born[i] < mid)
      born_early++;
    else
      born_late++;
  }

  /* Identity evidence of accumulation: fds still open that were first seen
   * at several distinct moments, in both halves of the run.  A leak that
   * strikes at random attempts is a counting process: its count departs
   * from any straight line in long runs, exactly like a pooled set, so
   * the autocorrelation-corrected bounds alone would miss it; the fds
   * themselves show it is kept, not replaced. */
  {
    size_t early = distinct_births(s->born, s->nsurvivors, -INFINITY, mid);
    size_t late = distinct_births(s->born, s->nsurvivors, mid, INFINITY);

    /* Kept from both halves, at four moments or more: a random-strike leak
     * at 1 in 100 may strike once in one half and eight times in the
     * other.  A set that grew and held was born in one half; a one-time
     * step at one moment. */
    id_kept = s->identity && early >= 1 && late >= 1 && early + late >= 4;
  }
  /* ... and without the significance tests, the floor must not be slowing
   * to a halt: a cache still filling keeps fds from both halves too, but
   * rises in the second half by a fraction of the first (measured: an LRU
   * of 32 handles, floors 29 49 52 52).  A leak rises in both alike. */
  if (id_kept && !(fit.slope_lo > 0.0 && half_lo[0] > 0.0 && half_lo[1] > 0.0) &&
      (double)(fl[3] - fl[1]) < ID_LATE_SHARE * (double)(fl[2] - fl[0]))
    id_kept = 0;
  grows = fit.slope_lo > 0.0 && half_lo[0] > 0.0 && half_lo[1] > 0.0;

  if (!(fit.slope > 0.0) || (!(fit.slope_lo > 0.0) && !id_kept)) {
    why(st,
        "no significant growth: trend %.4f fd/%s, 99.9%% lower bound %.4f (autocorrelation %.2f); "
        "the count moves within a bounded range.",
        fit.slope, unit, fit.slope_lo, fit.r1);
    v = FSK_VERDICT_FLAT;
  } else if (fit.slope < s->min_rate) {
    why(st, "growth of %.5f fd/%s is below the %.4f that counts as a leak.", fit.slope, unit,
        s->min_rate);
    v = FSK_VERDICT_FLAT;
  } else if (fl[3] - fl[0] < FSK_STAT_MIN_RISE) {
    why(st,
        "the floor of the count rose by only %d fd (a leak needs %d): the rise is noise "
        "above a steady floor.",
        fl[3] - fl[0], FSK_STAT_MIN_RISE);
    v = FSK_VERDICT_FLAT;
  } else if ((!grows && !id_kept) || fl[2] <= fl[0] || fl[3] <= fl[1]) {
    why(st,
        "bounded: the count grew in the %s half of the run only (floor by quarter %d %d %d "
        "%d); a set that grew and then held (a pool, a cache, a one-time step) is not a leak.",
        half_lo[0] > 0.0 && fl[2] > fl[0]   ? "first"
        : half_lo[1] > 0.0 && fl[3] > fl[1] ? "second"
                                            : "one",
        fl[0], fl[1], fl[2], fl[3]);
    v = FSK_VERDICT_FLAT;
  } else if (s->identity && (born_early == 0 || born_late == 0 || s->nsurvivors < 2)) {
    why(st,
        "the count rose, but the fds opened after warm-up that are still open (%zu: %zu "
        "from the first half, %zu from the second) do not accumulate: they are replaced, "
        "not kept.",
        s->nsurvivors, born_early, born_late);
    v = FSK_VERDICT_FLAT;
  } else {
    /* No rate here: the report gives one (fsk_realized_rate), in the table
     * and the projection alike. */
    why(st,
        "accumulating: the floor of the count rose all along the run (by quarter %d %d %d "
        "%d), significantly%s.",
        fl[0], fl[1], fl[2], fl[3],
        s->identity ? ", and fds opened all along it are still open" : "");
    v = FSK_VERDICT_LEAK;
  }
out:
  free(xs);
  return v;
}

/* ------------------------------------------------------------------ */
/* Projection                                                          */
/* ------------------------------------------------------------------ */

double fsk_projection_hours(double per_cycle, int fd_now, int rlimit, double period_s) {
  double left;

  if (!(per_cycle > 0.0) || !(period_s > 0.0) || rlimit <= 0 || isinf(per_cycle))
    return -1.0;
  left = (double)rlimit - (double)fd_now;
  if (left <= 0.0)
    return 0.0; /* already at the limit */
  return left / per_cycle * period_s / 3600.0;
}

/* The rate a leaking scenario projects with: its slope, or — when the
 * count is too short or flat to trend but identity tracking caught fds —
 * the survivors spread over the cycles after warm-up. */
static double leak_rate(const fsk_scenario_t *s) {
  double r = s->stats.slope;

  /* watch measured its rate against attempts or time (fsk_scenario_judge):
   * survivors per sample would be a rate per sample, in no one's unit. */
  if (s->xs != NULL)
    return isfinite(s->rate) && s->rate > 0.0 ? s->rate : 0.0;
  {
    size_t post = s->nsamples > (size_t)(s->warmup > 0 ? s->warmup : 0)
                    ? s->nsamples - (size_t)(s->warmup > 0 ? s->warmup : 0)
                    : 0;

    if (!(r > 0.0))
      r = 0.0;
    if (s->nleaked > 0 && post > 0) {
      double by_id = (double)s->nleaked / (double)post;

      if (by_id > r)
        r = by_id;
    }
    return r;
  }
}

static int per_hour(const fsk_scenario_t *s) {
  return s->unit != NULL && strcmp(s->unit, "hour") == 0;
}

void fsk_run_finish(fsk_run_t *run) {
  const fsk_scenario_t *worst = NULL;
  double worst_h = -1.0, worst_rate = 0.0;
  int any_leak = 0, any_inc = 0;
  size_t i;

  if (run == NULL)
    return;
  /* A zero or garbage cadence would make every projection meaningless;
   * 300 s is the production backoff cap the projection is about. */
  if (!(run->cycle_period_s > 0.0) || isinf(run->cycle_period_s))
    run->cycle_period_s = 300.0;
  run->has_projection = 0;
  run->projection_hours = -1.0;
  for (i = 0; run->scen != NULL && i < run->nscen; i++) {
    const fsk_scenario_t *s = &run->scen[i];
    double rate, h;
    int last;

    if (s->verdict == FSK_VERDICT_INCONCLUSIVE)
      any_inc = 1;
    if (s->verdict != FSK_VERDICT_LEAK)
      continue;
    any_leak = 1;
    rate = leak_rate(s);
    last = (s->counts != NULL && s->nsamples > 0) ? s->counts[s->nsamples - 1] : 0;
    h = fsk_projection_hours(rate, last, run->rlimit_nofile,
                             per_hour(s) ? 3600.0 : run->cycle_period_s);
    /* The worst scenario is the one that runs out first. */
    if (h >= 0.0 && (worst == NULL || h < worst_h)) {
      worst = s;
      worst_h = h;
      worst_rate = rate;
    }
  }
  run->verdict = any_leak  ? FSK_VERDICT_LEAK
                 : any_inc ? FSK_VERDICT_INCONCLUSIVE
                           : FSK_VERDICT_FLAT;

  if (!any_leak) {
    snprintf(run->projection_text, sizeof run->projection_text, "%s: no projection",
             any_inc ? "inconclusive" : "flat");
    return;
  }
  if (worst == NULL) {
    snprintf(run->projection_text, sizeof run->projection_text,
             run->rlimit_nofile > 0 ? "leak, but no rising rate to project from"
                                    : "leak, but the fd limit is unknown: no projection");
    return;
  }
  run->has_projection = 1;
  run->projection_hours = worst_h;
  {
    const char *who =
      (run->mode != NULL && strcmp(run->mode, "watch") == 0) ? "the program" : "the gateway";
    char when[64];

    if (worst_h >= 48.0)
      snprintf(when, sizeof when, "%.1f h (%.1f days)", worst_h, worst_h / 24.0);
    else
      snprintf(when, sizeof when, "%.1f h", worst_h);
    /* --speed: the program's own hours, from its own schedule. */
    if (run->vtime.speed > 0.0)
      snprintf(when, sizeof when, "%.1f virtual hours (%.1f s at x%g)", worst_h,
               worst_h * 3600.0 / run->vtime.speed, run->vtime.speed);
    if (per_hour(worst))
      snprintf(run->projection_text, sizeof run->projection_text,
               "%s/%s leaks %.1f fd per %s: at this rate %s runs out of fds (limit %d) in %s",
               worst->path, worst->adapter, worst_rate,
               run->vtime.speed > 0.0 ? "virtual hour" : "hour of wall time", who,
               run->rlimit_nofile, when);
    else if (run->vtime.speed > 0.0)
      snprintf(run->projection_text, sizeof run->projection_text,
               "%s/%s leaks %.4f fd per attempt, %.1f per virtual hour (its own schedule: one "
               "attempt every %.0f virtual s): at this rate %s runs out of fds (limit %d) in %s",
               worst->path, worst->adapter, worst_rate, worst_rate * 3600.0 / run->cycle_period_s,
               run->cycle_period_s, who, run->rlimit_nofile, when);
    else
      snprintf(run->projection_text, sizeof run->projection_text,
               "%s/%s leaks %.4f fd per %s: at this rate (one attempt every %.0f s) %s runs "
               "out of fds (limit %d) in %s",
               worst->path, worst->adapter, worst_rate,
               worst->unit != NULL ? worst->unit : "attempt", run->cycle_period_s, who,
               run->rlimit_nofile, when);
  }
}
