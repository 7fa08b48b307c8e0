/* test_results.c - the result files of docs/architecture.md, read back: summary.json
 * field by field, series.csv, junit.xml, fd-soak.svg, results/latest, and
 * failures that must come back as a negative errno. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cJSON.h>
#include <cmocka.h>

#include "fsk.h"

#define WARMUP 5
#define CYCLES 40 /* after warm-up */

typedef struct {
  char root[256]; /* mkdtemp */
  char dir[512];  /* root/runs/T */
  fsk_scenario_t scen[3];
  fsk_run_t run;
} fixture_t;

static char *slurp(const char *path) {
  FILE *f = fopen(path, "r");
  char *buf;
  long n;

  if (f == NULL)
    return NULL;
  fseek(f, 0, SEEK_END);
  n = ftell(f);
  rewind(f);
  buf = malloc((size_t)n + 1);
  if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
    free(buf);
    buf = NULL;
  }
  if (buf)
    buf[n] = '\0';
  fclose(f);
  return buf;
}

static size_t count_of(const char *hay, const char *needle) {
  size_t n = 0;

  for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
    n++;
  return n;
}

/* A run of three scenarios: flat, leaking (+1 fd every 5 cycles, with two
 * identified fds whose strings need escaping), and inconclusive (too
 * short: only warm-up). */
static int setup(void **state) {
  fixture_t *fx = calloc(1, sizeof *fx);
  int cls[FSK_FD_CLASS_COUNT] = {0};
  fsk_leak_t leaks[2];
  int i;

  assert_non_null(fx);
  snprintf(fx->root, sizeof fx->root, "/tmp/fsk_test_results.XXXXXX");
  assert_non_null(mkdtemp(fx->root));
  snprintf(fx->dir, sizeof fx->dir, "%s/runs/2026-11-28T00-00-00Z", fx->root);

  fsk_scenario_init(&fx->scen[0], "fatal", "api", WARMUP);
  fsk_scenario_init(&fx->scen[1], "retryable", "platform", WARMUP);
  fsk_scenario_init(&fx->scen[2], "exception", "api", WARMUP);
  for (i = 0; i < WARMUP + CYCLES; i++) {
    cls[FSK_FD_SOCKET] = 3;
    cls[FSK_FD_FILE] = 20 + (i >= WARMUP ? (i - WARMUP) / 5 : 0);
    assert_int_equal(fsk_scenario_push(&fx->scen[0], 23, NULL), 0);
    assert_int_equal(fsk_scenario_push(&fx->scen[1], cls[FSK_FD_SOCKET] + cls[FSK_FD_FILE], cls),
                     0);
  }
  for (i = 0; i < WARMUP; i++)
    assert_int_equal(fsk_scenario_push(&fx->scen[2], 23, NULL), 0);

  memset(leaks, 0, sizeof leaks);
  leaks[0].fd = 17;
  leaks[0].cls = FSK_FD_FILE;
  snprintf(leaks[0].target, sizeof leaks[0].target, "/tmp/r&d/responses.db-wal");
  leaks[0].opened_cycle = 10;
  snprintf(leaks[0].origin, sizeof leaks[0].origin,
           "scenario <retryable/platform>, \"store open\"");
  leaks[1].fd = 18;
  leaks[1].cls = FSK_FD_SOCKET;
  snprintf(leaks[1].target, sizeof leaks[1].target, "socket:[4242]");
  leaks[1].opened_cycle = 15;
  snprintf(leaks[1].origin, sizeof leaks[1].origin, "connect");
  assert_int_equal(fsk_scenario_set_leaked(&fx->scen[1], leaks, 2), 0);

  for (i = 0; i < 3; i++) {
    fsk_scenario_judge(&fx->scen[i], 1);
    fx->scen[i].seconds = 0.25 * (i + 1);
  }
  assert_int_equal(fx->scen[0].verdict, FSK_VERDICT_FLAT);
  assert_int_equal(fx->scen[1].verdict, FSK_VERDICT_LEAK);
  assert_int_equal(fx->scen[2].verdict, FSK_VERDICT_INCONCLUSIVE);

  fx->run.mode = "run";
  snprintf(fx->run.started_utc, sizeof fx->run.started_utc, "2026-11-28T00:00:00Z");
  fx->run.scen = fx->scen;
  fx->run.nscen = 3;
  fx->run.rlimit_nofile = 1024;
  fx->run.cycle_period_s = 300.0;
  fsk_run_finish(&fx->run);
  *state = fx;
  return 0;
}

