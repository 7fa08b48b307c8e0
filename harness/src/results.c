/*
 * results.c - scenario series, and the result files of docs/architecture.md:
 * summary.json, series.csv, junit.xml (fd-soak.svg is in svg.c), the
 * results/latest link and the table on stdout.
 *
 * Every file is written to DIR/.NAME.tmp and renamed over DIR/NAME, so a CI
 * job or the release gate that reads a result never sees half of one.
 */
#include "fsk.h"
#include "grow.h"
#include "results_internal.h"

#include <cJSON.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* fdtable.c owns the class names.  Until it is linked in (the results
 * unit test links only this part of the library) this fallback keeps
 * the writers usable; a strong definition replaces it at link time. */
__attribute__((weak)) const char *fsk_fdclass_name(fsk_fdclass_t c) {
  static const char *const names[FSK_FD_CLASS_COUNT] = {
    "file",    "socket",  "pipe", "eventpoll", "eventfd", "signalfd",
    "timerfd", "inotify", "anon", "device",    "other"};

  return ((unsigned)c < FSK_FD_CLASS_COUNT) ? names[c] : "other";
}

/* ------------------------------------------------------------------ */
/* Scenarios                                                           */
/* ------------------------------------------------------------------ */

static void copy_str(char *dst, size_t cap, const char *src) {
  snprintf(dst, cap, "%s", src ? src : "");
}

void fsk_scenario_init(fsk_scenario_t *s, const char *path, const char *adapter, long warmup) {
  if (s == NULL)
    return;
  memset(s, 0, sizeof *s);
  copy_str(s->path, sizeof s->path, path);
  copy_str(s->adapter, sizeof s->adapter, adapter);
  s->warmup = warmup > 0 ? warmup : 0;
  s->verdict = FSK_VERDICT_INCONCLUSIVE; /* nothing judged yet */
  s->stats.slope = s->stats.slope_lo = s->stats.floor_rise = NAN;
  s->rate = NAN;
  s->unit = "cycle";
}

static int scenario_grow(fsk_scenario_t *s, int with_x) {
  /* The counts set the capacity and the other arrays follow it exactly:
   * doubling from the same s->cap lands on the same figure, and xs, met
   * for the first time, starts at it.  s->cap moves only once all of them
   * have it, so a failure leaves the scenario consistent (an array that
   * grew is still owned, and merely larger than s->cap says). */
  size_t cap = s->cap, ccap = s->cap, xcap = s->xs != NULL ? s->cap : 0;
  double *xs0 = s->xs;
  int rc;

  if ((rc = fsk__grow(&s->counts, &cap, s->nsamples + 1, sizeof *s->counts, 1024)) != 0 ||
      (rc = fsk__grow(&s->class_counts, &ccap, cap, sizeof *s->class_counts, cap)) != 0)
    return rc;
  if (with_x || s->xs != NULL) {
    if ((rc = fsk__grow(&s->xs, &xcap, cap, sizeof *s->xs, cap)) != 0)
      return rc;
    if (xs0 == NULL) /* samples pushed without x so far: their index */
      for (size_t i = 0; i < s->nsamples; i++)
        s->xs[i] = (double)i;
  }
  s->cap = cap;
  return 0;
}

/* with_x: x is the sample's place; else the sample index is. */
static int scenario_push(fsk_scenario_t *s, int count, const int *class_counts, int with_x,
                         double x) {
  int rc;

  if (s == NULL || (with_x && !isfinite(x)))
    return -EINVAL;
  if ((rc = scenario_grow(s, with_x)) != 0)
    return rc;
  if (s->xs != NULL)
    s->xs[s->nsamples] = with_x ? x : (double)s->nsamples;
  s->counts[s->nsamples] = count;
  if (class_counts)
    memcpy(s->class_counts[s->nsamples], class_counts, sizeof s->class_counts[0]);
  else
    memset(s->class_counts[s->nsamples], 0, sizeof s->class_counts[0]);
  s->nsamples++;
  /* As `--cycles` counts them: the cycles after warm-up. */
  s->cycles = (long)s->nsamples > s->warmup ? (long)s->nsamples - s->warmup : 0;
  return 0;
}

int fsk_scenario_push(fsk_scenario_t *s, int count, const int *class_counts) {
  return scenario_push(s, count, class_counts, 0, 0.0);
}

int fsk_scenario_push_x(fsk_scenario_t *s, int count, const int *class_counts, double x) {
  return scenario_push(s, count, class_counts, 1, x);
}

