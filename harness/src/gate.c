/* gate.c - `fdsoak gate`: compare a soak's results with the baseline.
 *
 *   fdsoak gate [--baseline results/baseline.json] RESULT_DIR [RESULT_DIR...]
 *   fdsoak gate [--baseline FILE] --update-baseline RESULT_DIR [RESULT_DIR...]
 *
 * A release passes when every scenario of the baseline is in exactly one of
 * the result directories (a soak spread over CI jobs is judged as a whole),
 * its verdict is flat, no fd outlived its cycle, and the steady-state fd
 * count, in total and per class, equals the baseline's; and when no result
 * scenario is missing from the baseline.  The baseline itself must be well
 * typed: kind "baseline", whole counts, known classes, no entry twice.
 * Updating the baseline is deliberate: it writes the file for review and
 * refuses a result that is not flat.
 * With --report FILE it also writes one markdown report over every
 * directory (a row per baseline scenario: where it ran, its verdict, its
 * steady count against the baseline, its leaked fds, what failed) and, next
 * to it, one SVG with every scenario's fd series (FILE minus .md, plus
 * .svg), so a soak spread over CI jobs has one page to read.
 * Exit: 0 pass, 1 fail (which check, and why, on stderr), 2 usage or bad
 * input, 3 a result that was inconclusive.
 */
#include "args.h"
#include "driver.h"
#include "grow.h"
#include "results_internal.h"

#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

/* Keys are matched as every other JSON reader matches them: exactly. */
static cJSON *jget(const cJSON *o, const char *key) {
  return cJSON_GetObjectItemCaseSensitive(o, key);
}

/* The one error printer (args.c), under the name this file always used. */
#define gerr(...) fsk__error("gate", __VA_ARGS__)

/* Open FILE for reading only if it is a regular file: a FIFO or a device
 * named as a summary would block the gate, or feed it without end.  The
 * open itself does not block (O_NONBLOCK), and is made blocking again
 * once the file is known to be regular.  Returns a stream, or NULL with
 * errno set (EINVAL: not a regular file). */
static FILE *open_regular(const char *file) {
  struct stat st;
  int fd = open(file, O_RDONLY | O_NONBLOCK | O_CLOEXEC), fl;
  FILE *f;

  if (fd < 0)
    return NULL;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (fl = fcntl(fd, F_GETFL)) < 0 ||
      fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0 || (f = fdopen(fd, "r")) == NULL) {
    int e = S_ISREG(st.st_mode) ? errno : EINVAL;

    close(fd);
    errno = e;
    return NULL;
  }
  return f;
}

static char *slurp(const char *file, int *err) {
  FILE *f = open_regular(file);
  char *buf = NULL;
  long len;

  *err = 0;
  if (f == NULL) {
    *err = -errno;
    return NULL;
  }
  if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 || len > (64L << 20)) {
    *err = -EFBIG;
    goto out;
  }
  rewind(f);
  buf = malloc((size_t)len + 1);
  if (buf == NULL) {
    *err = -ENOMEM;
    goto out;
  }
  if (fread(buf, 1, (size_t)len, f) != (size_t)len) {
    *err = -EIO;
    free(buf);
    buf = NULL;
    goto out;
  }
  buf[len] = '\0';
out:
  fclose(f);
  return buf;
}

/* Two readers of one JSON text must not disagree on what it says.  cJSON
 * takes the first of two equal keys and matches keys without regard to
 * case, where Python's json (and jq) take the last and tell "Verdict" from
 * "verdict": a summary with {"verdict":"leak","verdict":"flat"} would pass
 * here and fail there.  So no object may hold two keys that are equal
 * ignoring case, at any depth.  Returns the first such key, or NULL. */
static const char *ambiguous_key(const cJSON *j) {
  const cJSON *a, *b;
  const char *bad;

  for (a = j != NULL ? j->child : NULL; a != NULL; a = a->next) {
    if (cJSON_IsObject(j))
      for (b = a->next; b != NULL; b = b->next)
        if (a->string != NULL && b->string != NULL && strcasecmp(a->string, b->string) == 0)
          return b->string;
    if ((bad = ambiguous_key(a)) != NULL)
      return bad;
  }
  return NULL;
}

static cJSON *load_json(const char *file, const char *what, int *code) {
  int err;
  char *text = slurp(file, &err);
  cJSON *j;

  *code = 0;
  if (text == NULL) {
    *code = gerr("cannot read %s %s: %s", what, file,
                 err == -EINVAL ? "not a regular file" : strerror(-err));
    return NULL;
  }
  j = cJSON_ParseWithOpts(text, NULL, 1);
  if (j != NULL && cJSON_IsObject(j) && ambiguous_key(j) != NULL) {
    *code = gerr("%s %s is ambiguous: the key \"%s\" is there twice (or in two cases), and "
                 "JSON readers disagree on which one counts",
                 what, file, ambiguous_key(j));
    cJSON_Delete(j);
    j = NULL;
  } else if (j == NULL || !cJSON_IsObject(j)) {
    /* The error pointer points into text, so text is freed only after the
     * message; it is stale (from an earlier parse) unless parsing failed. */
    *code = gerr("%s %s is not valid JSON (near '%.20s')", what, file,
                 j == NULL && cJSON_GetErrorPtr() != NULL ? cJSON_GetErrorPtr() : "?");
    cJSON_Delete(j);
    j = NULL;
  }
  free(text);
  return j;
}

/* One record of an RFC 4180 file (as results.c writes it: a field with a
 * comma, a quote or a newline is quoted, quotes doubled) into buf, its
 * fields in cols.  Returns the number of fields, 0 at the end of the file,
 * or -EINVAL for a record longer than buf or with more than maxcols
 * fields. */