static void rm_rf(const char *path) {
  struct stat st;
  DIR *d;
  struct dirent *e;
  char sub[PATH_MAX];

  if (lstat(path, &st) != 0)
    return;
  if (S_ISDIR(st.st_mode) && (d = opendir(path)) != NULL) {
    while ((e = readdir(d)) != NULL) {
      if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
        continue;
      snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
      rm_rf(sub);
    }
    closedir(d);
    rmdir(path);
  } else {
    unlink(path);
  }
}

static int teardown(void **state) {
  fixture_t *fx = *state;
  int i;

  rm_rf(fx->root);
  for (i = 0; i < 3; i++)
    fsk_scenario_free(&fx->scen[i]);
  fsk_scenario_free(&fx->scen[0]); /* twice: harmless */
  free(fx);
  return 0;
}

static void path_of(char *out, const fixture_t *fx, const char *name) {
  assert_true(snprintf(out, PATH_MAX, "%.512s/%.64s", fx->dir, name) < PATH_MAX);
}

static const cJSON *field(const cJSON *o, const char *name) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

  if (v == NULL)
    fail_msg("summary.json: no field \"%s\"", name);
  return v;
}

static void test_summary_json(void **state) {
  fixture_t *fx = *state;
  char file[PATH_MAX], *text;
  cJSON *root;
  const cJSON *p, *arr, *s, *l;

  assert_int_equal(fsk_results_write(fx->dir, &fx->run), 0);
  path_of(file, fx, "summary.json");
  text = slurp(file);
  assert_non_null(text);
  root = cJSON_Parse(text);
  assert_non_null(root);

  assert_string_equal(field(root, "tool")->valuestring, "fdsoak");
  assert_string_equal(field(root, "mode")->valuestring, "run");
  assert_string_equal(field(root, "started_utc")->valuestring, "2026-11-28T00:00:00Z");
  assert_string_equal(field(root, "verdict")->valuestring, "leak");
  assert_int_equal(field(root, "rlimit_nofile")->valueint, 1024);
  assert_true(field(root, "cycle_period_s")->valuedouble == 300.0);
  p = field(root, "projection");
  assert_true(cJSON_IsObject(p));
  /* +1 fd every 5 cycles, last count 23 + 39/5 = 30. */
  assert_true(fabs(field(p, "hours")->valuedouble -
                   (1024.0 - 30.0) / fx->scen[1].stats.slope * 300.0 / 3600.0) < 1e-6);
  assert_non_null(strstr(field(p, "text")->valuestring, "runs out of fds (limit 1024)"));

  arr = field(root, "scenarios");
  assert_int_equal(cJSON_GetArraySize(arr), 3);

  s = cJSON_GetArrayItem(arr, 0);
  assert_string_equal(field(s, "path")->valuestring, "fatal");
  assert_string_equal(field(s, "adapter")->valuestring, "api");
  assert_int_equal(field(s, "cycles")->valueint, CYCLES);
  assert_int_equal(field(s, "warmup")->valueint, WARMUP);
  assert_int_equal(field(s, "fd_first")->valueint, 23);
  assert_int_equal(field(s, "fd_last")->valueint, 23);
  assert_true(field(s, "slope_fds_per_cycle")->valuedouble == 0.0);
  assert_true(cJSON_IsNumber(field(s, "slope_lower_bound")));
  assert_true(field(s, "floor_rise")->valuedouble == 0.0);
  assert_true(field(s, "seconds")->valuedouble == 0.25);
  assert_string_equal(field(s, "verdict")->valuestring, "flat");
  assert_true(strlen(field(s, "why")->valuestring) > 10);
  assert_int_equal(cJSON_GetArraySize(field(s, "leaked")), 0);

  s = cJSON_GetArrayItem(arr, 1);
  assert_string_equal(field(s, "path")->valuestring, "retryable");
  assert_string_equal(field(s, "adapter")->valuestring, "platform");
  assert_int_equal(field(s, "fd_first")->valueint, 23);
  assert_int_equal(field(s, "fd_last")->valueint, 30);
  assert_true(fabs(field(s, "slope_fds_per_cycle")->valuedouble - 0.2) < 0.02);
  assert_string_equal(field(s, "verdict")->valuestring, "leak");
  l = field(s, "leaked");
  assert_int_equal(cJSON_GetArraySize(l), 2);
  l = cJSON_GetArrayItem(l, 0);
  assert_int_equal(field(l, "fd")->valueint, 17);
  assert_string_equal(field(l, "target")->valuestring, "/tmp/r&d/responses.db-wal");
  assert_string_equal(field(l, "class")->valuestring, fsk_fdclass_name(FSK_FD_FILE));
  assert_int_equal(field(l, "opened_cycle")->valueint, 10);
  assert_string_equal(field(l, "origin")->valuestring,
                      "scenario <retryable/platform>, \"store open\"");

  /* Never past warm-up: the first/last counts do not exist. */
  s = cJSON_GetArrayItem(arr, 2);
  assert_string_equal(field(s, "verdict")->valuestring, "inconclusive");
  assert_true(cJSON_IsNull(field(s, "fd_first")));
  assert_true(cJSON_IsNull(field(s, "fd_last")));
  assert_int_equal(field(s, "cycles")->valueint, 0);

  cJSON_Delete(root);
  free(text);

  /* Flat: projection is null. */
  fx->scen[1].verdict = FSK_VERDICT_FLAT;
  fx->scen[2].verdict = FSK_VERDICT_FLAT;
  fsk_run_finish(&fx->run);
  assert_int_equal(fsk_write_summary_json(file, &fx->run), 0);
  text = slurp(file);
  root = cJSON_Parse(text);
  assert_non_null(root);
  assert_string_equal(field(root, "verdict")->valuestring, "flat");
  assert_true(cJSON_IsNull(field(root, "projection")));
  cJSON_Delete(root);
  free(text);
}