int fsk_scenario_set_leaked(fsk_scenario_t *s, const fsk_leak_t *leaked, size_t n) {
  fsk_leak_t *l = NULL;

  if (s == NULL || (leaked == NULL && n > 0))
    return -EINVAL;
  if (n > 0) {
    l = malloc(n * sizeof *l);
    if (l == NULL)
      return -ENOMEM;
    memcpy(l, leaked, n * sizeof *l);
  }
  free(s->leaked);
  s->leaked = l;
  s->nleaked = n;
  return 0;
}

fsk_verdict_t fsk_scenario_judge(fsk_scenario_t *s, int strict) {
  size_t warmup;

  if (s == NULL)
    return FSK_VERDICT_INCONCLUSIVE;
  warmup = (size_t)(s->warmup > 0 ? s->warmup : 0);
  if (strict) {
    s->verdict = fsk_verdict_strict(s->counts, s->nsamples, warmup, s->nleaked, &s->stats);
    s->rate = s->stats.slope;
  } else {
    fsk_series_t ser = {.counts = s->counts, .x = s->xs, .n = s->nsamples, .warmup = warmup};
    double *born = NULL;
    size_t i;
    int hour = s->unit != NULL && strcmp(s->unit, "hour") == 0;

    /* Interval mode measures against seconds and reports per hour. */
    ser.unit = hour ? "second" : s->unit != NULL ? s->unit : "cycle";
    ser.min_rate = hour ? 0.0 : FSK_STAT_MIN_RATE;
    if (s->nleaked > 0 && (born = malloc(s->nleaked * sizeof *born)) != NULL) {
      for (i = 0; i < s->nleaked; i++)
        born[i] = (double)s->leaked[i].opened_cycle;
    }
    ser.identity = s->nleaked == 0 || born != NULL;
    ser.born = born;
    ser.nsurvivors = born != NULL ? s->nleaked : 0;
    s->verdict = fsk_verdict_stat(&ser, &s->stats);
    s->rate = s->xs != NULL && s->nsamples > warmup
                ? fsk_realized_rate(s->counts + warmup, s->xs + warmup, s->nsamples - warmup)
                : s->stats.slope;
    if (hour)
      s->rate *= 3600.0;
    free(born);
  }
  return s->verdict;
}

void fsk_scenario_free(fsk_scenario_t *s) {
  if (s == NULL)
    return;
  free(s->counts);
  free(s->class_counts);
  free(s->leaked);
  free(s->xs);
  s->counts = NULL;
  s->class_counts = NULL;
  s->leaked = NULL;
  s->xs = NULL;
  s->nsamples = s->cap = s->nleaked = 0;
}

/* First and last post-warm-up sample; 0 when there is none. */
int fsk__scenario_ends(const fsk_scenario_t *s, int *first, int *last) {
  size_t w = (size_t)(s->warmup > 0 ? s->warmup : 0);

  if (s->counts == NULL || s->nsamples <= w)
    return -ENODATA;
  *first = s->counts[w];
  *last = s->counts[s->nsamples - 1];
  return 0;
}

/* ------------------------------------------------------------------ */
/* summary.json                                                        */
/* ------------------------------------------------------------------ */

/* cJSON prints NaN as null, which is what an undefined statistic is. */
static cJSON *num_or_null(double v) {
  return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull();
}

/* The findings (finding.c), every group: what a reader of the file wants
 * first, and what `fdsoak report` and SARIF are made from. */
static void groups_json(cJSON *o, const fsk_scenario_t *s) {
  cJSON *arr = cJSON_AddArrayToObject(o, "groups");
  fsk_group_t *g = NULL;
  size_t n = 0, i;

  if (arr == NULL || fsk_group_leaks(s, &g, &n) != 0)
    return;
  for (i = 0; i < n; i++) {
    cJSON *e = cJSON_CreateObject(), *w;

    if (e == NULL)
      break;
    cJSON_AddNumberToObject(e, "count", (double)g[i].count);
    fsk__json_str(e, "class", fsk_fdclass_name(g[i].cls));
    fsk__json_str(e, "target", g[i].target);
    w = cJSON_AddObjectToObject(e, "where");
    fsk__json_str(w, "function", g[i].where.fn);
    if (g[i].where.line > 0) {
      fsk__json_str(w, "file", g[i].where.file);
      cJSON_AddNumberToObject(w, "line", g[i].where.line);
    }
    cJSON_AddNumberToObject(e, "first_opened", (double)g[i].first);
    cJSON_AddNumberToObject(e, "last_opened", (double)g[i].last);
    cJSON_AddBoolToObject(e, "exact", g[i].exact != 0);
    if (g[i].pid > 0)
      cJSON_AddNumberToObject(e, "pid", (double)g[i].pid);
    fsk__json_str(e, "stack", s->leaked[g[i].sample].origin);
    cJSON_AddItemToArray(arr, e);
  }
  free(g);
}

