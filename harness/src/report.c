/* report.c - `fdsoak report DIR...`: the report again, from results
 * directories, without running anything.
 *
 * A results directory holds everything the report is made of:
 * summary.json (the verdicts, the leaked fds and their stacks) and
 * series.csv (the samples).  This reads them back into the structures the
 * soak filled, so the terminal, report.md, the job summary, SARIF and the
 * SVG are printed by the very code that printed them after the soak
 * (finding.c, results.c, svg.c).
 */
#include "args.h"
#include "driver.h"
#include "results_internal.h"

#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The job summary GitHub shows is dropped whole past 1 MiB. */
#define MD_MAX_BYTES_DEFAULT (1000 * 1000)
#define MD_MAX_GROUPS 12
#define LOG_TAIL_BYTES (32 * 1024)
#define SUMMARY_MAX_BYTES (256L << 20)

/* The one error printer (args.c), under the name this file always used. */
#define rerr(...) fsk__error("report", __VA_ARGS__)

/* ------------------------------------------------------------------ */
/* Reading a results directory back                                     */
/* ------------------------------------------------------------------ */

static char *slurp(const char *file, long max, int *err) {
  struct stat st;
  char *text;
  FILE *f;
  size_t n;

  int fd;

  *err = 0;
  /* A FIFO or a device would block or never end: only regular files, and
   * opened without waiting for a FIFO's writer. */
  if ((fd = open(file, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) < 0) {
    *err = -errno;
    return NULL;
  }
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > max ||
      (f = fdopen(fd, "r")) == NULL) {
    *err = S_ISREG(st.st_mode) ? -EFBIG : -EINVAL;
    close(fd);
    return NULL;
  }
  if ((text = malloc((size_t)st.st_size + 1)) == NULL) {
    *err = -ENOMEM;
    fclose(f);
    return NULL;
  }
  n = fread(text, 1, (size_t)st.st_size, f);
  text[n] = '\0';
  fclose(f);
  return text;
}

static const char *jstr(const cJSON *o, const char *key, const char *dflt) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

  return cJSON_IsString(v) ? v->valuestring : dflt;
}

static double jnum(const cJSON *o, const char *key, double dflt) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

  return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

static fsk_fdclass_t class_of(const char *name) {
  int c;

  for (c = 0; c < FSK_FD_CLASS_COUNT; c++)
    if (strcmp(name, fsk_fdclass_name((fsk_fdclass_t)c)) == 0)
      return (fsk_fdclass_t)c;
  return FSK_FD_OTHER;
}

static fsk_verdict_t verdict_of(const char *name) {
  if (strcmp(name, "flat") == 0)
    return FSK_VERDICT_FLAT;
  if (strcmp(name, "leak") == 0)
    return FSK_VERDICT_LEAK;
  return FSK_VERDICT_INCONCLUSIVE;
}

/* The rate's unit lives on as a static string: the scenario points at it. */
static const char *unit_of(const char *per) {
  if (strcmp(per, "attempt") == 0)
    return "attempt";
  if (strcmp(per, "hour") == 0)
    return "hour";
  return "cycle";
}

static int load_leaks(const cJSON *arr, fsk_scenario_t *s) {
  const cJSON *l;
  fsk_leak_t *v;
  size_t n = (size_t)cJSON_GetArraySize(arr), i = 0;

  if (n == 0)
    return 0;
  if ((v = calloc(n, sizeof *v)) == NULL)
    return -ENOMEM;
  cJSON_ArrayForEach(l, arr) {
    if (i == n)
      break;
    v[i].fd = (int)jnum(l, "fd", -1);
    v[i].pid = (pid_t)jnum(l, "pid", 0);
    v[i].cls = class_of(jstr(l, "class", "other"));
    snprintf(v[i].target, sizeof v[i].target, "%s", jstr(l, "target", "?"));
    v[i].opened_cycle = (long)jnum(l, "opened_cycle", -1);
    v[i].opened_exact = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(l, "opened_exact"));
    snprintf(v[i].origin, sizeof v[i].origin, "%s", jstr(l, "origin", ""));
    i++;
  }
  free(s->leaked);
  s->leaked = v;
  s->nleaked = i;
  return 0;
}