static int csv_record(FILE *f, char *buf, size_t len, char **cols, int maxcols) {
  size_t used = 0;
  int ch, n = 0, quoted = 0, any = 0;

  cols[n++] = buf;
  while ((ch = getc(f)) != EOF) {
    any = 1;
    if (quoted) {
      if (ch == '"') {
        if ((ch = getc(f)) != '"') {
          quoted = 0;
          if (ch == EOF)
            break;
          ungetc(ch, f);
          continue;
        }
      }
    } else if (ch == '"') {
      quoted = 1;
      continue;
    } else if (ch == ',') {
      if (used + 1 >= len || n == maxcols)
        return -EINVAL;
      buf[used++] = '\0';
      cols[n++] = buf + used;
      continue;
    } else if (ch == '\n') {
      break;
    } else if (ch == '\r') {
      continue;
    }
    if (used + 1 >= len)
      return -EINVAL;
    buf[used++] = (char)ch;
  }
  buf[used] = '\0';
  return any ? n : 0;
}

/* Every sample of (path, adapter) in DIR/series.csv, pushed onto sc with
 * its per-class counts: the one reader of the file, for the steady-state
 * check and for the merged plot alike. */
static int read_series(const char *dir, const char *path, const char *adapter, fsk_scenario_t *sc) {
  char file[PATH_MAX + 16], line[4096], *cols[64];
  int col_of[FSK_FD_CLASS_COUNT], counts[FSK_FD_CLASS_COUNT], ncols, i, k, header = 1, rc = 0;
  int col_count = 3;
  FILE *f;

  snprintf(file, sizeof(file), "%s/series.csv", dir);
  if ((f = open_regular(file)) == NULL)
    return -errno;
  for (k = 0; k < FSK_FD_CLASS_COUNT; k++)
    col_of[k] = -1;
  while (rc == 0 && (ncols = csv_record(f, line, sizeof line, cols, 64)) != 0) {
    if (ncols < 0) {
      rc = ncols;
      break;
    }
    if (header) {
      for (i = 0; i < ncols; i++)
        for (k = 0; k < FSK_FD_CLASS_COUNT; k++)
          if (strcmp(cols[i], fsk_fdclass_name((fsk_fdclass_t)k)) == 0)
            col_of[k] = i;
      /* The judged count: fd_floor where the file has it (fd_count is
       * then the classified table's). */
      for (i = 0; i < ncols; i++)
        if (strcmp(cols[i], "fd_floor") == 0)
          col_count = i;
      header = 0;
      continue;
    }
    if (ncols < 4 || strcmp(cols[1], path) != 0 || strcmp(cols[2], adapter) != 0)
      continue;
    for (k = 0; k < FSK_FD_CLASS_COUNT; k++)
      counts[k] = col_of[k] >= 0 && col_of[k] < ncols ? (int)strtol(cols[col_of[k]], NULL, 10) : 0;
    rc =
      fsk_scenario_push(sc, (int)strtol(cols[col_count < ncols ? col_count : 3], NULL, 10), counts);
  }
  fclose(f);
  return rc;
}

/* Per-class counts at the last sample of (path, adapter) in series.csv. */
static int last_classes(const char *dir, const char *path, const char *adapter,
                        int counts[FSK_FD_CLASS_COUNT], int *found) {
  fsk_scenario_t sc;
  int rc;

  fsk_scenario_init(&sc, path, adapter, 0);
  rc = read_series(dir, path, adapter, &sc);
  *found = rc == 0 && sc.nsamples > 0;
  if (*found)
    memcpy(counts, sc.class_counts[sc.nsamples - 1], sizeof(int) * FSK_FD_CLASS_COUNT);
  fsk_scenario_free(&sc);
  return rc;
}

/* A result scenario, and the run directory it came from. */
typedef struct {
  cJSON *s;
  const char *dir;
  const char *path, *adapter;
  int matched;
  const char *again; /* another directory that has it too */
  int interrupted;   /* its soak was stopped before the end */
} entry_t;

/* One row of the report: a baseline scenario and what the gate found. */
typedef struct {
  const char *path, *adapter;
  const char *dir; /* where it ran; NULL: missing */
  const char *verdict;
  int steady, base_steady; /* steady < 0: unknown */
  int nleaked;
  const char *leak_target; /* the first leaked fd's target */
  const char *status;      /* "pass", "FAIL", "INCONCLUSIVE" */
  char notes[1024];
} row_t;

/* A failed check: on stderr as "KIND NAME: WHY", and in the row's notes. */
static void rnote(row_t *r, const char *kind, const char *name, const char *fmt, ...)
  __attribute__((format(printf, 4, 5)));
static void rnote(row_t *r, const char *kind, const char *name, const char *fmt, ...) {
  char msg[512];
  size_t used;
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  fprintf(stderr, "%s %s: %s\n", kind, name, msg);
  if (r == NULL)
    return;
  if (strcmp(kind, "FAIL") == 0 || r->status == NULL || strcmp(r->status, "pass") == 0)
    r->status = kind;
  used = strlen(r->notes);
  snprintf(r->notes + used, sizeof r->notes - used, "%s%s", used ? "; " : "", msg);
}

static entry_t *find_entry(entry_t *e, size_t n, const char *path, const char *adapter) {
  size_t i;

  for (i = 0; i < n; i++)
    if (strcmp(e[i].path, path) == 0 && strcmp(e[i].adapter, adapter) == 0)
      return &e[i];
  return NULL;
}

/* A whole, non-negative JSON number: a count. */
static int is_count(const cJSON *v) {
  return cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble <= 1e9 &&
         v->valuedouble == (double)(long)v->valuedouble;
}