static cJSON *scenario_json(const fsk_scenario_t *s) {
  cJSON *o = cJSON_CreateObject(), *leaked;
  int first, last;
  size_t i;

  if (o == NULL)
    return NULL;
  fsk__json_str(o, "path", s->path);
  fsk__json_str(o, "adapter", s->adapter);
  cJSON_AddNumberToObject(o, "cycles", (double)s->cycles);
  /* watch: the warm-up as the user gave it (attempts); the sample it
   * ended at is warmup_samples. */
  cJSON_AddNumberToObject(o, "warmup", s->xs != NULL ? s->warmup_x : (double)s->warmup);
  if (s->xs != NULL)
    cJSON_AddNumberToObject(o, "warmup_samples", (double)s->warmup);
  if (fsk__scenario_ends(s, &first, &last) == 0) {
    cJSON_AddNumberToObject(o, "fd_first", first);
    cJSON_AddNumberToObject(o, "fd_last", last);
  } else {
    cJSON_AddNullToObject(o, "fd_first");
    cJSON_AddNullToObject(o, "fd_last");
  }
  cJSON_AddItemToObject(o, "slope_fds_per_cycle", num_or_null(s->stats.slope));
  if (s->xs != NULL) {
    /* watch: one rate, in the user's unit (per attempt, or per hour). */
    cJSON *r = cJSON_AddObjectToObject(o, "rate");

    if (r != NULL) {
      cJSON_AddItemToObject(r, "fds", num_or_null(s->rate));
      fsk__json_str(r, "per", s->unit != NULL ? s->unit : "cycle");
    }
    cJSON_AddNumberToObject(o, "samples", (double)s->nsamples);
    if (s->unit != NULL && strcmp(s->unit, "attempt") == 0)
      cJSON_AddNumberToObject(o, "attempts", s->attempts);
    cJSON_AddNumberToObject(o, "leaked_without_origin", (double)s->no_origin);
  }
  cJSON_AddItemToObject(o, "slope_lower_bound", num_or_null(s->stats.slope_lo));
  cJSON_AddItemToObject(o, "floor_rise", num_or_null(s->stats.floor_rise));
  cJSON_AddNumberToObject(o, "seconds", isfinite(s->seconds) ? s->seconds : 0.0);
  if (s->has_rss)
    cJSON_AddNumberToObject(o, "rss_growth_kib", (double)s->rss_growth_kib);
  else
    cJSON_AddNullToObject(o, "rss_growth_kib");
  if (s->has_heap)
    cJSON_AddNumberToObject(o, "heap_growth_kib", (double)s->heap_growth_kib);
  else
    cJSON_AddNullToObject(o, "heap_growth_kib");
  fsk__json_str(o, "verdict", fsk_verdict_name(s->verdict));
  fsk__json_str(o, "why", s->stats.why);
  leaked = cJSON_AddArrayToObject(o, "leaked");
  for (i = 0; leaked != NULL && s->leaked != NULL && i < s->nleaked; i++) {
    const fsk_leak_t *l = &s->leaked[i];
    cJSON *e = cJSON_CreateObject();

    if (e == NULL)
      break;
    cJSON_AddNumberToObject(e, "fd", l->fd);
    if (l->pid > 0)
      cJSON_AddNumberToObject(e, "pid", (double)l->pid);
    fsk__json_str(e, "target", l->target);
    fsk__json_str(e, "class", fsk_fdclass_name(l->cls));
    cJSON_AddNumberToObject(e, "opened_cycle", (double)l->opened_cycle);
    cJSON_AddBoolToObject(e, "opened_exact", l->opened_exact != 0);
    fsk__json_str(e, "origin", l->origin);
    cJSON_AddItemToArray(leaked, e);
  }
  groups_json(o, s);
  return o;
}