/* series.csv's rows of (path, adapter) into s: the judged count (fd_floor,
 * or fd_count in files written before it existed), the class columns and
 * the x column. */
static int load_series(const char *dir, fsk_scenario_t *s) {
  char file[PATH_MAX + 16], *text, *line, *save = NULL;
  int col_cls[FSK_FD_CLASS_COUNT], col_count = -1, col_floor = -1, col_x = -1, header = 1, rc = 0;
  int k;

  snprintf(file, sizeof file, "%s/series.csv", dir);
  if ((text = slurp(file, SUMMARY_MAX_BYTES, &rc)) == NULL)
    return rc;
  for (k = 0; k < FSK_FD_CLASS_COUNT; k++)
    col_cls[k] = -1;
  for (line = strtok_r(text, "\n", &save); line != NULL && rc == 0;
       line = strtok_r(NULL, "\n", &save)) {
    char *cols[64], *p = line;
    int n = 0, cc[FSK_FD_CLASS_COUNT];

    /* Plain splitting: the quoted fields (path, adapter) are compared
     * whole, and a comma inside one only misses the scenario. */
    while (n < 64) {
      cols[n++] = p;
      if ((p = strchr(p, ',')) == NULL)
        break;
      *p++ = '\0';
    }
    if (header) {
      for (k = 0; k < n; k++) {
        int c;

        for (c = 0; c < FSK_FD_CLASS_COUNT; c++)
          if (strcmp(cols[k], fsk_fdclass_name((fsk_fdclass_t)c)) == 0)
            col_cls[c] = k;
        if (strcmp(cols[k], "fd_count") == 0)
          col_count = k;
        if (strcmp(cols[k], "fd_floor") == 0)
          col_floor = k;
        if (strcmp(cols[k], "attempts") == 0 || strcmp(cols[k], "seconds") == 0)
          col_x = k;
      }
      header = 0;
      continue;
    }
    if (n < 4 || strcmp(cols[1], s->path) != 0 || strcmp(cols[2], s->adapter) != 0)
      continue;
    for (k = 0; k < FSK_FD_CLASS_COUNT; k++)
      cc[k] = col_cls[k] >= 0 && col_cls[k] < n ? (int)strtol(cols[col_cls[k]], NULL, 10) : 0;
    k = col_floor >= 0 && col_floor < n ? col_floor : col_count >= 0 ? col_count : 3;
    if (col_x >= 0 && col_x < n && s->xs != NULL)
      rc = fsk_scenario_push_x(s, (int)strtol(cols[k], NULL, 10), cc, strtod(cols[col_x], NULL));
    else
      rc = fsk_scenario_push(s, (int)strtol(cols[k], NULL, 10), cc);
  }
  free(text);
  return rc;
}

void fsk__results_release(fsk_run_t *run) {
  size_t i;

  for (i = 0; run->scen != NULL && i < run->nscen; i++)
    fsk_scenario_free(&run->scen[i]);
  free(run->scen);
  free(run->target.procs);
  memset(run, 0, sizeof *run);
}