static int is_verdict(const cJSON *v) {
  return cJSON_IsString(v) &&
         (strcmp(v->valuestring, "flat") == 0 || strcmp(v->valuestring, "leak") == 0 ||
          strcmp(v->valuestring, "inconclusive") == 0);
}

/* A summary the gate judges must say what fdsoak writes, in the types it
 * writes them: a field missing or of another type is a broken or forged
 * file, and reading it as "no leak" would pass it.  Sets *interrupted
 * from the summary.  Returns 0, or prints what is wrong and returns
 * FSK_EXIT_USAGE. */
static int check_summary(const char *file, const cJSON *d, int *interrupted) {
  const cJSON *v = jget(d, "verdict"), *intr = jget(d, "interrupted"), *s, *l;
  int i = 0, any_leak = 0, any_inc = 0;

  if (!cJSON_IsString(jget(d, "tool")) || strcmp(jget(d, "tool")->valuestring, "fdsoak") != 0)
    return gerr("%s: \"tool\" is not \"fdsoak\": not a summary fdsoak wrote", file);
  if (!is_verdict(v))
    return gerr("%s: \"verdict\" must be \"flat\", \"leak\" or \"inconclusive\"", file);
  if (!cJSON_IsBool(intr))
    return gerr("%s: \"interrupted\" must be true or false", file);
  *interrupted = cJSON_IsTrue(intr);
  cJSON_ArrayForEach(s, jget(d, "scenarios")) {
    const cJSON *sv = jget(s, "verdict"), *leaked = jget(s, "leaked");

    i++;
    if (!cJSON_IsObject(s) || !cJSON_IsString(jget(s, "path")) ||
        !cJSON_IsString(jget(s, "adapter")))
      return gerr("%s: scenario %d: \"path\" and \"adapter\" must be strings", file, i);
    if (!is_verdict(sv))
      return gerr("%s: scenario %d: \"verdict\" must be \"flat\", \"leak\" or \"inconclusive\"",
                  file, i);
    if (!is_count(jget(s, "fd_first")) || !is_count(jget(s, "fd_last")) ||
        !is_count(jget(s, "cycles")))
      return gerr("%s: scenario %d: \"fd_first\", \"fd_last\" and \"cycles\" must be whole "
                  "numbers >= 0",
                  file, i);
    if (!cJSON_IsArray(leaked))
      return gerr("%s: scenario %d: \"leaked\" must be a list", file, i);
    cJSON_ArrayForEach(l, leaked) {
      if (!cJSON_IsObject(l) || !cJSON_IsNumber(jget(l, "fd")) ||
          !cJSON_IsString(jget(l, "target")))
        return gerr("%s: scenario %d: every \"leaked\" entry is an object with \"fd\" and "
                    "\"target\"",
                    file, i);
    }
    any_leak |= strcmp(sv->valuestring, "leak") == 0;
    any_inc |= strcmp(sv->valuestring, "inconclusive") == 0;
  }
  /* The run's verdict is its worst scenario's (fsk_run_finish): a "flat"
   * over a leaking scenario, or a "leak" over flat ones, is not something
   * fdsoak writes. */
  if (strcmp(v->valuestring, any_leak ? "leak" : any_inc ? "inconclusive" : "flat") != 0)
    return gerr("%s: the verdict \"%s\" contradicts its scenarios' verdicts", file, v->valuestring);
  return 0;
}

/* The baseline is reviewed like code, and a typo in it must not pass
 * silently: every entry well typed, every class known, no entry twice.
 * Returns 0, or prints what is wrong and returns FSK_EXIT_USAGE. */
static int check_baseline(const char *file, cJSON *base) {
  cJSON *kind = jget(base, "kind"), *arr = jget(base, "scenarios");
  cJSON *b, *c;
  int i = 0, bad = 0;

  if (!cJSON_IsString(kind) || strcmp(kind->valuestring, "baseline") != 0)
    return gerr("%s: \"kind\" is %s%s%s, not \"baseline\" (is this a summary.json?)", file,
                cJSON_IsString(kind) ? "\"" : "",
                cJSON_IsString(kind) ? kind->valuestring : "missing",
                cJSON_IsString(kind) ? "\"" : "");
  if (!cJSON_IsArray(arr))
    return gerr("%s has no 'scenarios' array", file);
  cJSON_ArrayForEach(b, arr) {
    cJSON *p = jget(b, "path"), *a = jget(b, "adapter");
    cJSON *steady = jget(b, "fd_steady"), *cls = jget(b, "classes");
    cJSON *o;
    int j = 0;

    i++;
    if (!cJSON_IsString(p) || !cJSON_IsString(a)) {
      gerr("%s: scenario %d: \"path\" and \"adapter\" must be strings", file, i);
      bad = 1;
      continue;
    }
    if (!is_count(steady)) {
      gerr("%s: %s/%s: \"fd_steady\" must be a whole number >= 0", file, p->valuestring,
           a->valuestring);
      bad = 1;
    }
    if (!cJSON_IsObject(cls)) {
      gerr("%s: %s/%s: \"classes\" must be an object of counts", file, p->valuestring,
           a->valuestring);
      bad = 1;
    } else {
      cJSON_ArrayForEach(c, cls) {
        int k, known = 0;

        for (k = 0; k < FSK_FD_CLASS_COUNT; k++)
          known |= strcmp(c->string, fsk_fdclass_name((fsk_fdclass_t)k)) == 0;
        if (!known || !is_count(c)) {
          gerr("%s: %s/%s: class \"%s\" %s", file, p->valuestring, a->valuestring, c->string,
               known ? "must be a whole number >= 0" : "is not an fd class");
          bad = 1;
        }
      }
    }
    cJSON_ArrayForEach(o, arr) {
      cJSON *op = jget(o, "path"), *oa = jget(o, "adapter");

      if (++j >= i)
        break;
      if (cJSON_IsString(op) && cJSON_IsString(oa) &&
          strcmp(op->valuestring, p->valuestring) == 0 &&
          strcmp(oa->valuestring, a->valuestring) == 0) {
        gerr("%s: %s/%s is listed twice (scenarios %d and %d)", file, p->valuestring,
             a->valuestring, j, i);
        bad = 1;
      }
    }
  }
  if (i == 0)
    return gerr("%s has no scenarios: nothing to gate", file);
  return bad ? FSK_EXIT_USAGE : 0;
}