int fsk_write_summary_json(const char *file, const fsk_run_t *run) {
  fsk__atomic_t a;
  cJSON *root, *arr;
  char *text = NULL;
  size_t i;
  int r;

  if (file == NULL || run == NULL || (run->scen == NULL && run->nscen > 0))
    return -EINVAL;
  root = cJSON_CreateObject();
  if (root == NULL)
    return -ENOMEM;
  fsk__json_str(root, "tool", "fdsoak");
  fsk__json_str(root, "mode", run->mode ? run->mode : "run");
  fsk__json_str(root, "started_utc", run->started_utc);
  fsk__json_str(root, "verdict", fsk_verdict_name(run->verdict));
  cJSON_AddNumberToObject(root, "rlimit_nofile", run->rlimit_nofile);
  cJSON_AddNumberToObject(root, "cycle_period_s", run->cycle_period_s);
  if (run->has_projection) {
    cJSON *p = cJSON_AddObjectToObject(root, "projection");

    if (p) {
      cJSON_AddItemToObject(p, "hours", num_or_null(run->projection_hours));
      fsk__json_str(p, "text", run->projection_text);
    }
  } else {
    cJSON_AddNullToObject(root, "projection");
  }
  if (run->vtime.speed > 0.0) {
    /* watch --speed: the program's own time (docs: results/README.md). */
    cJSON *v = cJSON_AddObjectToObject(root, "virtual_time");

    if (v) {
      cJSON_AddNumberToObject(v, "speed", run->vtime.speed);
      cJSON_AddNumberToObject(v, "virtual_hours", run->vtime.virtual_s / 3600.0);
      cJSON_AddItemToObject(v, "fds_per_virtual_hour", num_or_null(run->vtime.per_vhour));
      cJSON_AddItemToObject(v, "virtual_s_per_attempt",
                            run->vtime.attempt_vs > 0.0 ? cJSON_CreateNumber(run->vtime.attempt_vs)
                                                        : cJSON_CreateNull());
      if (run->vtime.exhausted_vh >= 0.0) {
        cJSON_AddNumberToObject(v, "exhausted_virtual_hour", run->vtime.exhausted_vh);
        cJSON_AddNumberToObject(v, "exhausted_after_attempts", run->vtime.exhausted_attempts);
        cJSON_AddNumberToObject(v, "exhausted_limit", run->vtime.exhausted_limit);
        cJSON_AddStringToObject(v, "exhausted", run->vtime.exhausted_text);
      } else {
        cJSON_AddNullToObject(v, "exhausted_virtual_hour");
      }
    }
  } else {
    cJSON_AddNullToObject(root, "virtual_time");
  }
  cJSON_AddBoolToObject(root, "interrupted", run->interrupted != 0);
  if (run->target.has) {
    const fsk_target_info_t *ti = &run->target;
    cJSON *t = cJSON_AddObjectToObject(root, "target"), *pa;

    if (t != NULL) {
      fsk__json_str(t, "command", ti->cmd);
      cJSON_AddNumberToObject(t, "pid", (double)ti->pid);
      fsk__json_str(t, "cycle_source", ti->source);
      cJSON_AddBoolToObject(t, "ended_by_itself", ti->ended != 0);
      if (ti->exit_code >= 0)
        cJSON_AddNumberToObject(t, "exit_code", ti->exit_code);
      else
        cJSON_AddNullToObject(t, "exit_code");
      if (ti->signal > 0)
        cJSON_AddNumberToObject(t, "signal", ti->signal);
      else
        cJSON_AddNullToObject(t, "signal");
      cJSON_AddNumberToObject(t, "seconds", ti->seconds);
      fsk__json_str(t, "end", ti->end);
      fsk__json_str(t, "origins", ti->origins);
      if (ti->lang_note[0])
        fsk__json_str(t, "lang_note", ti->lang_note);
      fsk__json_str(t, "engine", ti->engine);
      if (ti->engine_note[0])
        fsk__json_str(t, "engine_note", ti->engine_note);
      if (ti->origin_note[0])
        fsk__json_str(t, "origin_note", ti->origin_note);
      if (ti->uninstrumented > 0) {
        cJSON *u = cJSON_AddObjectToObject(t, "uninstrumented");

        cJSON_AddNumberToObject(u, "processes", (double)ti->uninstrumented);
        fsk__json_str(u, "first", ti->uninstr_first);
      }
      if (ti->tree_tracking[0])
        fsk__json_str(t, "tree_tracking", ti->tree_tracking);
      if (ti->death[0])
        fsk__json_str(t, "fd_exhaustion", ti->death);
      else
        cJSON_AddNullToObject(t, "fd_exhaustion");
      if (strcmp(ti->source, "interval") != 0) {
        cJSON_AddNumberToObject(t, "attempts", ti->attempts);
        cJSON_AddNumberToObject(t, "attempts_per_sample", ti->attempts_per_sample);
      }
      /* Ended processes beyond a bound are counted, not listed: a service
       * forking for hours would make this file grow without end. */
      cJSON_AddNumberToObject(t, "processes_folded", (double)ti->nprocs_folded);
      cJSON_AddNumberToObject(t, "processes_folded_fd_max", ti->folded_fd_max);
      pa = cJSON_AddArrayToObject(t, "processes");
      for (i = 0; pa != NULL && ti->procs != NULL && i < ti->nprocs; i++) {
        const fsk_proc_info_t *p = &ti->procs[i];
        cJSON *e = cJSON_CreateObject();

        if (e == NULL)
          break;
        cJSON_AddNumberToObject(e, "pid", (double)p->pid);
        cJSON_AddNumberToObject(e, "ppid", (double)p->ppid);
        fsk__json_str(e, "comm", p->comm);
        cJSON_AddNumberToObject(e, "fd_first", p->fd_first);
        cJSON_AddNumberToObject(e, "fd_last", p->fd_last);
        cJSON_AddNumberToObject(e, "fd_max", p->fd_max);
        cJSON_AddNumberToObject(e, "rlimit_nofile", p->rlimit_nofile);
        if (p->engine[0])
          cJSON_AddStringToObject(e, "engine", p->engine);
        cJSON_AddItemToArray(pa, e);
      }
    }
  }
  arr = cJSON_AddArrayToObject(root, "scenarios");
  for (i = 0; arr != NULL && i < run->nscen; i++) {
    cJSON *o = scenario_json(&run->scen[i]);

    if (o == NULL)
      break;
    cJSON_AddItemToArray(arr, o);
  }
  /* A partial tree would be a lie: check that everything went in. */
  if (arr == NULL || (size_t)cJSON_GetArraySize(arr) != run->nscen)
    r = -ENOMEM;
  else if ((text = cJSON_Print(root)) == NULL)
    r = -ENOMEM;
  else
    r = 0;
  cJSON_Delete(root);
  if (r != 0)
    return r;
  r = fsk__atomic_open(file, &a);
  if (r == 0) {
    fputs(text, a.f);
    fputc('\n', a.f);
    r = fsk__atomic_close(&a, 0);
  }
  cJSON_free(text);
  return r;
}