int fsk__results_load(const char *dir, fsk_run_t *run) {
  char file[PATH_MAX + 16], *text;
  cJSON *d, *sc, *s, *t, *p;
  size_t n, i = 0;
  int rc;

  memset(run, 0, sizeof *run);
  snprintf(file, sizeof file, "%s/summary.json", dir);
  if ((text = slurp(file, SUMMARY_MAX_BYTES, &rc)) == NULL)
    return rc;
  d = cJSON_Parse(text);
  free(text);
  if (!cJSON_IsObject(d) || !cJSON_IsArray(sc = cJSON_GetObjectItemCaseSensitive(d, "scenarios"))) {
    cJSON_Delete(d);
    return -EBADMSG;
  }
  run->mode = strcmp(jstr(d, "mode", "run"), "watch") == 0 ? "watch" : "run";
  snprintf(run->started_utc, sizeof run->started_utc, "%s", jstr(d, "started_utc", ""));
  run->verdict = verdict_of(jstr(d, "verdict", "?"));
  run->rlimit_nofile = (int)jnum(d, "rlimit_nofile", 0);
  run->cycle_period_s = jnum(d, "cycle_period_s", 0);
  run->interrupted = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(d, "interrupted"));
  p = cJSON_GetObjectItemCaseSensitive(d, "projection");
  if (cJSON_IsObject(p)) {
    run->has_projection = 1;
    run->projection_hours = jnum(p, "hours", NAN);
    snprintf(run->projection_text, sizeof run->projection_text, "%s", jstr(p, "text", ""));
  }
  t = cJSON_GetObjectItemCaseSensitive(d, "target");
  if (cJSON_IsObject(t)) {
    fsk_target_info_t *ti = &run->target;

    ti->has = 1;
    ti->pid = (pid_t)jnum(t, "pid", 0);
    snprintf(ti->cmd, sizeof ti->cmd, "%s", jstr(t, "command", ""));
    snprintf(ti->source, sizeof ti->source, "%s", jstr(t, "cycle_source", ""));
    snprintf(ti->end, sizeof ti->end, "%s", jstr(t, "end", ""));
    snprintf(ti->origins, sizeof ti->origins, "%s", jstr(t, "origins", ""));
    snprintf(ti->lang_note, sizeof ti->lang_note, "%s", jstr(t, "lang_note", ""));
    snprintf(ti->death, sizeof ti->death, "%s", jstr(t, "fd_exhaustion", ""));
    ti->attempts = jnum(t, "attempts", 0);
    ti->attempts_per_sample = jnum(t, "attempts_per_sample", 0);
    ti->exit_code = (int)jnum(t, "exit_code", -1);
  }
  n = (size_t)cJSON_GetArraySize(sc);
  if (n > 0 && (run->scen = calloc(n, sizeof *run->scen)) == NULL) {
    cJSON_Delete(d);
    return -ENOMEM;
  }
  rc = 0;
  cJSON_ArrayForEach(s, sc) {
    fsk_scenario_t *x = &run->scen[i];
    const cJSON *rate = cJSON_GetObjectItemCaseSensitive(s, "rate");
    int watch = cJSON_IsObject(rate);

    if (i == n)
      break;
    fsk_scenario_init(x, jstr(s, "path", "?"), jstr(s, "adapter", "?"), 0);
    run->nscen = ++i;
    x->verdict = verdict_of(jstr(s, "verdict", "?"));
    snprintf(x->stats.why, sizeof x->stats.why, "%s", jstr(s, "why", ""));
    x->stats.slope = jnum(s, "slope_fds_per_cycle", NAN);
    x->stats.slope_lo = jnum(s, "slope_lower_bound", NAN);
    x->stats.floor_rise = jnum(s, "floor_rise", NAN);
    x->seconds = jnum(s, "seconds", 0);
    x->has_rss = cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(s, "rss_growth_kib"));
    x->rss_growth_kib = (long)jnum(s, "rss_growth_kib", 0);
    x->has_heap = cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(s, "heap_growth_kib"));
    x->heap_growth_kib = (long)jnum(s, "heap_growth_kib", 0);
    x->no_origin = (size_t)jnum(s, "leaked_without_origin", 0);
    if (watch) {
      /* watch: samples lie on an axis of their own (attempts, seconds). */
      x->unit = unit_of(jstr(rate, "per", "cycle"));
      x->rate = jnum(rate, "fds", NAN);
      x->attempts = jnum(s, "attempts", 0);
      x->warmup_x = jnum(s, "warmup", 0);
      if ((x->xs = malloc(sizeof *x->xs)) == NULL) {
        rc = -ENOMEM;
        break;
      }
    } else {
      x->rate = x->stats.slope;
    }
    if ((rc = load_leaks(cJSON_GetObjectItemCaseSensitive(s, "leaked"), x)) != 0)
      break;
    if ((rc = load_series(dir, x)) != 0 && rc != -ENOENT)
      break;
    rc = 0;
    /* The samples set cycles; the file's numbers are the ones to show. */
    x->warmup = (long)jnum(s, watch ? "warmup_samples" : "warmup", 0);
    x->cycles = (long)jnum(s, "cycles", (double)x->cycles);
    if (x->xs != NULL && x->nsamples == 0) {
      free(x->xs);
      x->xs = NULL;
    }
  }
  cJSON_Delete(d);
  if (rc != 0)
    fsk__results_release(run);
  return rc;
}