static int write_atomic(const char *file, const char *text) {
  char tmp[PATH_MAX + 16];
  FILE *f;

  snprintf(tmp, sizeof(tmp), "%s.tmp", file);
  if ((f = fopen(tmp, "w")) == NULL)
    return -errno;
  if (fputs(text, f) < 0 || fputc('\n', f) < 0 || fflush(f) != 0 || fsync(fileno(f)) != 0) {
    int e = -errno;
    fclose(f);
    unlink(tmp);
    return e;
  }
  fclose(f);
  if (rename(tmp, file) != 0) {
    int e = -errno;
    unlink(tmp);
    return e;
  }
  return 0;
}

/* Append the steady state of every scenario of one run directory to arr. */
static int baseline_entries(cJSON *arr, const char *dir, cJSON *summary) {
  int counts[FSK_FD_CLASS_COUNT], found, k;
  cJSON *s, *o;

  cJSON_ArrayForEach(s, jget(summary, "scenarios")) {
    cJSON *p = jget(s, "path"), *a = jget(s, "adapter");
    cJSON *last = jget(s, "fd_last"), *e, *cls;

    if (!cJSON_IsString(p) || !cJSON_IsString(a) || !cJSON_IsNumber(last))
      return gerr("%s/summary.json: a scenario lacks path, adapter or fd_last", dir);
    cJSON_ArrayForEach(o, arr) {
      if (strcmp(jget(o, "path")->valuestring, p->valuestring) == 0 &&
          strcmp(jget(o, "adapter")->valuestring, a->valuestring) == 0)
        return gerr("%s/%s is in more than one result directory (again in %s)", p->valuestring,
                    a->valuestring, dir);
    }
    if (last_classes(dir, p->valuestring, a->valuestring, counts, &found) != 0 || !found)
      return gerr("%s/series.csv: no samples for %s/%s", dir, p->valuestring, a->valuestring);
    e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "path", p->valuestring);
    cJSON_AddStringToObject(e, "adapter", a->valuestring);
    cJSON_AddNumberToObject(e, "fd_steady", last->valuedouble);
    cls = cJSON_AddObjectToObject(e, "classes");
    for (k = 0; k < FSK_FD_CLASS_COUNT; k++)
      cJSON_AddNumberToObject(cls, fsk_fdclass_name((fsk_fdclass_t)k), counts[k]);
    cJSON_AddItemToArray(arr, e);
  }
  return 0;
}

static int update_baseline(const char *baseline, char **dirs, cJSON **summaries, const int *intr,
                           int ndirs) {
  cJSON *out = cJSON_CreateObject(), *arr, *v;
  int rc, d;
  char *text;

  for (d = 0; d < ndirs; d++) {
    /* A soak cut short (cancelled, timed out) ran fewer cycles than asked:
     * its "flat" is not a steady state to hold every release to. */
    if (intr[d]) {
      cJSON_Delete(out);
      fprintf(stderr,
              "fdsoak gate: refusing to baseline %s: its soak was interrupted before the end "
              "(partial results)\n",
              dirs[d]);
      return FSK_EXIT_INCONCLUSIVE;
    }
  }
  for (d = 0; d < ndirs; d++) {
    v = jget(summaries[d], "verdict");
    if (!cJSON_IsString(v) || strcmp(v->valuestring, "flat") != 0) {
      cJSON_Delete(out);
      fprintf(stderr, "fdsoak gate: refusing to baseline %s: its verdict is '%s'\n", dirs[d],
              cJSON_IsString(v) ? v->valuestring : "?");
      return FSK_EXIT_LEAK;
    }
  }
  cJSON_AddStringToObject(out, "tool", "fdsoak");
  cJSON_AddStringToObject(out, "kind", "baseline");
  v = jget(summaries[0], "started_utc");
  cJSON_AddStringToObject(out, "source_started_utc", cJSON_IsString(v) ? v->valuestring : "");
  cJSON_AddStringToObject(out, "note",
                          "steady-state fd count per scenario and class; written by "
                          "`fdsoak gate --update-baseline`, reviewed like code");
  arr = cJSON_AddArrayToObject(out, "scenarios");
  for (d = 0; d < ndirs; d++) {
    if ((rc = baseline_entries(arr, dirs[d], summaries[d])) != 0) {
      cJSON_Delete(out);
      return rc;
    }
  }
  text = cJSON_Print(out);
  cJSON_Delete(out);
  if (text == NULL)
    return gerr("out of memory");
  rc = write_atomic(baseline, text);
  free(text);
  if (rc != 0)
    return gerr("cannot write %s: %s", baseline, strerror(-rc));
  printf("baseline written to %s: review and commit it\n", baseline);
  return 0;
}

/* The report's SVG name: FILE with .md replaced by .svg (or .svg added). */
static void svg_name(const char *report, char *buf, size_t len) {
  size_t n = strlen(report);

  if (n > 3 && strcmp(report + n - 3, ".md") == 0)
    snprintf(buf, len, "%.*s.svg", (int)(n - 3), report);
  else
    snprintf(buf, len, "%s.svg", report);
}

/* One scenario's series from DIR/series.csv into sc, with the verdict and
 * warm-up its summary gives. */