/* ------------------------------------------------------------------ */
/* series.csv                                                          */
/* ------------------------------------------------------------------ */

/* RFC 4180 quoting for the free-text columns, as valid UTF-8. */
static void csv_field(FILE *f, const char *in) {
  char buf[256];
  const char *s = buf;

  fsk__utf8_clean(in, buf, sizeof buf);
  if (strpbrk(s, ",\"\r\n") == NULL) {
    fputs(s, f);
    return;
  }
  fputc('"', f);
  for (; *s; s++) {
    if (*s == '"')
      fputc('"', f);
    fputc(*s, f);
  }
  fputc('"', f);
}

/* The x column: where each sample lies on the rate's axis. */
static const char *x_column(const fsk_run_t *run) {
  size_t i;

  for (i = 0; i < run->nscen; i++)
    if (run->scen[i].xs != NULL)
      return run->scen[i].unit != NULL && strcmp(run->scen[i].unit, "attempt") == 0 ? "attempts"
                                                                                    : "seconds";
  return NULL;
}

/*
 * One row per sample.  fd_count is the table the class columns describe,
 * so they add up to it; fd_floor is the count the verdict judged (watch:
 * the floor of the settle window, which the class snapshot may postdate).
 */
int fsk_write_series_csv(const char *file, const fsk_run_t *run) {
  fsk__atomic_t a;
  const char *xcol;
  size_t i, j;
  int c, r;

  if (file == NULL || run == NULL || (run->scen == NULL && run->nscen > 0))
    return -EINVAL;
  r = fsk__atomic_open(file, &a);
  if (r != 0)
    return r;
  xcol = x_column(run);
  fputs("cycle,path,adapter,fd_count", a.f);
  for (c = 0; c < FSK_FD_CLASS_COUNT; c++)
    fprintf(a.f, ",%s", fsk_fdclass_name((fsk_fdclass_t)c));
  fputs(",fd_floor", a.f);
  if (xcol != NULL)
    fprintf(a.f, ",%s", xcol);
  /* watch --speed: where each sample lies in the program's own time. */
  if (run->vtime.vt != NULL)
    fputs(",virtual_s", a.f);
  fputc('\n', a.f);
  for (i = 0; i < run->nscen; i++) {
    const fsk_scenario_t *s = &run->scen[i];

    for (j = 0; s->counts != NULL && j < s->nsamples; j++) {
      int sum = 0;

      for (c = 0; s->class_counts != NULL && c < FSK_FD_CLASS_COUNT; c++)
        sum += s->class_counts[j][c];
      /* Cycles are numbered from 0, as the tracker's opened_cycle is:
       * cycles 0..warmup-1 are warm-up. */
      fprintf(a.f, "%zu,", j);
      csv_field(a.f, s->path);
      fputc(',', a.f);
      csv_field(a.f, s->adapter);
      /* No classified table (a sample that was only counted): the count
       * is all there is, and nothing is claimed per class. */
      fprintf(a.f, ",%d", sum > 0 ? sum : s->counts[j]);
      for (c = 0; c < FSK_FD_CLASS_COUNT; c++)
        fprintf(a.f, ",%d", s->class_counts && sum > 0 ? s->class_counts[j][c] : 0);
      fprintf(a.f, ",%d", s->counts[j]);
      if (xcol != NULL)
        fprintf(a.f, ",%.15g", s->xs != NULL ? s->xs[j] : (double)j);
      if (run->vtime.vt != NULL && i == 0)
        fprintf(a.f, ",%.3f", run->vtime.vt[j]);
      else if (run->vtime.vt != NULL)
        fputc(',', a.f);
      fputc('\n', a.f);
    }
  }
  return fsk__atomic_close(&a, 0);
}