/* ------------------------------------------------------------------ */
/* The checkout                                                         */
/* ------------------------------------------------------------------ */

int fsk__checkout_root(char *buf, size_t len) {
  const char *ws = getenv("GITHUB_WORKSPACE");
  char dir[PATH_MAX], probe[PATH_MAX + 8];
  struct stat st;

  /* On GitHub the checkout is the workspace; elsewhere the git work tree
   * the report is made in (a .git directory, or a worktree's .git file). */
  if (ws != NULL && ws[0] == '/' && realpath(ws, dir) != NULL) {
    snprintf(buf, len, "%s", dir);
    return 0;
  }
  if (getcwd(dir, sizeof dir) == NULL)
    return -errno;
  for (;;) {
    char *slash;

    snprintf(probe, sizeof probe, "%s/.git", dir);
    if (stat(probe, &st) == 0) {
      snprintf(buf, len, "%s", dir);
      return 0;
    }
    slash = strrchr(dir, '/');
    if (slash == NULL || slash == dir)
      break;
    *slash = '\0';
  }
  buf[0] = '\0';
  return -ENOENT;
}

int fsk__write_sarif_here(const char *file, const fsk_run_t *run) {
  char root[PATH_MAX];

  if (fsk__checkout_root(root, sizeof root) != 0)
    root[0] = '\0';
  return fsk_write_sarif(file, run, root);
}

/* ------------------------------------------------------------------ */
/* Markdown (report.md, the job summary)                                */
/* ------------------------------------------------------------------ */

/* The longest run of backticks in s: a fence one longer cannot be closed
 * by anything in it. */
static size_t longest_ticks(const char *s) {
  size_t best = 0, run = 0;

  for (; *s; s++) {
    run = *s == '`' ? run + 1 : 0;
    if (run > best)
      best = run;
  }
  return best;
}

/* The tail of a log in a fenced block that nothing in it can end: the
 * program's own output must not fake a heading ("## fdsoak: flat"),
 * a table or HTML. */
static void md_log(FILE *f, const char *title, const char *file, size_t tail) {
  char *text, *start, *clean;
  size_t len, fence, k;
  int err;

  if (file == NULL || (text = slurp(file, SUMMARY_MAX_BYTES, &err)) == NULL)
    return;
  len = strlen(text);
  start = text;
  if (len > tail) {
    start = text + len - tail;
    while (*start && *start != '\n')
      start++;
  }
  if ((clean = malloc(strlen(start) * 3 + 1)) != NULL) {
    fsk__utf8_clean(start, clean, strlen(start) * 3 + 1);
    for (k = 0; clean[k]; k++)
      if (((unsigned char)clean[k] < 0x20 && clean[k] != '\n' && clean[k] != '\t') ||
          clean[k] == 0x7f)
        clean[k] = '?'; /* a terminal escape shows as text */
    fence = longest_ticks(clean) + 1;
    if (fence < 3)
      fence = 3;
    fprintf(f, "<details><summary>%s%s</summary>\n\n", title, start != text ? " (its end)" : "");
    for (k = 0; k < fence; k++)
      fputc('`', f);
    fputs("text\n", f);
    fputs(clean, f);
    if (clean[0] && clean[strlen(clean) - 1] != '\n')
      fputc('\n', f);
    for (k = 0; k < fence; k++)
      fputc('`', f);
    fputs("\n\n</details>\n\n", f);
    free(clean);
  }
  free(text);
}

typedef struct {
  const char *log; /* fdsoak's output, for the job summary */
  int exit_code;   /* fdsoak's exit code, -1 if not given */
  size_t max_groups;
  size_t log_tail;
} md_opts_t;