static void test_series_csv(void **state) {
  fixture_t *fx = *state;
  char file[PATH_MAX], *text, *nl, header[512];
  int c, n;

  assert_int_equal(fsk_results_write(fx->dir, &fx->run), 0);
  path_of(file, fx, "series.csv");
  text = slurp(file);
  assert_non_null(text);
  n = snprintf(header, sizeof header, "cycle,path,adapter,fd_count");
  for (c = 0; c < FSK_FD_CLASS_COUNT; c++)
    n += snprintf(header + n, sizeof header - (size_t)n, ",%s", fsk_fdclass_name((fsk_fdclass_t)c));
  snprintf(header + n, sizeof header - (size_t)n, ",fd_floor");
  nl = strchr(text, '\n');
  assert_non_null(nl);
  *nl = '\0';
  assert_string_equal(text, header);
  *nl = '\n';
  /* One row per sample, plus the header. */
  assert_int_equal(count_of(text, "\n"), 1 + 2 * (WARMUP + CYCLES) + WARMUP);
  assert_non_null(strstr(text, "\n0,fatal,api,23,"));
  assert_non_null(strstr(text, "\n44,retryable,platform,30,27,3,"));
  free(text);
}

/* watch --speed: the run in the program's own time, in every file; and
 * nothing of it without --speed. */
