/*
 * svg.c - fd-soak.svg: open fds against the program's own units (cycles
 * for `run`, attempts for `watch`, time in interval mode), one line per
 * scenario.
 *
 * The plot has to be readable by someone who does not read numbers: a leak
 * is a line that climbs, flat is flat.  So the y range is never narrower
 * than 10 fds (a one-fd wobble must not fill the height), leaking lines are
 * drawn thicker, the legend says the verdict, and a dashed line marks where
 * warm-up ended (what happens left of it does not count).
 */
#include "fsk.h"
#include "results_internal.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#define SVG_W 1100
#define SVG_H 560
#define PLOT_X0 72.0
#define PLOT_X1 790.0
#define PLOT_Y0 64.0 /* top */
#define PLOT_Y1 490.0
#define LEGEND_X 812.0
#define MAX_POINTS 2000 /* per line: browsers choke on 1e6-point polylines */
#define MIN_Y_SPAN 10.0

/* Okabe-Ito: distinguishable with the common colour-vision deficiencies. */
static const char *const palette[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7",
                                      "#E69F00", "#56B4E9", "#000000"};
#define NPALETTE (sizeof palette / sizeof palette[0])

typedef struct {
  double x_lo, x_hi, y_lo, y_hi;
  /* The x axis: a sample's x (cycle index, cumulative attempts, seconds)
   * divided by x_div is in the unit x_unit names ("cycles", "attempts",
   * "seconds", "minutes", "hours"); x_one is its singular. */
  double x_div;
  const char *x_unit, *x_one;
  const double *vt; /* watch --speed: x is the program's virtual seconds */
} frame_t;

/* Where sample j of s lies, in the samples' own x (with --speed: the
 * program's virtual seconds). */
static double sample_x(const frame_t *f, const fsk_scenario_t *s, size_t j) {
  if (f->vt != NULL)
    return f->vt[j];
  return s->xs != NULL ? s->xs[j] : (double)j;
}

/* The unit of the axis: the scenarios' own (the first with an x sets
 * it), and time in hours once the run is long, in minutes past a few. */
static void x_axis(const fsk_run_t *run, double span, frame_t *f) {
  size_t i;

  f->x_div = 1.0;
  f->x_unit = "cycles";
  f->x_one = "cycle";
  if (f->vt != NULL) {
    f->x_div = 3600.0;
    f->x_unit = "virtual hours (the program's own time)";
    f->x_one = "virtual hour";
    return;
  }
  for (i = 0; i < run->nscen; i++) {
    const fsk_scenario_t *s = &run->scen[i];

    if (s->xs == NULL || s->unit == NULL)
      continue;
    if (strcmp(s->unit, "attempt") == 0) {
      f->x_unit = "attempts";
      f->x_one = "attempt";
    } else if (span >= 2 * 3600.0) {
      f->x_div = 3600.0;
      f->x_unit = "hours";
      f->x_one = "hour";
    } else if (span >= 3 * 60.0) {
      f->x_div = 60.0;
      f->x_unit = "minutes";
      f->x_one = "minute";
    } else {
      f->x_unit = "seconds";
      f->x_one = "second";
    }
    break;
  }
}

static double px(const frame_t *f, double x) {
  return PLOT_X0 + (x - f->x_lo) / (f->x_hi - f->x_lo) * (PLOT_X1 - PLOT_X0);
}

static double py(const frame_t *f, double y) {
  return PLOT_Y1 - (y - f->y_lo) / (f->y_hi - f->y_lo) * (PLOT_Y1 - PLOT_Y0);
}

/* A 1-2-5 step giving about `want` ticks over span, at least min_step. */
static double nice_step(double span, int want, double min_step) {
  double raw = span / want, mag, norm, step;

  if (!(raw > 0.0))
    return min_step;
  mag = pow(10.0, floor(log10(raw)));
  norm = raw / mag;
  step = (norm < 1.5 ? 1.0 : norm < 3.5 ? 2.0 : norm < 7.5 ? 5.0 : 10.0) * mag;
  return step < min_step ? min_step : step;
}

static void frame_of(const fsk_run_t *run, frame_t *f) {
  size_t i, j;
  int lo = 0, hi = 0, any = 0, anyx = 0;
  double xlo = 0.0, xhi = 0.0;

  /* One scenario (watch) with --speed: the axis is its virtual time. */
  f->vt =
    run->nscen == 1 && run->vtime.vt != NULL && run->scen[0].nsamples > 1 ? run->vtime.vt : NULL;
  for (i = 0; i < run->nscen; i++) {
    const fsk_scenario_t *s = &run->scen[i];

    if (s->counts == NULL)
      continue;
    for (j = 0; j < s->nsamples; j++) {
      double x = sample_x(f, s, j);

      if (!any || s->counts[j] < lo)
        lo = s->counts[j];
      if (!any || s->counts[j] > hi)
        hi = s->counts[j];
      if (!anyx || x < xlo)
        xlo = x;
      if (!anyx || x > xhi)
        xhi = x;
      any = anyx = 1;
    }
  }
  x_axis(run, xhi - xlo, f);
  /* Cycles are numbered from 0, as in series.csv; attempts and time
   * start where the samples do. */
  f->x_lo = anyx && xlo > 0.0 && f->x_div == 1.0 && strcmp(f->x_unit, "cycles") != 0 ? xlo : 0.0;
  f->x_hi = anyx && xhi > f->x_lo ? xhi : f->x_lo + 1.0;
  f->y_lo = any ? lo - 1.0 : 0.0;
  f->y_hi = any ? hi + 1.0 : MIN_Y_SPAN;
  if (f->y_hi - f->y_lo < MIN_Y_SPAN) {
    double mid = (f->y_lo + f->y_hi) / 2.0;

    f->y_lo = mid - MIN_Y_SPAN / 2.0;
    f->y_hi = mid + MIN_Y_SPAN / 2.0;
    if (any && lo >= 0 && f->y_lo < 0.0) {
      f->y_hi -= f->y_lo;
      f->y_lo = 0.0;
    }
  }
}