/* ------------------------------------------------------------------ */
/* junit.xml                                                           */
/* ------------------------------------------------------------------ */

void fsk__xml_escape(FILE *f, const char *s) {
  const unsigned char *p = (const unsigned char *)(s ? s : "");

  for (; *p; p++) {
    size_t n = fsk__utf8_len(p);

    /* Bytes that are not UTF-8 make the whole file unreadable to an XML
     * parser (a project under a Latin-1 folder name): U+FFFD instead. */
    if (n == 0) {
      fputs("\xef\xbf\xbd", f);
      continue;
    }
    if (n > 1) {
      /* U+FFFE and U+FFFF are not XML characters either. */
      if (n == 3 && p[0] == 0xef && p[1] == 0xbf && (p[2] == 0xbe || p[2] == 0xbf))
        fputc('?', f);
      else
        fwrite(p, 1, n, f);
      p += n - 1;
      continue;
    }
    switch (*p) {
    case '&':
      fputs("&amp;", f);
      break;
    case '<':
      fputs("&lt;", f);
      break;
    case '>':
      fputs("&gt;", f);
      break;
    case '"':
      fputs("&quot;", f);
      break;
    case '\'':
      fputs("&apos;", f);
      break;
    case '\n':
      fputs("&#10;", f);
      break;
    case '\t':
      fputs("&#9;", f);
      break;
    default:
      /* XML 1.0 forbids other control characters even escaped; a target
       * or origin string could carry one. */
      if (*p < 0x20 || *p == 0x7f)
        fputc('?', f);
      else
        fputc(*p, f);
    }
  }
}

/* The leaked fds as the terminal groups them (finding.c), so a CI report
 * reads the same as the job's log; bounded, whatever the count. */
#define JUNIT_MAX_GROUPS 50

static void leak_lines(FILE *f, const fsk_scenario_t *s) {
  char *buf = NULL;
  size_t len = 0;
  FILE *m = open_memstream(&buf, &len);

  if (m == NULL)
    return;
  fsk_findings_print(m, s, JUNIT_MAX_GROUPS);
  if (fclose(m) == 0 && buf != NULL)
    fsk__xml_escape(f, buf);
  free(buf);
}

/*
 * One testcase per scenario.  leak -> <failure>; inconclusive -> <error>:
 * the soak could not decide, fdsoak exits 3 (non-zero), and a CI report
 * should show that in red as "could not test", not hide it as skipped.
 */