static void test_virtual_time(void **state) {
  fixture_t *fx = *state;
  char file[PATH_MAX], *text;
  fsk_scenario_t sc;
  fsk_run_t run;
  double vt[60];
  const cJSON *v;
  cJSON *root;
  int i;

  assert_int_equal(fsk_results_write(fx->dir, &fx->run), 0);
  path_of(file, fx, "summary.json");
  text = slurp(file);
  root = cJSON_Parse(text);
  assert_true(cJSON_IsNull(field(root, "virtual_time")));
  cJSON_Delete(root);
  free(text);
  path_of(file, fx, "series.csv");
  text = slurp(file);
  assert_null(strstr(text, "virtual_s"));
  free(text);

  /* 60 attempts, one every 300 virtual s, 2 fds each after warm-up. */
  fsk_scenario_init(&sc, "watch", "python3", 6);
  sc.unit = "attempt";
  for (i = 0; i < 60; i++) {
    assert_int_equal(fsk_scenario_push_x(&sc, 20 + 2 * i, NULL, (double)i), 0);
    vt[i] = 10.0 + 300.0 * i;
  }
  /* The rule's verdict is not what this checks: give it. */
  sc.verdict = FSK_VERDICT_LEAK;
  sc.rate = 2.0;
  memset(&run, 0, sizeof run);
  run.mode = "watch";
  run.scen = &sc;
  run.nscen = 1;
  run.rlimit_nofile = 1024;
  run.vtime.speed = 1000;
  run.vtime.vt = vt;
  run.vtime.virtual_s = vt[59];
  run.vtime.per_vhour = 24.0;
  run.vtime.attempt_vs = 300.0;
  run.vtime.exhausted_vh = 27.4;
  run.vtime.exhausted_attempts = 331;
  run.vtime.exhausted_limit = 1024;
  snprintf(run.vtime.exhausted_text, sizeof run.vtime.exhausted_text,
           "ran out of its 1024 fds at virtual hour 27.4, after 331 attempts");
  run.cycle_period_s = run.vtime.attempt_vs;
  fsk_run_finish(&run);
  assert_non_null(strstr(run.projection_text, "24.0 per virtual hour"));
  assert_non_null(strstr(run.projection_text, "virtual hours"));
  assert_int_equal(fsk_results_write(fx->dir, &run), 0);

  path_of(file, fx, "summary.json");
  text = slurp(file);
  root = cJSON_Parse(text);
  v = field(root, "virtual_time");
  assert_true(cJSON_IsObject(v));
  assert_true(field(v, "speed")->valuedouble == 1000.0);
  assert_true(field(v, "fds_per_virtual_hour")->valuedouble == 24.0);
  assert_true(field(v, "virtual_s_per_attempt")->valuedouble == 300.0);
  assert_true(field(v, "exhausted_virtual_hour")->valuedouble == 27.4);
  assert_string_equal(field(v, "exhausted")->valuestring,
                      "ran out of its 1024 fds at virtual hour 27.4, after 331 attempts");
  assert_true(field(root, "cycle_period_s")->valuedouble == 300.0);
  cJSON_Delete(root);
  free(text);

  path_of(file, fx, "series.csv");
  text = slurp(file);
  assert_non_null(strstr(text, ",fd_floor"));
  assert_non_null(strstr(text, ",virtual_s\n"));
  assert_non_null(strstr(text, ",10.000\n"));
  assert_non_null(strstr(text, ",17710.000\n"));
  free(text);

  path_of(file, fx, "fd-soak.svg");
  text = slurp(file);
  assert_non_null(strstr(text, "virtual hours"));
  free(text);
  fsk_scenario_free(&sc);
}

static void test_junit(void **state) {
  fixture_t *fx = *state;
  char file[PATH_MAX], *text;

  assert_int_equal(fsk_results_write(fx->dir, &fx->run), 0);
  path_of(file, fx, "junit.xml");
  text = slurp(file);
  assert_non_null(text);
  assert_int_equal(count_of(text, "<testsuite name=\"fdsoak\""), 1);
  assert_int_equal(count_of(text, "<testcase "), 3);
  assert_non_null(strstr(text, "<testcase classname=\"fdsoak.api\" name=\"fatal\""));
  assert_non_null(strstr(text, "<testcase classname=\"fdsoak.platform\" name=\"retryable\""));
  assert_int_equal(count_of(text, "<failure "), 1);
  assert_int_equal(count_of(text, "<error "), 1);
  assert_non_null(strstr(text, "failures=\"1\" errors=\"1\""));
  /* The leaked fds and their origins, escaped. */
  assert_non_null(strstr(text, "/tmp/r&amp;d/responses.db-wal"));
  assert_non_null(strstr(text, "scenario &lt;retryable/platform&gt;, &quot;store open&quot;"));
  assert_non_null(strstr(text, "1 x socket socket, first seen at cycle 15")); /* grouped */
  assert_null(strstr(text, "r&d"));
  free(text);
}