static int load_series(const char *dir, cJSON *summ_scen, fsk_scenario_t *sc) {
  cJSON *p = jget(summ_scen, "path"), *a = jget(summ_scen, "adapter");
  cJSON *v = jget(summ_scen, "verdict");
  cJSON *w = jget(summ_scen, "warmup_samples");

  if (!cJSON_IsNumber(w))
    w = jget(summ_scen, "warmup");
  fsk_scenario_init(sc, p->valuestring, a->valuestring,
                    cJSON_IsNumber(w) ? (long)w->valuedouble : 0);
  sc->verdict = cJSON_IsString(v) && strcmp(v->valuestring, "leak") == 0 ? FSK_VERDICT_LEAK
                : cJSON_IsString(v) && strcmp(v->valuestring, "flat") == 0
                  ? FSK_VERDICT_FLAT
                  : FSK_VERDICT_INCONCLUSIVE;
  return read_series(dir, p->valuestring, a->valuestring, sc);
}

/* One SVG of every scenario of the report (the baseline's, in its order),
 * from the directories they ran in: the plot of a soak spread over jobs. */
static int write_merged_svg(const char *file, row_t *rows, size_t nrows, entry_t *ent, size_t nent,
                            const char *verdict) {
  fsk_run_t run;
  size_t r, n = 0;
  int rc = 0;

  memset(&run, 0, sizeof run);
  run.mode = "gate";
  run.scen = calloc(nrows + 1, sizeof *run.scen);
  if (run.scen == NULL)
    return -ENOMEM;
  run.verdict = strcmp(verdict, "PASS") == 0   ? FSK_VERDICT_FLAT
                : strcmp(verdict, "FAIL") == 0 ? FSK_VERDICT_LEAK
                                               : FSK_VERDICT_INCONCLUSIVE;
  for (r = 0; r < nrows && rc == 0; r++) {
    entry_t *e = rows[r].dir != NULL ? find_entry(ent, nent, rows[r].path, rows[r].adapter) : NULL;

    if (e == NULL)
      continue;
    /* A series.csv that cannot be read is already a FAIL in the rows. */
    rc = load_series(e->dir, e->s, &run.scen[n]);
    if (rc == -ENOENT)
      rc = 0;
    n++;
  }
  run.nscen = n;
  if (rc == 0)
    rc = fsk_write_svg(file, &run);
  for (r = 0; r < n; r++)
    fsk_scenario_free(&run.scen[r]);
  free(run.scen);
  return rc;
}

/* A markdown cell: nothing in it (a directory's name, a target) may break
 * the table or become markup (finding.c). */
static void md_cell(FILE *f, const char *s) { fsk__md_put(f, s); }

/* A name as code: <code> with its text escaped, since a backtick span
 * would let a backtick in the name end it. */
static void md_code(FILE *f, const char *s) {
  fputs("<code>", f);
  fsk__md_put(f, s);
  fputs("</code>", f);
}

/* A link's destination: percent-encoded, so no character of the file's
 * name can end the link. */
static void md_url(FILE *f, const char *s) {
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;

    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
        strchr("-._~/", c) != NULL)
      fputc(c, f);
    else
      fprintf(f, "%%%02X", c);
  }
}

/* The scenario path/adapter of a results directory, as loaded for the
 * findings (NULL when not loaded). */
static const fsk_scenario_t *loaded_scenario(const fsk_run_t *loaded, char **dirs, int ndirs,
                                             const char *dir, const char *path,
                                             const char *adapter) {
  int i;
  size_t k;

  for (i = 0; loaded != NULL && i < ndirs; i++) {
    if (dirs[i] != dir)
      continue;
    for (k = 0; k < loaded[i].nscen; k++)
      if (strcmp(loaded[i].scen[k].path, path) == 0 &&
          strcmp(loaded[i].scen[k].adapter, adapter) == 0)
        return &loaded[i].scen[k];
  }
  return NULL;
}

/* report.md: the verdict, a row per baseline scenario, and whatever else
 * failed; the SVG beside it. */