static void axes(FILE *o, const frame_t *f) {
  double step, v;

  fprintf(o,
          "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#ffffff\" "
          "stroke=\"#444444\"/>\n",
          PLOT_X0, PLOT_Y0, PLOT_X1 - PLOT_X0, PLOT_Y1 - PLOT_Y0);
  /* y: whole fds only. */
  step = nice_step(f->y_hi - f->y_lo, 6, 1.0);
  for (v = ceil(f->y_lo / step) * step; v <= f->y_hi + 1e-9; v += step) {
    double y = py(f, v);

    fprintf(o, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e4e4e4\"/>\n",
            PLOT_X0, y, PLOT_X1, y);
    fprintf(o, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#444444\"/>\n",
            PLOT_X0 - 5, y, PLOT_X0, y);
    fprintf(o, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%.0f</text>\n", PLOT_X0 - 8, y + 4,
            v);
  }
  /* x: ticks in the axis's unit (whole cycles and attempts). */
  step = nice_step((f->x_hi - f->x_lo) / f->x_div, 8, f->x_div == 1.0 ? 1.0 : 0.1) * f->x_div;
  for (v = ceil(f->x_lo / step) * step; v <= f->x_hi + 1e-9; v += step) {
    double x = px(f, v);

    fprintf(o, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#444444\"/>\n", x,
            PLOT_Y1, x, PLOT_Y1 + 5);
    fprintf(o, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%.*f</text>\n", x, PLOT_Y1 + 19,
            step / f->x_div < 1.0 ? 1 : 0, v / f->x_div);
  }
  fprintf(o, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n",
          (PLOT_X0 + PLOT_X1) / 2, PLOT_Y1 + 42, f->x_unit);
  fprintf(o,
          "<text x=\"18\" y=\"%.1f\" text-anchor=\"middle\" transform=\"rotate(-90 18 %.1f)\">"
          "open fds</text>\n",
          (PLOT_Y0 + PLOT_Y1) / 2, (PLOT_Y0 + PLOT_Y1) / 2);
}

/* One dashed line per distinct end of warm-up (usually one for the run),
 * labelled in the axis's unit. */
static void warmup_marks(FILE *o, const fsk_run_t *run, const frame_t *f) {
  double done[16];
  size_t i, j, nd = 0;

  for (i = 0; i < run->nscen; i++) {
    const fsk_scenario_t *s = &run->scen[i];
    long w = s->warmup;
    double at, x;
    int seen = 0;

    if (w <= 0 || s->counts == NULL || (size_t)w >= s->nsamples)
      continue;
    /* run: between cycle w-1 (the last warm-up sample) and w; watch: at
     * the first judged sample. */
    at = f->vt != NULL ? f->vt[w] : s->xs != NULL ? s->xs[w] : (double)w - 0.5;
    for (j = 0; j < nd; j++)
      seen |= done[j] == at;
    if (seen || at <= f->x_lo || at >= f->x_hi)
      continue;
    if (nd < sizeof done / sizeof done[0])
      done[nd++] = at;
    x = px(f, at);
    fprintf(o,
            "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#777777\" "
            "stroke-dasharray=\"6 4\"/>\n",
            x, PLOT_Y0, x, PLOT_Y1);
    fprintf(o,
            "<text x=\"%.1f\" y=\"%.1f\" fill=\"#555555\" font-size=\"11\">end of warm-up "
            "(%.*f %s)</text>\n",
            x + 4, PLOT_Y0 + 14, f->x_div == 1.0 ? 0 : 1,
            (f->vt != NULL || s->xs != NULL ? at : (double)w) / f->x_div, f->x_unit);
  }
}

static void point(FILE *o, const frame_t *f, double x, int v, int *first) {
  fprintf(o, "%s%.1f,%.1f", *first ? "" : " ", px(f, x), py(f, v));
  *first = 0;
}

/* At most MAX_POINTS points: per bucket its minimum and maximum in time
 * order, so bursts and the floor both survive the thinning. */