static void test_svg(void **state) {
  fixture_t *fx = *state;
  char file[PATH_MAX], *text;
  fsk_scenario_t big;
  fsk_run_t run;
  int i;

  assert_int_equal(fsk_results_write(fx->dir, &fx->run), 0);
  path_of(file, fx, "fd-soak.svg");
  text = slurp(file);
  assert_non_null(text);
  assert_memory_equal(text, "<svg", 4);
  assert_int_equal(count_of(text, "<polyline "), 3);
  assert_non_null(strstr(text, "retryable/platform (leak, +0.197 fd/cycle)"));
  assert_non_null(strstr(text, "fatal/api (flat)"));
  assert_non_null(strstr(text, "stroke-dasharray=\"6 4\"")); /* end of warm-up */
  assert_non_null(strstr(text, "</svg>"));
  free(text);

  /* A million cycles: at most ~2000 points in the line. */
  fsk_scenario_init(&big, "fatal", "api", 50);
  for (i = 0; i < 1000000; i++)
    assert_int_equal(fsk_scenario_push(&big, 40 + (i % 7) + i / 100000, NULL), 0);
  big.verdict = FSK_VERDICT_LEAK;
  memset(&run, 0, sizeof run);
  run.scen = &big;
  run.nscen = 1;
  assert_int_equal(fsk_write_svg(file, &run), 0);
  text = slurp(file);
  assert_non_null(text);
  assert_true(count_of(text, ",") <= 2000 + 64);
  assert_true(strlen(text) < 100000);
  free(text);
  fsk_scenario_free(&big);
}

static void test_latest_and_no_tmp(void **state) {
  fixture_t *fx = *state;
  char link[PATH_MAX], target[PATH_MAX], other[PATH_MAX];
  struct dirent *e;
  ssize_t n;
  DIR *d;

  assert_int_equal(fsk_results_write(fx->dir, &fx->run), 0);
  assert_int_equal(fsk_results_link_latest(fx->root, fx->dir), 0);
  snprintf(link, sizeof link, "%s/latest", fx->root);
  n = readlink(link, target, sizeof target - 1);
  assert_true(n > 0);
  target[n] = '\0';
  /* Relative, because the run is under the root. */
  assert_string_equal(target, "runs/2026-11-28T00-00-00Z");
  snprintf(other, sizeof other, "%.300s/summary.json", link);
  assert_int_equal(access(other, R_OK), 0);

  /* Re-pointing replaces the link. */
  snprintf(other, sizeof other, "%s/runs/second", fx->root);
  assert_int_equal(fsk_results_write(other, &fx->run), 0);
  assert_int_equal(fsk_results_link_latest(fx->root, other), 0);
  n = readlink(link, target, sizeof target - 1);
  assert_true(n > 0);
  target[n] = '\0';
  assert_string_equal(target, "runs/second");

  /* No temporaries left behind, in the run or the root. */
  d = opendir(fx->dir);
  assert_non_null(d);
  while ((e = readdir(d)) != NULL)
    assert_null(strstr(e->d_name, ".tmp"));
  closedir(d);
  d = opendir(fx->root);
  assert_non_null(d);
  while ((e = readdir(d)) != NULL)
    assert_null(strstr(e->d_name, ".tmp"));
  closedir(d);
}