static int write_report(const char *file, const char *baseline, char **dirs, int ndirs, row_t *rows,
                        size_t nrows, entry_t *ent, size_t nent, const char *verdict,
                        const fsk_run_t *loaded) {
  char svg[PATH_MAX + 8], tmp[PATH_MAX + 16];
  const char *svg_base;
  size_t r, x;
  int i, rc;
  FILE *f;

  svg_name(file, svg, sizeof svg);
  snprintf(tmp, sizeof tmp, "%s", file);
  if (strrchr(tmp, '/') != NULL && strrchr(tmp, '/') != tmp) {
    *strrchr(tmp, '/') = '\0';
    if ((rc = fsk__mkdir_p(tmp)) != 0)
      return rc;
  }
  svg_base = strrchr(svg, '/') != NULL ? strrchr(svg, '/') + 1 : svg;
  if ((rc = write_merged_svg(svg, rows, nrows, ent, nent, verdict)) != 0)
    return rc;
  snprintf(tmp, sizeof tmp, "%s.tmp", file);
  if ((f = fopen(tmp, "w")) == NULL)
    return -errno;
  fprintf(f, "# fdsoak gate: %s\n\n", verdict);
  fputs("Baseline ", f);
  md_code(f, baseline);
  fprintf(f, "; %d run director%s:", ndirs, ndirs == 1 ? "y" : "ies");
  for (i = 0; i < ndirs; i++) {
    fputc(' ', f);
    md_code(f, dirs[i]);
  }
  fprintf(f, ".\n\n");
  fprintf(f,
          "| scenario | run directory | verdict | steady fds (baseline) | leaked fds | result |\n");
  fprintf(f, "| --- | --- | --- | --- | --- | --- |\n");
  for (r = 0; r < nrows; r++) {
    row_t *w = &rows[r];

    fputs("| ", f);
    md_cell(f, w->path);
    fputc('/', f);
    md_cell(f, w->adapter);
    fputs(" | ", f);
    if (w->dir != NULL) {
      md_code(f, w->dir);
    } else {
      fputs("missing", f);
    }
    fputs(" | ", f);
    md_cell(f, w->verdict != NULL ? w->verdict : "-");
    fputs(" | ", f);
    if (w->steady >= 0)
      fprintf(f, "%d (%d)%s", w->steady, w->base_steady,
              w->steady != w->base_steady ? " **differs**" : "");
    else
      fprintf(f, "- (%d)", w->base_steady);
    fputs(" | ", f);
    if (w->nleaked > 0) {
      fprintf(f, "%d, e.g. ", w->nleaked);
      md_code(f, w->leak_target != NULL ? w->leak_target : "?");
    } else {
      fputs(w->dir != NULL ? "0" : "-", f);
    }
    fprintf(f, " | %s%s", strcmp(w->status, "pass") == 0 ? "pass" : w->status,
            w->notes[0] ? ": " : "");
    md_cell(f, w->notes);
    fputs(" |\n", f);
  }
  for (x = 0, i = 0; x < nent; x++) {
    if (ent[x].matched)
      continue;
    if (i++ == 0)
      fprintf(f, "\nResults the baseline does not list (never judged against it: a failure):\n\n");
    fputs("- ", f);
    md_cell(f, ent[x].path);
    fputc('/', f);
    md_cell(f, ent[x].adapter);
    fputs(" in ", f);
    md_code(f, ent[x].dir);
    fputc('\n', f);
  }
  /* The leaks, grouped by the place that opened them (finding.c). */
  for (r = 0; r < nrows; r++) {
    const fsk_scenario_t *sc =
      rows[r].dir != NULL && rows[r].nleaked > 0
        ? loaded_scenario(loaded, dirs, ndirs, rows[r].dir, rows[r].path, rows[r].adapter)
        : NULL;

    if (sc == NULL || sc->nleaked == 0)
      continue;
    fputs("\n### Leaked fds of ", f);
    md_cell(f, sc->path);
    fputc('/', f);
    md_cell(f, sc->adapter);
    fputs("\n\n", f);
    fsk_findings_markdown(f, sc, 8);
  }
  /* A blank line after the image: text appended to this file (a job
   * summary) would otherwise run into it. */
  fputs("\n![open fds, every scenario](", f);
  md_url(f, svg_base);
  fputs(")\n\n", f);
  if (fflush(f) != 0 || ferror(f)) {
    rc = -errno;
    fclose(f);
    unlink(tmp);
    return rc ? rc : -EIO;
  }
  fclose(f);
  if (rename(tmp, file) != 0) {
    rc = -errno;
    unlink(tmp);
    return rc;
  }
  printf("fdsoak gate: report %s, plot %s\n", file, svg);
  return 0;
}

/* SARIF of every directory's leaks: one run of all their scenarios. */
static int write_sarif(const char *file, const fsk_run_t *loaded, int ndirs) {
  fsk_run_t all;
  size_t n = 0, k;
  int i, rc;

  memset(&all, 0, sizeof all);
  for (i = 0; i < ndirs; i++)
    n += loaded[i].nscen;
  if ((all.scen = calloc(n + 1, sizeof *all.scen)) == NULL)
    return -ENOMEM;
  for (i = 0; i < ndirs; i++)
    for (k = 0; k < loaded[i].nscen; k++)
      all.scen[all.nscen++] = loaded[i].scen[k]; /* a view: loaded owns them */
  all.mode = "gate";
  rc = fsk__write_sarif_here(file, &all);
  free(all.scen);
  return rc;
}

/* One gate: its flags, what it read, and what it found. */
typedef struct {
  const char *baseline, *report, *sarif;
  int update;
  char **dirs;
  int ndirs;
  int *intr;         /* per directory: its soak was interrupted */
  cJSON **summaries; /* per directory */
  cJSON *base;
  fsk_run_t *loaded; /* per directory, for the leaks' groups */
  entry_t *ent;
  size_t nent, cap;
  row_t *rows;
  size_t nrows;
  int failures, inconclusive, checked;
} gate_t;

#define GO(field) offsetof(gate_t, field)
static const fsk__flag_t gate_flags[] = {
  {"--baseline", NULL, FSK_ARG_STR, "FILE", GO(baseline), 0, 0, NULL,
   "the baseline (default results/baseline.json)", 0},
  {"--update-baseline", NULL, FSK_ARG_BOOL, NULL, GO(update), 0, 0, NULL,
   "write the baseline from flat RESULT_DIRs instead of checking them", 0},
  {"--report", NULL, FSK_ARG_STR, "FILE.md", GO(report), 0, 0, NULL,
   "one markdown report over every RESULT_DIR, and FILE.svg beside\n"
   "it with every scenario's fd count per cycle",
   0},
  {"--sarif", NULL, FSK_ARG_STR, "FILE", GO(sarif), 0, 0, NULL,
   "the leaks of every RESULT_DIR as SARIF 2.1.0 (code scanning)", 0},
  {NULL, NULL, 0, NULL, 0, 0, 0, NULL, NULL, 0},
};

const fsk__verb_t fsk__gate_verb = {
  "gate",
  gate_flags,
  "RESULT_DIR [RESULT_DIR...]",
  0,
  "  every baseline scenario must be in exactly one RESULT_DIR, flat, with no fd\n"
  "  outliving its cycle, at the baseline's steady-state count in total and per class\n",
  "exit: 0 pass, 1 a check failed, 2 usage or bad input, 3 inconclusive\n"};