static void md_scenarios(FILE *f, const fsk_run_t *run, const md_opts_t *o) {
  size_t i;

  fputs("| scenario | cycles | fd first | fd last | rate | verdict |\n", f);
  fputs("| --- | ---: | ---: | ---: | ---: | --- |\n", f);
  for (i = 0; i < run->nscen; i++) {
    const fsk_scenario_t *s = &run->scen[i];
    int first, last, have = fsk__scenario_ends(s, &first, &last) == 0;

    fputs("| ", f);
    fsk__md_put(f, s->path);
    fputs("/", f);
    fsk__md_put(f, s->adapter);
    fprintf(f, " | %ld | ", s->cycles);
    if (have)
      fprintf(f, "%d | %d | ", first, last);
    else
      fputs("- | - | ", f);
    if (isfinite(s->rate))
      fprintf(f, "%+.4f/%s", s->rate, s->unit != NULL ? s->unit : "cycle");
    else
      fputs("-", f);
    fprintf(f, " | %s |\n", fsk_verdict_name(s->verdict));
  }
  fputc('\n', f);
  for (i = 0; i < run->nscen; i++) {
    const fsk_scenario_t *s = &run->scen[i];

    if (s->stats.why[0] == '\0')
      continue;
    fprintf(f, "**Verdict: %s** (", fsk_verdict_name(s->verdict));
    fsk__md_put(f, s->path);
    fputs("/", f);
    fsk__md_put(f, s->adapter);
    fputs("): ", f);
    fsk__md_put(f, s->stats.why);
    fputs("\n\n", f);
    if (s->verdict == FSK_VERDICT_LEAK && o->max_groups > 0)
      fsk_findings_markdown(f, s, o->max_groups);
  }
}

static void report_markdown(FILE *f, const fsk_run_t *run, const char *dir, const md_opts_t *o) {
  static const char *const icon[] = {"\xe2\x9c\x85", "\xe2\x9d\x8c", "",
                                     "\xe2\x9a\xa0\xef\xb8\x8f"};

  fprintf(f, "## fdsoak: %s %s\n\n", icon[run->verdict], fsk_verdict_name(run->verdict));
  if (run->target.has) {
    fputs("Target <code>", f);
    fsk__md_put(f, run->target.cmd);
    fputs("</code>: ", f);
    fsk__md_put(f, run->target.end);
    if (strcmp(run->target.source, "interval") != 0)
      fprintf(f, "; %.0f attempts (%s)", run->target.attempts,
              run->target.source[0] ? run->target.source : "?");
    fputs(".", f);
  }
  if (o->exit_code >= 0)
    fprintf(f, " fdsoak exited %d.", o->exit_code);
  fputs("\n\n", f);
  md_scenarios(f, run, o);
  fputs("**Projection:** ", f);
  if (run->has_projection && run->projection_text[0])
    fsk__md_put(f, run->projection_text);
  else
    fputs("none: no leak to project", f);
  fputs("\n\n", f);
  if (run->target.lang_note[0]) {
    fputs("Origins: ", f);
    fsk__md_put(f, run->target.lang_note);
    fputs("\n\n", f);
  }
  if (o->log != NULL && o->log_tail > 0)
    md_log(f, "fdsoak's output", o->log, o->log_tail);
  if (dir != NULL) {
    fputs("Results (`summary.json`, `series.csv`, `junit.xml`, `fd-soak.svg`): <code>", f);
    fsk__md_put(f, dir);
    fputs("</code>\n\n", f);
  }
}

/* The markdown of runs, at most max bytes: GitHub drops a larger job
 * summary whole.  Rendered in memory; a larger one is rendered again with
 * less (no stacks, a shorter log), then cut at a line. */