static void test_errors(void **state) {
  fixture_t *fx = *state;
  char file[PATH_MAX], bad[PATH_MAX];
  FILE *f;

  /* A regular file where a directory should be. */
  snprintf(file, sizeof file, "%s/plain", fx->root);
  f = fopen(file, "w");
  assert_non_null(f);
  fclose(f);
  snprintf(bad, sizeof bad, "%.300s/sub/run", file);
  assert_int_equal(fsk_results_write(bad, &fx->run), -ENOTDIR);
  assert_int_equal(fsk_results_write(file, &fx->run), -ENOTDIR);
  /* A missing parent, for the single writers that do not create it. */
  snprintf(bad, sizeof bad, "%s/missing/summary.json", fx->root);
  assert_int_equal(fsk_write_summary_json(bad, &fx->run), -ENOENT);
  assert_int_equal(fsk_write_series_csv(bad, &fx->run), -ENOENT);
  assert_int_equal(fsk_write_junit(bad, &fx->run), -ENOENT);
  assert_int_equal(fsk_write_svg(bad, &fx->run), -ENOENT);
  /* Unwritable even for root: /proc does not take new directories. */
  assert_true(fsk_results_write("/proc/fsk-test/run", &fx->run) < 0);
  /* Bad arguments. */
  assert_int_equal(fsk_results_write(NULL, &fx->run), -EINVAL);
  assert_int_equal(fsk_results_write("", &fx->run), -EINVAL);
  assert_int_equal(fsk_results_write(fx->dir, NULL), -EINVAL);
  assert_int_equal(fsk_write_summary_json(NULL, &fx->run), -EINVAL);
  assert_int_equal(fsk_results_link_latest(NULL, fx->dir), -EINVAL);
  snprintf(bad, sizeof bad, "%s/nope", fx->root);
  assert_int_equal(fsk_results_link_latest(fx->root, bad), -ENOENT);
  assert_int_equal(fsk_scenario_push(NULL, 1, NULL), -EINVAL);
  assert_int_equal(fsk_scenario_set_leaked(&fx->scen[0], NULL, 3), -EINVAL);
  fsk_scenario_init(NULL, "x", "y", 0);
  fsk_scenario_free(NULL);
  fsk_print_table(NULL, &fx->run);
  fsk_print_table(stdout, NULL);
}

static void test_table(void **state) {
  fixture_t *fx = *state;
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);

  assert_non_null(f);
  fsk_print_table(f, &fx->run);
  fclose(f);
  fputs(buf, stdout);
  assert_non_null(strstr(buf, "path"));
  assert_non_null(strstr(buf, "fd first"));
  assert_non_null(strstr(buf, "1 x file /tmp/r&d/responses.db-wal, first seen at cycle 10"));
  assert_non_null(strstr(buf, "verdict: leak"));
  /* Aligned: "adapter" and every adapter cell start in the same column. */
  {
    const char *h = strstr(buf, "adapter"), *row = strstr(buf, "\nretryable");
    size_t col = (size_t)(h - buf);

    assert_non_null(row);
    assert_memory_equal(row + 1 + col, "platform", 8);
  }
  free(buf);
}

/* series.csv: a row's class columns add up to its fd_count, and the
 * count the verdict judged (watch: the floor of the settle window, which
 * the classified snapshot may postdate) is a column of its own. */
static void test_series_csv_sum(void **state) {
  fixture_t *fx = *state;
  char file[PATH_MAX], *text, *row;
  int cls[FSK_FD_CLASS_COUNT] = {0};
  fsk_scenario_t s;
  fsk_run_t run;
  int i;

  (void)state;
  fsk_scenario_init(&s, "watch", "python3", 2);
  s.unit = "attempt";
  for (i = 0; i < 6; i++) {
    /* The floor was 8; the snapshot, taken later, saw 11 files and 3 pipes. */
    cls[FSK_FD_FILE] = 11;
    cls[FSK_FD_PIPE] = 3;
    assert_int_equal(fsk_scenario_push_x(&s, 8, cls, 4.0 * i), 0);
  }
  memset(&run, 0, sizeof run);
  run.mode = "watch";
  run.scen = &s;
  run.nscen = 1;
  snprintf(file, sizeof file, "%s/sum.csv", fx->root);
  assert_int_equal(fsk_write_series_csv(file, &run), 0);
  text = slurp(file);
  assert_non_null(text);
  assert_non_null(strstr(text, ",fd_floor,attempts\n"));
  row = strstr(text, "\n5,watch,python3,");
  assert_non_null(row);
  {
    int v[FSK_FD_CLASS_COUNT + 3], k, sum = 0;
    char *p = row + strlen("\n5,watch,python3,");

    for (k = 0; k < FSK_FD_CLASS_COUNT + 3; k++) {
      v[k] = (int)strtol(p, &p, 10);
      if (*p == ',')
        p++;
    }
    for (k = 1; k <= FSK_FD_CLASS_COUNT; k++)
      sum += v[k];
    assert_int_equal(v[0], sum);                        /* fd_count = the classes */
    assert_int_equal(v[0], 14);                         /* the table they describe */
    assert_int_equal(v[FSK_FD_CLASS_COUNT + 1], 8);     /* fd_floor: the judged count */
    assert_int_equal(v[FSK_FD_CLASS_COUNT + 2], 5 * 4); /* attempts */
  }
  free(text);
  fsk_scenario_free(&s);
}