/* Each RESULT_DIR's summary, read and checked. */
static int load_dirs(gate_t *g) {
  char file[PATH_MAX + 16];
  struct stat st;
  int i, code = 0;

  for (i = 0; i < g->ndirs; i++) {
    if (stat(g->dirs[i], &st) != 0 || !S_ISDIR(st.st_mode))
      return gerr("result directory %s: %s", g->dirs[i],
                  stat(g->dirs[i], &st) != 0 ? strerror(errno) : "not a directory");
    snprintf(file, sizeof(file), "%s/summary.json", g->dirs[i]);
    if ((g->summaries[i] = load_json(file, "summary", &code)) == NULL)
      return code;
    if (!cJSON_IsArray(jget(g->summaries[i], "scenarios")))
      return gerr("%s has no 'scenarios' array", file);
    if ((code = check_summary(file, g->summaries[i], &g->intr[i])) != 0)
      return code;
  }
  return 0;
}

/* Every result scenario, across the directories: each exactly once. */
static int collect_entries(gate_t *g) {
  cJSON *s;
  int i;

  for (i = 0; i < g->ndirs; i++) {
    cJSON_ArrayForEach(s, jget(g->summaries[i], "scenarios")) {
      cJSON *p = jget(s, "path"), *a = jget(s, "adapter");
      entry_t *dup;

      if (!cJSON_IsString(p) || !cJSON_IsString(a))
        return gerr("%s/summary.json: a scenario lacks path or adapter", g->dirs[i]);
      if ((dup = find_entry(g->ent, g->nent, p->valuestring, a->valuestring)) != NULL) {
        g->failures++;
        fprintf(stderr, "FAIL %s/%s: in the results twice (%s and %s): which one counts?\n",
                p->valuestring, a->valuestring, dup->dir, g->dirs[i]);
        dup->again = g->dirs[i];
        continue;
      }
      if (fsk__grow(&g->ent, &g->cap, g->nent + 1, sizeof *g->ent, 16) != 0)
        return gerr("out of memory");
      g->ent[g->nent++] =
        (entry_t){s, g->dirs[i], p->valuestring, a->valuestring, 0, NULL, g->intr[i]};
    }
  }
  return 0;
}

/* The verdict of entry e against row r. */
static void check_verdict(gate_t *g, row_t *r, const entry_t *e, const char *name) {
  cJSON *v = jget(e->s, "verdict");

  r->verdict = cJSON_IsString(v) ? v->valuestring : "?";
  if (cJSON_IsString(v) && strcmp(v->valuestring, "inconclusive") == 0) {
    g->inconclusive++;
    rnote(r, "INCONCLUSIVE", name, "%s",
          cJSON_IsString(jget(e->s, "why")) ? jget(e->s, "why")->valuestring
                                            : "the count never settled");
  } else if (!cJSON_IsString(v) || strcmp(v->valuestring, "flat") != 0) {
    g->failures++;
    rnote(r, "FAIL", name, "verdict %s", cJSON_IsString(v) ? v->valuestring : "?");
  } else if (e->interrupted) {
    g->inconclusive++;
    rnote(r, "INCONCLUSIVE", name,
          "the soak in %s was interrupted (cancelled or timed out): flat so far is no pass",
          e->dir);
  }
}

/* Entry e's leaked fds, and its steady-state count in total and per class,
 * against baseline scenario b. */
static void check_counts(gate_t *g, row_t *r, const entry_t *e, const cJSON *b, const char *name) {
  cJSON *steady = jget(b, "fd_steady"), *cls = jget(b, "classes");
  cJSON *leaked = jget(e->s, "leaked"), *last = jget(e->s, "fd_last");
  int counts[FSK_FD_CLASS_COUNT], found = 0, k;

  r->nleaked = cJSON_GetArraySize(leaked);
  if (r->nleaked > 0) {
    cJSON *t0 = jget(cJSON_GetArrayItem(leaked, 0), "target");
    const fsk_scenario_t *sc =
      loaded_scenario(g->loaded, g->dirs, g->ndirs, e->dir, r->path, r->adapter);

    r->leak_target = cJSON_IsString(t0) ? t0->valuestring : NULL;
    g->failures++;
    rnote(r, "FAIL", name, "%d fd(s) outlived their cycle", r->nleaked);
    /* The same groups as everywhere else (finding.c). */
    if (sc != NULL)
      fsk_findings_print(stderr, sc, 3);
  }
  if (cJSON_IsNumber(last))
    r->steady = last->valueint;
  if (!cJSON_IsNumber(last) || last->valueint != steady->valueint) {
    g->failures++;
    rnote(r, "FAIL", name, "steady-state fd count %d, baseline %d",
          cJSON_IsNumber(last) ? last->valueint : -1, steady->valueint);
  }
  if (last_classes(e->dir, r->path, r->adapter, counts, &found) != 0 || !found) {
    g->failures++;
    rnote(r, "FAIL", name, "no per-class samples in %s/series.csv", e->dir);
    return;
  }
  for (k = 0; k < FSK_FD_CLASS_COUNT; k++) {
    cJSON *want = jget(cls, fsk_fdclass_name((fsk_fdclass_t)k));
    int w = cJSON_IsNumber(want) ? want->valueint : 0;
    if (counts[k] != w) {
      g->failures++;
      rnote(r, "FAIL", name, "%d %s fds at steady state, baseline %d", counts[k],
            fsk_fdclass_name((fsk_fdclass_t)k), w);
    }
  }
}

