/* gate.c - `fdsoak gate`: compare a soak's results with the baseline.
 *
 *   fdsoak gate [--baseline results/baseline.json] RESULT_DIR
 *   fdsoak gate [--baseline FILE] --update-baseline RESULT_DIR
 *
 * A release passes when, for every scenario of the baseline, the result has
 * the scenario, its verdict is flat, no fd outlived its cycle, and the
 * steady-state fd count, in total and per class, equals the baseline's.
 * Updating the baseline is deliberate: it writes the file for review and
 * refuses a result that is not flat.
 * Exit: 0 pass, 1 fail (which check, and why, on stderr), 2 usage or bad
 * input, 3 a result that was inconclusive.
 */
#include "driver.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

static int gerr(const char *fmt, ...) {
  va_list ap;
  fputs("fdsoak gate: ", stderr);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  return FSK_EXIT_USAGE;
}

static char *slurp(const char *file, int *err) {
  FILE *f = fopen(file, "r");
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

static cJSON *load_json(const char *file, const char *what, int *code) {
  int err;
  char *text = slurp(file, &err);
  cJSON *j;

  *code = 0;
  if (text == NULL) {
    *code = gerr("cannot read %s %s: %s", what, file, strerror(-err));
    return NULL;
  }
  j = cJSON_Parse(text);
  if (j == NULL || !cJSON_IsObject(j)) {
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

/* Per-class counts at the last sample of (path, adapter) in series.csv. */
static int last_classes(const char *dir, const char *path, const char *adapter,
                        int counts[FSK_FD_CLASS_COUNT], int *found) {
  char file[PATH_MAX + 16], line[4096], *cols[64];
  int col_of[FSK_FD_CLASS_COUNT];
  int ncols, i, k, header = 1;
  FILE *f;

  *found = 0;
  snprintf(file, sizeof(file), "%s/series.csv", dir);
  if ((f = fopen(file, "r")) == NULL)
    return -errno;
  for (k = 0; k < FSK_FD_CLASS_COUNT; k++)
    col_of[k] = -1;
  while (fgets(line, sizeof(line), f) != NULL) {
    char *save = NULL, *tok;
    line[strcspn(line, "\r\n")] = '\0';
    ncols = 0;
    for (tok = strtok_r(line, ",", &save); tok != NULL && ncols < 64;
         tok = strtok_r(NULL, ",", &save))
      cols[ncols++] = tok;
    if (header) {
      for (i = 0; i < ncols; i++)
        for (k = 0; k < FSK_FD_CLASS_COUNT; k++)
          if (strcmp(cols[i], fsk_fdclass_name((fsk_fdclass_t)k)) == 0)
            col_of[k] = i;
      header = 0;
      continue;
    }
    if (ncols < 3 || strcmp(cols[1], path) != 0 || strcmp(cols[2], adapter) != 0)
      continue;
    for (k = 0; k < FSK_FD_CLASS_COUNT; k++)
      counts[k] = col_of[k] >= 0 && col_of[k] < ncols ? atoi(cols[col_of[k]]) : 0;
    *found = 1;
  }
  fclose(f);
  return 0;
}

static cJSON *find_scenario(cJSON *arr, const char *path, const char *adapter) {
  cJSON *s;
  cJSON_ArrayForEach(s, arr) {
    cJSON *p = cJSON_GetObjectItem(s, "path"), *a = cJSON_GetObjectItem(s, "adapter");
    if (cJSON_IsString(p) && cJSON_IsString(a) && strcmp(p->valuestring, path) == 0 &&
        strcmp(a->valuestring, adapter) == 0)
      return s;
  }
  return NULL;
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

static int update_baseline(const char *baseline, const char *dir, cJSON *summary) {
  cJSON *out = cJSON_CreateObject(), *arr, *s, *v;
  int counts[FSK_FD_CLASS_COUNT], found, k, rc;
  char *text;

  v = cJSON_GetObjectItem(summary, "verdict");
  if (!cJSON_IsString(v) || strcmp(v->valuestring, "flat") != 0) {
    cJSON_Delete(out);
    fprintf(stderr, "fdsoak gate: refusing to baseline a result whose verdict is '%s'\n",
            cJSON_IsString(v) ? v->valuestring : "?");
    return FSK_EXIT_LEAK;
  }
  cJSON_AddStringToObject(out, "tool", "fdsoak");
  cJSON_AddStringToObject(out, "kind", "baseline");
  v = cJSON_GetObjectItem(summary, "started_utc");
  cJSON_AddStringToObject(out, "source_started_utc", cJSON_IsString(v) ? v->valuestring : "");
  cJSON_AddStringToObject(out, "note",
                          "steady-state fd count per scenario and class; written by "
                          "`fdsoak gate --update-baseline`, reviewed like code");
  arr = cJSON_AddArrayToObject(out, "scenarios");
  cJSON_ArrayForEach(s, cJSON_GetObjectItem(summary, "scenarios")) {
    cJSON *p = cJSON_GetObjectItem(s, "path"), *a = cJSON_GetObjectItem(s, "adapter");
    cJSON *last = cJSON_GetObjectItem(s, "fd_last"), *e, *cls;
    if (!cJSON_IsString(p) || !cJSON_IsString(a) || !cJSON_IsNumber(last)) {
      cJSON_Delete(out);
      return gerr("%s/summary.json: a scenario lacks path, adapter or fd_last", dir);
    }
    if ((rc = last_classes(dir, p->valuestring, a->valuestring, counts, &found)) != 0 ||
        !found) {
      cJSON_Delete(out);
      return gerr("%s/series.csv: no samples for %s/%s", dir, p->valuestring, a->valuestring);
    }
    e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "path", p->valuestring);
    cJSON_AddStringToObject(e, "adapter", a->valuestring);
    cJSON_AddNumberToObject(e, "fd_steady", last->valuedouble);
    cls = cJSON_AddObjectToObject(e, "classes");
    for (k = 0; k < FSK_FD_CLASS_COUNT; k++)
      cJSON_AddNumberToObject(cls, fsk_fdclass_name((fsk_fdclass_t)k), counts[k]);
    cJSON_AddItemToArray(arr, e);
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

int fsk__gate_main(int argc, char **argv) {
  const char *baseline = "results/baseline.json", *dir = NULL;
  char file[PATH_MAX + 16];
  cJSON *summary = NULL, *base = NULL, *b, *v;
  int update = 0, i, code, failures = 0, inconclusive = 0, checked = 0;
  struct stat st;

  for (i = 0; i < argc; i++) {
    if (strcmp(argv[i], "--baseline") == 0) {
      if (i + 1 >= argc || argv[i + 1][0] == '\0')
        return gerr("--baseline needs a file");
      baseline = argv[++i];
    } else if (strcmp(argv[i], "--update-baseline") == 0) {
      update = 1;
    } else if (argv[i][0] == '-') {
      return gerr("unknown flag '%s'", argv[i]);
    } else if (dir == NULL) {
      dir = argv[i];
    } else {
      return gerr("one RESULT_DIR only (got '%s' and '%s')", dir, argv[i]);
    }
  }
  if (dir == NULL)
    return gerr("usage: fdsoak gate [--baseline FILE] [--update-baseline] RESULT_DIR");
  if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
    return gerr("result directory %s: %s", dir, stat(dir, &st) != 0 ? strerror(errno)
                                                                     : "not a directory");
  snprintf(file, sizeof(file), "%s/summary.json", dir);
  if ((summary = load_json(file, "summary", &code)) == NULL)
    return code;
  if (update) {
    code = update_baseline(baseline, dir, summary);
    cJSON_Delete(summary);
    return code;
  }
  if ((base = load_json(baseline, "baseline", &code)) == NULL) {
    cJSON_Delete(summary);
    return code;
  }
  if (!cJSON_IsArray(cJSON_GetObjectItem(base, "scenarios")) ||
      !cJSON_IsArray(cJSON_GetObjectItem(summary, "scenarios"))) {
    cJSON_Delete(summary);
    cJSON_Delete(base);
    return gerr("%s or %s has no 'scenarios' array", baseline, file);
  }

  cJSON_ArrayForEach(b, cJSON_GetObjectItem(base, "scenarios")) {
    cJSON *p = cJSON_GetObjectItem(b, "path"), *a = cJSON_GetObjectItem(b, "adapter");
    cJSON *steady = cJSON_GetObjectItem(b, "fd_steady"), *cls = cJSON_GetObjectItem(b, "classes");
    cJSON *s, *last, *leaked, *l;
    int counts[FSK_FD_CLASS_COUNT], found = 0, k;
    char name[96];

    if (!cJSON_IsString(p) || !cJSON_IsString(a) || !cJSON_IsNumber(steady)) {
      failures++;
      fprintf(stderr, "FAIL baseline: an entry lacks path, adapter or fd_steady\n");
      continue;
    }
    snprintf(name, sizeof(name), "%s/%s", p->valuestring, a->valuestring);
    checked++;
    s = find_scenario(cJSON_GetObjectItem(summary, "scenarios"), p->valuestring, a->valuestring);
    if (s == NULL) {
      failures++;
      fprintf(stderr, "FAIL %s: not in the result (the soak must cover every baseline scenario)\n",
              name);
      continue;
    }
    v = cJSON_GetObjectItem(s, "verdict");
    if (cJSON_IsString(v) && strcmp(v->valuestring, "inconclusive") == 0) {
      inconclusive++;
      fprintf(stderr, "INCONCLUSIVE %s: %s\n", name,
              cJSON_IsString(cJSON_GetObjectItem(s, "why"))
                  ? cJSON_GetObjectItem(s, "why")->valuestring
                  : "the count never settled");
    } else if (!cJSON_IsString(v) || strcmp(v->valuestring, "flat") != 0) {
      failures++;
      fprintf(stderr, "FAIL %s: verdict %s\n", name, cJSON_IsString(v) ? v->valuestring : "?");
    }
    leaked = cJSON_GetObjectItem(s, "leaked");
    if (cJSON_GetArraySize(leaked) > 0) {
      int shown = 0, nleak = cJSON_GetArraySize(leaked);
      failures++;
      fprintf(stderr, "FAIL %s: %d fd(s) outlived their cycle\n", name, nleak);
      cJSON_ArrayForEach(l, leaked) {
        cJSON *fd = cJSON_GetObjectItem(l, "fd"), *t = cJSON_GetObjectItem(l, "target");
        cJSON *o = cJSON_GetObjectItem(l, "origin");
        if (shown++ == 3) {
          fprintf(stderr, "  ... and %d more (summary.json lists them all)\n", nleak - 3);
          break;
        }
        fprintf(stderr, "  fd %d (%s); %s\n", cJSON_IsNumber(fd) ? fd->valueint : -1,
                cJSON_IsString(t) ? t->valuestring : "?", cJSON_IsString(o) ? o->valuestring : "");
      }
    }
    last = cJSON_GetObjectItem(s, "fd_last");
    if (!cJSON_IsNumber(last) || last->valueint != steady->valueint) {
      failures++;
      fprintf(stderr, "FAIL %s: steady-state fd count %d, baseline %d\n", name,
              cJSON_IsNumber(last) ? last->valueint : -1, steady->valueint);
    }
    if (last_classes(dir, p->valuestring, a->valuestring, counts, &found) != 0 || !found) {
      failures++;
      fprintf(stderr, "FAIL %s: no per-class samples in %s/series.csv\n", name, dir);
      continue;
    }
    for (k = 0; k < FSK_FD_CLASS_COUNT; k++) {
      cJSON *want = cJSON_GetObjectItem(cls, fsk_fdclass_name((fsk_fdclass_t)k));
      int w = cJSON_IsNumber(want) ? want->valueint : 0;
      if (counts[k] != w) {
        failures++;
        fprintf(stderr, "FAIL %s: %d %s fds at steady state, baseline %d\n", name, counts[k],
                fsk_fdclass_name((fsk_fdclass_t)k), w);
      }
    }
  }
  cJSON_Delete(summary);
  cJSON_Delete(base);
  if (checked == 0)
    return gerr("%s has no scenarios: nothing to gate", baseline);
  if (failures > 0) {
    fprintf(stderr, "fdsoak gate: FAIL (%d check(s) failed over %d scenario(s))\n", failures,
            checked);
    return FSK_EXIT_LEAK;
  }
  if (inconclusive > 0) {
    fprintf(stderr, "fdsoak gate: INCONCLUSIVE (%d scenario(s))\n", inconclusive);
    return FSK_EXIT_INCONCLUSIVE;
  }
  printf("fdsoak gate: PASS (%d scenarios match %s)\n", checked, baseline);
  return 0;
}