static void line(FILE *o, const fsk_scenario_t *s, const frame_t *f, size_t k) {
  const char *colour = palette[k % NPALETTE];
  int leak = s->verdict == FSK_VERDICT_LEAK, first = 1;
  size_t n = s->counts ? s->nsamples : 0, i, b;

  fprintf(o,
          "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"%s\" "
          "stroke-linejoin=\"round\"%s points=\"",
          colour, leak ? "2.6" : "1.6", k >= NPALETTE ? " stroke-dasharray=\"2 2\"" : "");
  if (n <= MAX_POINTS) {
    for (i = 0; i < n; i++)
      point(o, f, sample_x(f, s, i), s->counts[i], &first);
  } else {
    size_t nb = MAX_POINTS / 2;

    for (b = 0; b < nb; b++) {
      size_t a = b * n / nb, e = (b + 1) * n / nb, imin = a, imax = a;

      for (i = a + 1; i < e; i++) {
        if (s->counts[i] < s->counts[imin])
          imin = i;
        if (s->counts[i] > s->counts[imax])
          imax = i;
      }
      if (imin == imax) {
        point(o, f, sample_x(f, s, imin), s->counts[imin], &first);
      } else if (imin < imax) {
        point(o, f, sample_x(f, s, imin), s->counts[imin], &first);
        point(o, f, sample_x(f, s, imax), s->counts[imax], &first);
      } else {
        point(o, f, sample_x(f, s, imax), s->counts[imax], &first);
        point(o, f, sample_x(f, s, imin), s->counts[imin], &first);
      }
    }
  }
  fputs("\"/>\n", o);
  /* A single sample is a polyline of zero length: mark it. */
  if (n == 1)
    fprintf(o, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>\n", px(f, sample_x(f, s, 0)),
            py(f, s->counts[0]), colour);
}

static void legend(FILE *o, const fsk_scenario_t *s, const frame_t *f, size_t k) {
  const char *colour = palette[k % NPALETTE];
  double y = PLOT_Y0 + 8 + 22.0 * (double)k;
  char text[160];

  fprintf(o,
          "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
          "stroke-width=\"%s\"%s/>\n",
          LEGEND_X, y, LEGEND_X + 28, y, colour, s->verdict == FSK_VERDICT_LEAK ? "2.6" : "1.6",
          k >= NPALETTE ? " stroke-dasharray=\"2 2\"" : "");
  if (s->nsamples && s->verdict == FSK_VERDICT_LEAK && isfinite(s->rate))
    /* The verdict in the program's units: per attempt, per hour, per cycle. */
    snprintf(text, sizeof text, "%s/%s (leak, %+.3g fd/%s)", s->path, s->adapter, s->rate,
             s->unit != NULL && strcmp(s->unit, "hour") == 0 ? "hour"
             : s->xs != NULL                                 ? f->x_one
                                                             : "cycle");
  else
    snprintf(text, sizeof text, "%s/%s (%s)", s->path, s->adapter,
             s->nsamples ? fsk_verdict_name(s->verdict) : "no samples");
  fprintf(o, "<text x=\"%.1f\" y=\"%.1f\"%s>", LEGEND_X + 36, y + 4,
          s->verdict == FSK_VERDICT_LEAK ? " font-weight=\"bold\"" : "");
  fsk__xml_escape(o, text);
  fputs("</text>\n", o);
}

int fsk_write_svg(const char *file, const fsk_run_t *run) {
  fsk__atomic_t a;
  frame_t f;
  char title[160];
  size_t k;
  int r;

  if (file == NULL || run == NULL || (run->scen == NULL && run->nscen > 0))
    return -EINVAL;
  r = fsk__atomic_open(file, &a);
  if (r != 0)
    return r;
  frame_of(run, &f);
  snprintf(title, sizeof title, "fdsoak %s: open fds against %s - %s",
           run->mode ? run->mode : "run", f.x_unit, fsk_verdict_name(run->verdict));
  fprintf(a.f,
          "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
          "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\">\n",
          SVG_W, SVG_H, SVG_W, SVG_H);
  fputs("<title>", a.f);
  fsk__xml_escape(a.f, title);
  fputs("</title>\n", a.f);
  fprintf(a.f, "<rect width=\"%d\" height=\"%d\" fill=\"#fafafa\"/>\n", SVG_W, SVG_H);
  fprintf(a.f, "<text x=\"%.1f\" y=\"26\" font-size=\"16\" font-weight=\"bold\">", PLOT_X0);
  fsk__xml_escape(a.f, title);
  fputs("</text>\n", a.f);
  if (run->verdict == FSK_VERDICT_LEAK && run->projection_text[0]) {
    fprintf(a.f, "<text x=\"%.1f\" y=\"46\" fill=\"#b03000\">", PLOT_X0);
    fsk__xml_escape(a.f, run->projection_text);
    fputs("</text>\n", a.f);
  }
  axes(a.f, &f);
  warmup_marks(a.f, run, &f);
  for (k = 0; k < run->nscen; k++)
    line(a.f, &run->scen[k], &f, k);
  for (k = 0; k < run->nscen; k++)
    legend(a.f, &run->scen[k], &f, k);
  fputs("</svg>\n", a.f);
  return fsk__atomic_close(&a, 0);
}