int fsk_write_junit(const char *file, const fsk_run_t *run) {
  fsk__atomic_t a;
  size_t i, nfail = 0, nerr = 0;
  double total = 0.0;
  int r;

  if (file == NULL || run == NULL || (run->scen == NULL && run->nscen > 0))
    return -EINVAL;
  r = fsk__atomic_open(file, &a);
  if (r != 0)
    return r;
  for (i = 0; i < run->nscen; i++) {
    nfail += run->scen[i].verdict == FSK_VERDICT_LEAK;
    nerr += run->scen[i].verdict == FSK_VERDICT_INCONCLUSIVE;
    if (isfinite(run->scen[i].seconds))
      total += run->scen[i].seconds;
  }
  fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", a.f);
  fprintf(a.f,
          "<testsuite name=\"fdsoak\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" "
          "skipped=\"0\" time=\"%.3f\" timestamp=\"",
          run->nscen, nfail, nerr, total);
  fsk__xml_escape(a.f, run->started_utc);
  fputs("\">\n", a.f);
  for (i = 0; i < run->nscen; i++) {
    const fsk_scenario_t *s = &run->scen[i];
    int first = 0, last = 0, have = fsk__scenario_ends(s, &first, &last) == 0;

    fputs("  <testcase classname=\"fdsoak.", a.f);
    fsk__xml_escape(a.f, s->adapter);
    fputs("\" name=\"", a.f);
    fsk__xml_escape(a.f, s->path);
    fprintf(a.f, "\" time=\"%.3f\">\n", isfinite(s->seconds) ? s->seconds : 0.0);
    if (s->verdict == FSK_VERDICT_LEAK) {
      char msg[512];

      snprintf(msg, sizeof msg, "fd leak: %s", s->stats.why);
      fputs("    <failure type=\"leak\" message=\"", a.f);
      fsk__xml_escape(a.f, msg);
      fputs("\">", a.f);
      if (s->nleaked)
        leak_lines(a.f, s);
      else
        fsk__xml_escape(a.f, "no fd identified by identity; the count rose.\n");
      fputs("</failure>\n", a.f);
    } else if (s->verdict == FSK_VERDICT_INCONCLUSIVE) {
      fputs("    <error type=\"inconclusive\" message=\"", a.f);
      fsk__xml_escape(a.f, s->stats.why);
      fputs("\"/>\n", a.f);
    }
    fprintf(a.f, "    <system-out>");
    {
      char out[512];

      if (have)
        snprintf(out, sizeof out, "cycles %ld, warm-up %ld, fd %d -> %d, slope %.5f fd/cycle: %s",
                 s->cycles, s->warmup, first, last, s->stats.slope, s->stats.why);
      else
        snprintf(out, sizeof out, "cycles %ld, warm-up %ld: %s", s->cycles, s->warmup,
                 s->stats.why);
      fsk__xml_escape(a.f, out);
    }
    fputs("</system-out>\n  </testcase>\n", a.f);
  }
  fputs("</testsuite>\n", a.f);
  return fsk__atomic_close(&a, 0);
}

/* ------------------------------------------------------------------ */
/* The directory and the latest link                                   */
/* ------------------------------------------------------------------ */

/* mkdir -p: every missing component, 0755. */
int fsk__mkdir_p(const char *dir) {
  char buf[PATH_MAX];
  size_t len = strlen(dir), i;
  struct stat st;

  if (len == 0)
    return -EINVAL;
  if (len >= sizeof buf)
    return -ENAMETOOLONG;
  memcpy(buf, dir, len + 1);
  for (i = 1; i <= len; i++) {
    if (buf[i] != '/' && buf[i] != '\0')
      continue;
    if (buf[i - 1] == '/')
      continue; /* "a//b" */
    buf[i] = '\0';
    if (mkdir(buf, 0755) != 0) {
      int e = errno;

      /* EEXIST is fine only for a directory; anything else there is the
       * user's file and must not be written through. */
      if (e != EEXIST)
        return -e;
      if (stat(buf, &st) != 0)
        return -errno;
      if (!S_ISDIR(st.st_mode))
        return -ENOTDIR;
    }
    if (i < len)
      buf[i] = '/';
  }
  return 0;
}

int fsk_results_write(const char *dir, const fsk_run_t *run) {
  static const char *const names[] = {"summary.json", "series.csv", "junit.xml", "fd-soak.svg"};
  int (*const writers[])(const char *, const fsk_run_t *) = {
    fsk_write_summary_json, fsk_write_series_csv, fsk_write_junit, fsk_write_svg};
  char file[PATH_MAX];
  size_t i;
  int r;

  if (dir == NULL || *dir == '\0' || run == NULL)
    return -EINVAL;
  r = fsk__mkdir_p(dir);
  if (r != 0)
    return r;
  for (i = 0; i < sizeof names / sizeof names[0]; i++) {
    int n = snprintf(file, sizeof file, "%s/%s", dir, names[i]);

    if (n < 0 || (size_t)n >= sizeof file)
      return -ENAMETOOLONG;
    r = writers[i](file, run);
    if (r != 0)
      return r;
  }
  return 0;
}

int fsk_results_link_latest(const char *root, const char *dir) {
  char rroot[PATH_MAX], rdir[PATH_MAX], link[PATH_MAX], tmp[PATH_MAX];
  const char *target;
  size_t rl;
  int n, r;

  if (root == NULL || dir == NULL || *root == '\0' || *dir == '\0')
    return -EINVAL;
  r = fsk__mkdir_p(root);
  if (r != 0)
    return r;
  if (realpath(root, rroot) == NULL || realpath(dir, rdir) == NULL)
    return -errno;
  /* A relative target survives moving or mounting the results tree
   * elsewhere (a CI artifact, a container volume). */
  rl = strlen(rroot);
  if (strcmp(rroot, "/") == 0)
    target = rdir + 1;
  else if (strncmp(rdir, rroot, rl) == 0 && rdir[rl] == '/')
    target = rdir + rl + 1;
  else
    target = rdir;
  if (*target == '\0')
    return -EINVAL; /* dir is root itself: latest -> . would be a loop */
  n = snprintf(link, sizeof link, "%s/latest", root);
  if (n < 0 || (size_t)n >= sizeof link)
    return -ENAMETOOLONG;
  n = snprintf(tmp, sizeof tmp, "%s/.latest.%ld.tmp", root, (long)getpid());
  if (n < 0 || (size_t)n >= sizeof tmp)
    return -ENAMETOOLONG;
  unlink(tmp); /* a leftover of a crashed run with our pid */
  if (symlink(target, tmp) != 0)
    return -errno;
  /* rename() replaces an old link in one step: no moment without one. */
  if (rename(tmp, link) != 0) {
    r = -errno;
    unlink(tmp);
    return r;
  }
  return 0;
}

