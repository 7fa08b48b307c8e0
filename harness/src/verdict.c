/*
 * verdict.c - flat / leak / inconclusive from a per-cycle fd count series,
 * and the projection a person reading a leak report wants.
 *
 * Two rules (background.md, "fd-leak detection facts"):
 *
 * strict  for deterministic targets (the reference gateway in-process):
 *         any post-warm-up sample above the first post-warm-up sample, or
 *         any fd that outlived its cycle, is a leak.
 *
 * stat    for noisy targets: least-squares slope, its lower 99.9 % bound,
 *         the floor rise, identity survivors, and a settling test that
 *         turns "the warm-up was too short" into inconclusive instead of a
 *         guess.  The exact definitions are at fsk_verdict_stat().
 */
#include "fsk.h"
#include "verdict_internal.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Thresholds of the statistical rule.  Each one alone misfires on
 * autocorrelated noise (pooled sockets); together they held 0/400. */
#define STAT_MIN_SAMPLES 30     /* fewer post-warm-up samples: no verdict */
#define STAT_MIN_SLOPE 0.002    /* fd/cycle: below this nothing is worth a red build */
#define STAT_MIN_FLOOR_RISE 2.0 /* fds: the floor, not only the average, must rise */
#define STAT_MIN_WINDOW 10
/* Settling test: how far (fds) the first window may sit below the later
 * trend, and how many times the later windows' own scatter it must exceed
 * before we call the count unsettled. */
#define SETTLE_MIN_DEFICIT 2.0
#define SETTLE_NOISE_FACTOR 4.0

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
static double t_upper(double t, double df) {
  return 0.5 * ibeta(df / 2.0, 0.5, df / (df + t * t));
}