static int markdown_bounded(FILE *out, fsk_run_t *runs, char **dirs, size_t n, md_opts_t o,
                            size_t max) {
  int pass;

  for (pass = 0; pass < 3; pass++) {
    char *buf = NULL;
    size_t len = 0, i;
    FILE *m = open_memstream(&buf, &len);

    if (m == NULL)
      return -errno;
    for (i = 0; i < n; i++)
      report_markdown(m, &runs[i], dirs[i], &o);
    if (fclose(m) != 0) {
      free(buf);
      return -ENOMEM;
    }
    if (len <= max || pass == 2) {
      if (len > max) {
        static const char note[] = "\n\n*(cut: the report was larger than GitHub takes; the "
                                   "results directory has all of it)*\n";
        size_t keep = max > sizeof note + 64 ? max - sizeof note - 64 : 0;

        while (keep > 0 && buf[keep - 1] != '\n')
          keep--;
        fwrite(buf, 1, keep, out);
        fputs("\n</details>\n", out);
        fputs(note, out);
      } else {
        fwrite(buf, 1, len, out);
      }
      free(buf);
      return ferror(out) ? -EIO : 0;
    }
    free(buf);
    o.max_groups = pass == 0 ? 3 : 0;
    o.log_tail = pass == 0 ? 4096 : 0;
  }
  return 0;
}

/* ------------------------------------------------------------------ */
/* The verb                                                             */
/* ------------------------------------------------------------------ */

typedef struct {
  const char *md, *sarif, *svg, *log;
  long exit_code, max_bytes;
  int quiet;
} report_opts_t;

#define PO(field) offsetof(report_opts_t, field)
static const fsk__flag_t report_flags[] = {
  {"--markdown", NULL, FSK_ARG_STR, "FILE", PO(md), 0, 0, NULL,
   "markdown, as in report.md and the job summary ('-': stdout)", 0},
  {"--sarif", NULL, FSK_ARG_STR, "FILE", PO(sarif), 0, 0, NULL,
   "SARIF 2.1.0, one result per leak group, paths relative to the\n"
   "checkout (GITHUB_WORKSPACE, else the git work tree here)",
   0},
  {"--svg", NULL, FSK_ARG_STR, "FILE", PO(svg), 0, 0, NULL,
   "the plot of every scenario of every DIR", 0},
  {"--log", NULL, FSK_ARG_STR, "FILE", PO(log), 0, 0, NULL,
   "a log to show at the end of the markdown (its last 32 KiB)", 0},
  {"--exit-code", NULL, FSK_ARG_LONG, "N", PO(exit_code), 0, 255, NULL,
   "fdsoak's exit code, named in the markdown", 0},
  {"--max-bytes", NULL, FSK_ARG_LONG, "N", PO(max_bytes), 4096, 1L << 30, NULL,
   "bound of the markdown (default 1000000: GitHub's job summary\n"
   "is dropped whole past 1 MiB)",
   0},
  {"--quiet", "-q", FSK_ARG_BOOL, NULL, PO(quiet), 0, 0, NULL, "no terminal report", 0},
  {NULL, NULL, 0, NULL, 0, 0, 0, NULL, NULL, 0},
};

const fsk__verb_t fsk__report_verb = {
  "report",
  report_flags,
  "DIR [DIR...]",
  0,
  "  re-render the report of results directories (summary.json, series.csv)\n"
  "  without running anything: the terminal report on stdout (unless -q),\n"
  "  and on request:\n",
  "exit: 0 flat, 1 leak, 3 inconclusive (the worst of the DIRs), 2 unreadable input\n"};

static void print_terminal(const fsk_run_t *run, const char *dir) {
  fputs("== ", stdout);
  fsk__term_put(stdout, dir);
  fputs("\n", stdout);
  fsk_print_table(stdout, run);
  if (run->target.has) {
    fputs("target: ", stdout);
    fsk__term_put(stdout, run->target.cmd);
    fputs(": ", stdout);
    fsk__term_put(stdout, run->target.end);
    fputc('\n', stdout);
  }
}

/* Every DIR read back; the worst verdict of them. */
static int load_runs(char **dirs, size_t ndirs, fsk_run_t *runs, fsk_verdict_t *worst) {
  size_t i;
  int rc;

  *worst = FSK_VERDICT_FLAT;
  for (i = 0; i < ndirs; i++) {
    if ((rc = fsk__results_load(dirs[i], &runs[i])) != 0)
      return rerr("%s: %s", dirs[i],
                  rc == -EBADMSG  ? "summary.json is not a summary fdsoak wrote"
                  : rc == -EINVAL ? "summary.json is not a regular file"
                                  : strerror(-rc));
    if (runs[i].verdict == FSK_VERDICT_LEAK ||
        (runs[i].verdict == FSK_VERDICT_INCONCLUSIVE && *worst == FSK_VERDICT_FLAT))
      *worst = runs[i].verdict;
  }
  return 0;
}