/* The SVG's x axis is in the program's units: attempts for watch (77
 * samples over 342 attempts read 0..342, not 0..76 "cycle"), hours for a
 * long interval run; the warm-up line says where in those units. */
static void test_svg_axis(void **state) {
  fixture_t *fx = *state;
  char file[PATH_MAX], *text;
  fsk_scenario_t s;
  fsk_run_t run;
  int i;

  fsk_scenario_init(&s, "watch", "python3", 7);
  s.unit = "attempt";
  for (i = 0; i < 77; i++)
    assert_int_equal(fsk_scenario_push_x(&s, 20 + i / 3, NULL, 4.0 + i * 338.0 / 76.0), 0);
  s.verdict = FSK_VERDICT_LEAK;
  s.rate = 0.25;
  memset(&run, 0, sizeof run);
  run.mode = "watch";
  run.scen = &s;
  run.nscen = 1;
  run.verdict = FSK_VERDICT_LEAK;
  snprintf(file, sizeof file, "%s/axis.svg", fx->root);
  assert_int_equal(fsk_write_svg(file, &run), 0);
  text = slurp(file);
  assert_non_null(text);
  assert_non_null(strstr(text, ">attempts</text>"));
  assert_null(strstr(text, ">cycle</text>"));
  assert_non_null(strstr(text, "open fds against attempts"));
  assert_non_null(strstr(text, ">300</text>")); /* a tick past the 77 samples */
  assert_non_null(strstr(text, "end of warm-up (35 attempts)"));
  assert_non_null(strstr(text, "(leak, +0.25 fd/attempt)"));
  free(text);
  fsk_scenario_free(&s);

  /* Interval mode over three hours: hours, and the rate per hour. */
  fsk_scenario_init(&s, "watch", "pid-1", 5);
  s.unit = "hour";
  for (i = 0; i < 100; i++)
    assert_int_equal(fsk_scenario_push_x(&s, 30, NULL, i * 108.0), 0);
  s.verdict = FSK_VERDICT_FLAT;
  run.verdict = FSK_VERDICT_FLAT;
  assert_int_equal(fsk_write_svg(file, &run), 0);
  text = slurp(file);
  assert_non_null(text);
  assert_non_null(strstr(text, ">hours</text>"));
  assert_non_null(strstr(text, "end of warm-up (0.1 hours)"));
  free(text);
  fsk_scenario_free(&s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_series_csv_sum, setup, teardown),
    cmocka_unit_test_setup_teardown(test_svg_axis, setup, teardown),
    cmocka_unit_test_setup_teardown(test_summary_json, setup, teardown),
    cmocka_unit_test_setup_teardown(test_series_csv, setup, teardown),
    cmocka_unit_test_setup_teardown(test_junit, setup, teardown),
    cmocka_unit_test_setup_teardown(test_virtual_time, setup, teardown),
    cmocka_unit_test_setup_teardown(test_svg, setup, teardown),
    cmocka_unit_test_setup_teardown(test_latest_and_no_tmp, setup, teardown),
    cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
    cmocka_unit_test_setup_teardown(test_table, setup, teardown),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
