/*
 * svg.c - fd-soak.svg: open fds against cycle, one line per scenario.
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
  const double *vt; /* watch --speed: x is the program's virtual hours */
} frame_t;

/* Where sample i lies on the x axis: its cycle, or its virtual hour. */
static double xof(const frame_t *f, size_t i) { return f->vt ? f->vt[i] / 3600.0 : (double)i; }

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
  size_t i, j, maxn = 0;
  int lo = 0, hi = 0, any = 0;

  for (i = 0; i < run->nscen; i++) {
    const fsk_scenario_t *s = &run->scen[i];

    if (s->counts == NULL)
      continue;
    if (s->nsamples > maxn)
      maxn = s->nsamples;
    for (j = 0; j < s->nsamples; j++) {
      if (!any || s->counts[j] < lo)
        lo = s->counts[j];
      if (!any || s->counts[j] > hi)
        hi = s->counts[j];
      any = 1;
    }
  }
  /* Cycles are numbered from 0, as in series.csv. */
  f->x_lo = 0.0;
  f->x_hi = maxn > 1 ? (double)(maxn - 1) : 1.0;
  f->vt = run->nscen == 1 ? run->vtime.vt : NULL;
  if (f->vt != NULL && maxn > 1 && f->vt[maxn - 1] > 0.0)
    f->x_hi = f->vt[maxn - 1] / 3600.0;
  else
    f->vt = NULL;
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
  /* x: whole cycles, or virtual hours. */
  step = nice_step(f->x_hi - f->x_lo, 8, f->vt ? 0.0 : 1.0);
  for (v = ceil(f->x_lo / step) * step; v <= f->x_hi + 1e-9; v += step) {
    double x = px(f, v);

    fprintf(o, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#444444\"/>\n", x,
            PLOT_Y1, x, PLOT_Y1 + 5);
    fprintf(o, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%.4g</text>\n", x, PLOT_Y1 + 19,
            v);
  }
  fprintf(o, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n",
          (PLOT_X0 + PLOT_X1) / 2, PLOT_Y1 + 42,
          f->vt ? "virtual hours (the program's own time)" : "cycle");
  fprintf(o,
          "<text x=\"18\" y=\"%.1f\" text-anchor=\"middle\" transform=\"rotate(-90 18 %.1f)\">"
          "open fds</text>\n",
          (PLOT_Y0 + PLOT_Y1) / 2, (PLOT_Y0 + PLOT_Y1) / 2);
}

/* One dashed line per distinct warm-up length (usually one for the run). */
static void warmup_marks(FILE *o, const fsk_run_t *run, const frame_t *f) {
  size_t i, j;

  for (i = 0; i < run->nscen; i++) {
    long w = run->scen[i].warmup;
    double x;
    int seen = 0;

    for (j = 0; j < i; j++)
      seen |= run->scen[j].warmup == w;
    /* The boundary sits between cycle w-1 (last warm-up sample) and w. */
    if (seen || w <= 0 || (f->vt == NULL && (double)w - 0.5 >= f->x_hi) ||
        (f->vt != NULL && (size_t)w >= run->scen[i].nsamples))
      continue;
    x = px(f, f->vt ? xof(f, (size_t)w) : (double)w - 0.5);
    fprintf(o,
            "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#777777\" "
            "stroke-dasharray=\"6 4\"/>\n",
            x, PLOT_Y0, x, PLOT_Y1);
    fprintf(o,
            "<text x=\"%.1f\" y=\"%.1f\" fill=\"#555555\" font-size=\"11\">end of warm-up "
            "(%ld)</text>\n",
            x + 4, PLOT_Y0 + 14, w);
  }
}

static void point(FILE *o, const frame_t *f, size_t idx, int v, int *first) {
  fprintf(o, "%s%.1f,%.1f", *first ? "" : " ", px(f, xof(f, idx)), py(f, v));
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
      point(o, f, i, s->counts[i], &first);
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
        point(o, f, imin, s->counts[imin], &first);
      } else if (imin < imax) {
        point(o, f, imin, s->counts[imin], &first);
        point(o, f, imax, s->counts[imax], &first);
      } else {
        point(o, f, imax, s->counts[imax], &first);
        point(o, f, imin, s->counts[imin], &first);
      }
    }
  }
  fputs("\"/>\n", o);
  /* A single sample is a polyline of zero length: mark it. */
  if (n == 1)
    fprintf(o, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>\n", px(f, 0.0),
            py(f, s->counts[0]), colour);
}

static void legend(FILE *o, const fsk_scenario_t *s, size_t k) {
  const char *colour = palette[k % NPALETTE];
  double y = PLOT_Y0 + 8 + 22.0 * (double)k;
  char text[160];

  fprintf(o,
          "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
          "stroke-width=\"%s\"%s/>\n",
          LEGEND_X, y, LEGEND_X + 28, y, colour, s->verdict == FSK_VERDICT_LEAK ? "2.6" : "1.6",
          k >= NPALETTE ? " stroke-dasharray=\"2 2\"" : "");
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
  snprintf(title, sizeof title, "fdsoak %s: open fds per cycle - %s", run->mode ? run->mode : "run",
           fsk_verdict_name(run->verdict));
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
    legend(a.f, &run->scen[k], k);
  fputs("</svg>\n", a.f);
  return fsk__atomic_close(&a, 0);
}