/* SARIF and the plot cover every DIR: one run of all their scenarios (a
 * shallow view; each DIR's run still owns its arrays). */
static int merge_runs(const fsk_run_t *runs, size_t ndirs, fsk_verdict_t worst, fsk_run_t *all) {
  size_t i, j, nall = 0;

  for (i = 0; i < ndirs; i++)
    nall += runs[i].nscen;
  *all = runs[0];
  all->scen = nall > 0 ? calloc(nall, sizeof *all->scen) : NULL;
  all->nscen = 0;
  all->verdict = worst;
  if (nall > 0 && all->scen == NULL)
    return rerr("out of memory");
  for (i = 0; i < ndirs; i++)
    for (j = 0; j < runs[i].nscen; j++)
      all->scen[all->nscen++] = runs[i].scen[j];
  return 0;
}

/* The markdown to md ('-': stdout). */
static int write_markdown(const report_opts_t *ro, fsk_run_t *runs, char **dirs, size_t ndirs) {
  md_opts_t mo = {.log = ro->log,
                  .exit_code = (int)ro->exit_code,
                  .max_groups = MD_MAX_GROUPS,
                  .log_tail = LOG_TAIL_BYTES};
  FILE *f = strcmp(ro->md, "-") == 0 ? stdout : fopen(ro->md, "w");
  int rc;

  if (f == NULL)
    return rerr("cannot write %s: %s", ro->md, strerror(errno));
  rc = markdown_bounded(f, runs, dirs, ndirs, mo, (size_t)ro->max_bytes);
  if (f != stdout && fclose(f) != 0 && rc == 0)
    rc = -errno;
  if (rc != 0)
    return rerr("cannot write %s: %s", ro->md, strerror(-rc));
  return 0;
}

/* The outputs asked for, from the runs read back. */
static int render(const report_opts_t *ro, fsk_run_t *runs, char **dirs, size_t ndirs,
                  const fsk_run_t *all) {
  size_t i;
  int rc;

  if (!ro->quiet)
    for (i = 0; i < ndirs; i++)
      print_terminal(&runs[i], dirs[i]);
  if (ro->md != NULL && (rc = write_markdown(ro, runs, dirs, ndirs)) != 0)
    return rc;
  if (ro->sarif != NULL && (rc = fsk__write_sarif_here(ro->sarif, all)) != 0)
    return rerr("cannot write %s: %s", ro->sarif, strerror(-rc));
  if (ro->svg != NULL && (rc = fsk_write_svg(ro->svg, all)) != 0)
    return rerr("cannot write %s: %s", ro->svg, strerror(-rc));
  return 0;
}

int fsk__report_main(int argc, char **argv) {
  report_opts_t ro = {.exit_code = -1, .max_bytes = MD_MAX_BYTES_DEFAULT};
  fsk__args_t a;
  fsk_run_t *runs = NULL, all;
  fsk_verdict_t worst = FSK_VERDICT_FLAT;
  size_t ndirs = 0, i;
  int code;

  memset(&all, 0, sizeof all);
  if ((code = fsk__args_parse(&fsk__report_verb, argc, argv, &ro, &a)) != 0)
    return code == 1 ? 0 : code;
  if (a.npos == 0)
    return rerr("give at least one results directory (see fdsoak report --help)");
  if ((runs = calloc((size_t)a.npos + 1, sizeof *runs)) == NULL)
    return rerr("out of memory");
  ndirs = (size_t)a.npos;
  if ((code = load_runs(a.pos, ndirs, runs, &worst)) == 0 &&
      (code = merge_runs(runs, ndirs, worst, &all)) == 0 &&
      (code = render(&ro, runs, a.pos, ndirs, &all)) == 0)
    code = fsk_exit_code(worst);
  free(all.scen);
  for (i = 0; i < ndirs; i++)
    fsk__results_release(&runs[i]);
  free(runs);
  return code;
}