double fsk__t999(double df) {
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

    if (t_upper(mid, df) > 0.001)
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

static double mean_of(const int *y, size_t n) {
  double s = 0.0;
  size_t i;

  for (i = 0; i < n; i++)
    s += y[i];
  return s / (double)n;
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

/* The combined leak test of background.md on x[0..n), n >= 3. */
static int stat_rises(const fsk_stats_t *s) {
  return s->slope_lo > 0.0 && s->slope >= STAT_MIN_SLOPE && s->floor_rise >= STAT_MIN_FLOOR_RISE;
}

/* ------------------------------------------------------------------ */
/* Rules                                                               */
/* ------------------------------------------------------------------ */

static void stats_reset(fsk_stats_t *st) {
  memset(st, 0, sizeof *st);
  st->slope = st->slope_lo = st->floor_rise = NAN;
}

/* Both rules start alike: describe the post-warm-up samples into st, and
 * return how many there are (x points at the first, or NULL). */
static size_t judge_begin(const int *counts, size_t n, size_t warmup, fsk_stats_t *st,
                          const int **x) {
  size_t m = (counts != NULL && n > warmup) ? n - warmup : 0;

  stats_reset(st);
  *x = m ? counts + warmup : NULL;
  if (m)
    describe(*x, m, st);
  return m;
}

/* An fd that outlived its cycle is proof by identity, whatever the count
 * did: it wins even over a short series. */
static fsk_verdict_t judge_survivors(fsk_stats_t *st, size_t survivors) {
  why(st, "%zu fd%s opened after warm-up outlived %s cycle.", survivors,
      survivors == 1 ? "" : "s", survivors == 1 ? "its" : "their");
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
    why(st, "the count rose from %d to %d by cycle %zu after warm-up (strict rule: it may never rise).",
        x[0], x[worst], warmup + worst);
    return FSK_VERDICT_LEAK;
  }
  why(st, "the count never rose above %d in %zu cycles after warm-up and no fd outlived its cycle.",
      x[0], m);
  return FSK_VERDICT_FLAT;
}

/*
 * The statistical rule, on the m = n - warmup samples x[] after warm-up,
 * with W = max(10, m/10) samples per window:
 *
 * 1. survivors > 0 (identity tracking) -> leak.
 * 2. m < 30 -> inconclusive: too few points for a slope bound.
 * 3. "Settled": the count has settled when the first window sits where
 *    the rest of the series says it should.  Fit a least-squares line to
 *    the late samples x[2W..m) (skipping the second window, which a slow
 *    climb still reaches into) and extrapolate it back to the centre of
 *    the first window.  The deficit is that prediction minus the first
 *    window's mean.  The count is unsettled when the deficit is at least
 *    2 fds AND at least 4 times the scatter of the late windows' means
 *    around that line (the noise of a window mean, measured on this very
 *    series, so pooled sockets that wander by several fds raise the bar
 *    by themselves).  In words: after warm-up the count was still
 *    climbing towards a level it only reached later — the warm-up was too
 *    short.  Only a climb counts: a count that falls towards its plateau
 *    cannot fake a leak.
 * 4. Leak test (background.md): slope_lo > 0 AND slope >= 0.002 fd/cycle
 *    AND floor_rise = min(last W) - min(first W) >= 2.
 *    - settled: the leak test on all of x[] decides leak / flat.
 *    - unsettled: the leak test on the late samples x[2W..m) alone
 *      (when there are at least 30): a count that keeps rising after it
 *      should have settled is a leak; otherwise inconclusive, with a
 *      warm-up to use next time (warmup + 2W).
 *
 * st gets slope, bound and floor rise of all m samples either way.
 */
fsk_verdict_t fsk_verdict_stat(const int *counts, size_t n, size_t warmup, size_t survivors,
                               fsk_stats_t *st) {
  fsk_stats_t local, late_st;
  const int *x;
  size_t m, w, lo, nlate, k, nwin;
  double b, a, pred0, deficit, scatter = 0.0;

  if (st == NULL)
    st = &local;
  m = judge_begin(counts, n, warmup, st, &x);
  if (survivors > 0)
    return judge_survivors(st, survivors);
  if (m < STAT_MIN_SAMPLES) {
    why(st, "only %zu samples after a warm-up of %zu cycles; the statistical rule needs %d.", m,
        warmup, STAT_MIN_SAMPLES);
    return FSK_VERDICT_INCONCLUSIVE;
  }

  /* Settling test.  m >= 30 and W <= max(10, m/10) leave >= W late samples. */
  w = window_of(m);
  lo = 2 * w;
  nlate = m - lo;
  fsk__ols(x + lo, nlate, &b, &a, NULL);
  /* The late line is indexed from lo; the first window's centre is at
   * (w-1)/2, i.e. lo - (w-1)/2 before the late origin. */
  pred0 = a + b * ((double)(w - 1) / 2.0 - (double)lo);
  deficit = pred0 - mean_of(x, w);
  nwin = nlate / w;
  if (nwin >= 2) {
    double ss = 0.0;

    for (k = 0; k < nwin; k++) {
      double centre = (double)(k * w) + (double)(w - 1) / 2.0;
      double r = mean_of(x + lo + k * w, w) - (a + b * centre);

      ss += r * r;
    }
    /* Two parameters were fitted to the same samples. */
    scatter = sqrt(ss / (double)(nwin > 2 ? nwin - 2 : 1));
  }

  if (deficit >= SETTLE_MIN_DEFICIT && deficit >= SETTLE_NOISE_FACTOR * scatter) {
    stats_reset(&late_st);
    if (nlate >= STAT_MIN_SAMPLES) {
      describe(x + lo, nlate, &late_st);
      if (stat_rises(&late_st)) {
        why(st, "the count was still climbing after warm-up, and kept rising at %.4f fd/cycle "
            "(lower bound %.4f, floor +%.0f) from cycle %zu on.",
            late_st.slope, late_st.slope_lo, late_st.floor_rise, warmup + lo);
        return FSK_VERDICT_LEAK;
      }
    }
    why(st, "the count never settled: after warm-up it was still climbing (first %zu cycles "
        "%.1f fds below the later level); rerun with --warmup %zu or more.",
        w, deficit, warmup + lo);
    return FSK_VERDICT_INCONCLUSIVE;
  }

  if (stat_rises(st)) {
    why(st, "the count rises %.4f fd/cycle (99.9%% lower bound %.4f > 0) and its floor rose by %.0f.",
        st->slope, st->slope_lo, st->floor_rise);
    return FSK_VERDICT_LEAK;
  }
  if (!(st->slope_lo > 0.0))
    why(st, "no significant trend: slope %.4f fd/cycle, 99.9%% lower bound %.4f.", st->slope,
        st->slope_lo);
  else if (st->slope < STAT_MIN_SLOPE)
    why(st, "slope %.4f fd/cycle is below the %.3f that counts as a leak.", st->slope,
        STAT_MIN_SLOPE);
  else
    why(st, "the average drifted (%.4f fd/cycle) but the floor rose by only %.0f fd.", st->slope,
        st->floor_rise);
  return FSK_VERDICT_FLAT;
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
    h = fsk_projection_hours(rate, last, run->rlimit_nofile, run->cycle_period_s);
    /* The worst scenario is the one that runs out first. */
    if (h >= 0.0 && (worst == NULL || h < worst_h)) {
      worst = s;
      worst_h = h;
      worst_rate = rate;
    }
  }
  run->verdict = any_leak ? FSK_VERDICT_LEAK : any_inc ? FSK_VERDICT_INCONCLUSIVE : FSK_VERDICT_FLAT;

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
    const char *who = (run->mode != NULL && strcmp(run->mode, "watch") == 0) ? "the program"
                                                                           : "the gateway";
    char when[64];

    if (worst_h >= 48.0)
      snprintf(when, sizeof when, "%.1f h (%.1f days)", worst_h, worst_h / 24.0);
    else
      snprintf(when, sizeof when, "%.1f h", worst_h);
    snprintf(run->projection_text, sizeof run->projection_text,
             "%s/%s leaks %.4f fd per attempt: at this rate (one attempt every %.0f s) %s runs "
             "out of fds (limit %d) in %s",
             worst->path, worst->adapter, worst_rate, run->cycle_period_s, who,
             run->rlimit_nofile, when);
  }
}