/* ------------------------------------------------------------------ */
/* The table                                                           */
/* ------------------------------------------------------------------ */

#define TABLE_MAX_GROUPS 8

void fsk_print_table(FILE *out, const fsk_run_t *run) {
  static const char *const head[] = {"path",    "adapter", "cycles", "fd first",
                                     "fd last", "slope",   "verdict"};
  enum { NCOL = 7 };
  char cell[NCOL][64];
  int wid[NCOL];
  size_t i, k;

  if (out == NULL || run == NULL || (run->scen == NULL && run->nscen > 0))
    return;
  for (k = 0; k < NCOL; k++)
    wid[k] = (int)strlen(head[k]);
  /* Two passes: widths first, so every column lines up. */
  for (int pass = 0; pass < 2; pass++) {
    if (pass == 1) {
      for (k = 0; k < NCOL; k++)
        fprintf(out, k < 2 || k == 6 ? "%-*s%s" : "%*s%s", k == NCOL - 1 ? 0 : wid[k], head[k],
                k + 1 < NCOL ? "  " : "\n");
    }
    for (i = 0; i < run->nscen; i++) {
      const fsk_scenario_t *s = &run->scen[i];
      int first, last, have = fsk__scenario_ends(s, &first, &last) == 0;

      snprintf(cell[0], sizeof cell[0], "%s", s->path);
      snprintf(cell[1], sizeof cell[1], "%s", s->adapter);
      snprintf(cell[2], sizeof cell[2], "%ld", s->cycles);
      if (have) {
        snprintf(cell[3], sizeof cell[3], "%d", first);
        snprintf(cell[4], sizeof cell[4], "%d", last);
      } else {
        snprintf(cell[3], sizeof cell[3], "-");
        snprintf(cell[4], sizeof cell[4], "-");
      }
      if (s->xs != NULL && isfinite(s->rate))
        snprintf(cell[5], sizeof cell[5],
                 s->unit != NULL && strcmp(s->unit, "hour") == 0 ? "%+.1f/h" : "%+.4f/attempt",
                 s->rate);
      else if (isfinite(s->stats.slope))
        snprintf(cell[5], sizeof cell[5], "%+.4f", s->stats.slope);
      else
        snprintf(cell[5], sizeof cell[5], "-");
      snprintf(cell[6], sizeof cell[6], "%s", fsk_verdict_name(s->verdict));
      if (pass == 0) {
        for (k = 0; k < NCOL; k++)
          if ((int)fsk__term_width(cell[k]) > wid[k])
            wid[k] = (int)fsk__term_width(cell[k]);
        continue;
      }
      for (k = 0; k < NCOL; k++) {
        /* The adapter column is the program's name: shown, never obeyed. */
        int pad = k == NCOL - 1 ? 0 : wid[k] - (int)fsk__term_width(cell[k]);

        if (k >= 2 && k != 6)
          fprintf(out, "%*s", pad > 0 ? pad : 0, "");
        fsk__term_put(out, cell[k]);
        if (k < 2 || k == 6)
          fprintf(out, "%*s", pad > 0 ? pad : 0, "");
        fputs(k + 1 < NCOL ? "  " : "\n", out);
      }
      /* Hundreds of leaked fds come from a few places: one group each,
       * the largest first (finding.c); summary.json has them all. */
      if (s->verdict == FSK_VERDICT_LEAK)
        fsk_findings_print(out, s, TABLE_MAX_GROUPS);
      if (s->verdict != FSK_VERDICT_FLAT && s->stats.why[0]) {
        fputs("    ", out);
        fsk__term_put(out, s->stats.why);
        fputc('\n', out);
      }
    }
  }
  fprintf(out, "verdict: %s", fsk_verdict_name(run->verdict));
  if (run->verdict == FSK_VERDICT_LEAK && run->projection_text[0]) {
    fputs(" - ", out);
    fsk__term_put(out, run->projection_text);
  }
  fputc('\n', out);
}