/* One row per baseline scenario b: the result that has it, checked. */
static void check_row(gate_t *g, const cJSON *b) {
  cJSON *p = jget(b, "path"), *a = jget(b, "adapter");
  row_t *r = &g->rows[g->nrows++];
  entry_t *e;
  char name[96];

  snprintf(name, sizeof(name), "%s/%s", p->valuestring, a->valuestring);
  r->path = p->valuestring;
  r->adapter = a->valuestring;
  r->base_steady = jget(b, "fd_steady")->valueint;
  r->steady = -1;
  r->status = "pass";
  g->checked++;
  e = find_entry(g->ent, g->nent, p->valuestring, a->valuestring);
  if (e == NULL) {
    g->failures++;
    rnote(r, "FAIL", name, "not in the results (the soak must cover every baseline scenario)");
    return;
  }
  e->matched = 1;
  r->dir = e->dir;
  if (e->again != NULL) {
    /* Counted and printed when the directories were read. */
    r->status = "FAIL";
    snprintf(r->notes, sizeof r->notes, "also in %s: which one counts?", e->again);
  }
  check_verdict(g, r, e, name);
  check_counts(g, r, e, b, name);
}

/* Every baseline scenario, then every result the baseline does not know
 * (it was never judged against it). */
static int check_all(gate_t *g) {
  cJSON *b;
  size_t x;

  g->nrows = (size_t)cJSON_GetArraySize(jget(g->base, "scenarios"));
  if ((g->rows = calloc(g->nrows + 1, sizeof *g->rows)) == NULL)
    return gerr("out of memory");
  g->nrows = 0;
  cJSON_ArrayForEach(b, jget(g->base, "scenarios")) check_row(g, b);
  for (x = 0; x < g->nent; x++) {
    if (g->ent[x].matched)
      continue;
    g->failures++;
    fprintf(stderr,
            "FAIL %s/%s (%s): not in the baseline %s: update the baseline, or soak "
            "only what it lists\n",
            g->ent[x].path, g->ent[x].adapter, g->ent[x].dir, g->baseline);
  }
  return 0;
}

/* The report, if asked for, and the verdict: the exit code. */
static int conclude(gate_t *g) {
  const char *verdict = g->failures > 0 ? "FAIL" : g->inconclusive > 0 ? "INCONCLUSIVE" : "PASS";
  int rc;

  if (g->report != NULL && (rc = write_report(g->report, g->baseline, g->dirs, g->ndirs, g->rows,
                                              g->nrows, g->ent, g->nent, verdict, g->loaded)) != 0)
    return gerr("cannot write the report %s: %s", g->report, strerror(-rc));
  if (g->failures > 0) {
    fprintf(stderr, "fdsoak gate: FAIL (%d check(s) failed over %d scenario(s))\n", g->failures,
            g->checked);
    return FSK_EXIT_LEAK;
  }
  if (g->inconclusive > 0) {
    fprintf(stderr, "fdsoak gate: INCONCLUSIVE (%d scenario(s))\n", g->inconclusive);
    return FSK_EXIT_INCONCLUSIVE;
  }
  printf("fdsoak gate: PASS (%d scenarios match %s)\n", g->checked, g->baseline);
  return 0;
}

/* The scenarios as the renderer takes them, for the leaks' groups (a
 * directory that cannot be read so is judged from its summary alone), and
 * the SARIF file made from them. */
static int load_runs(gate_t *g) {
  int i, rc;

  if ((g->loaded = calloc((size_t)g->ndirs + 1, sizeof *g->loaded)) == NULL)
    return gerr("out of memory");
  for (i = 0; i < g->ndirs; i++)
    if (fsk__results_load(g->dirs[i], &g->loaded[i]) != 0)
      memset(&g->loaded[i], 0, sizeof g->loaded[i]);
  if (g->sarif != NULL && (rc = write_sarif(g->sarif, g->loaded, g->ndirs)) != 0)
    return gerr("cannot write %s: %s", g->sarif, strerror(-rc));
  return 0;
}

static void gate_free(gate_t *g) {
  int i;

  for (i = 0; g->loaded != NULL && i < g->ndirs; i++)
    fsk__results_release(&g->loaded[i]);
  free(g->loaded);
  for (i = 0; g->summaries != NULL && i < g->ndirs; i++)
    cJSON_Delete(g->summaries[i]);
  free(g->summaries);
  free(g->intr);
  free(g->ent);
  free(g->rows);
  cJSON_Delete(g->base);
}

int fsk__gate_main(int argc, char **argv) {
  gate_t g;
  fsk__args_t a;
  int code;

  memset(&g, 0, sizeof g);
  g.baseline = "results/baseline.json";
  if ((code = fsk__args_parse(&fsk__gate_verb, argc, argv, &g, &a)) != 0)
    return code == 1 ? 0 : code;
  if (a.npos == 0)
    return gerr("give at least one RESULT_DIR (see fdsoak gate --help)");
  g.dirs = a.pos;
  g.ndirs = a.npos;
  g.summaries = calloc((size_t)g.ndirs + 1, sizeof *g.summaries);
  g.intr = calloc((size_t)g.ndirs + 1, sizeof *g.intr);
  if (g.summaries == NULL || g.intr == NULL) {
    code = gerr("out of memory");
    goto out;
  }
  if ((code = load_dirs(&g)) != 0)
    goto out;
  if (g.update) {
    code = update_baseline(g.baseline, g.dirs, g.summaries, g.intr, g.ndirs);
    goto out;
  }
  /* load_json sets code when it fails. */
  if ((code = load_runs(&g)) != 0 || (g.base = load_json(g.baseline, "baseline", &code)) == NULL ||
      (code = check_baseline(g.baseline, g.base)) != 0 || (code = collect_entries(&g)) != 0 ||
      (code = check_all(&g)) != 0)
    goto out;
  code = conclude(&g);
out:
  gate_free(&g);
  return code;
}
