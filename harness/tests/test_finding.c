/* test_finding.c - the one renderer of a finding (finding.c): leaked fds
 * grouped by the place in the program's own code that opened them, their
 * stacks trimmed, and the text made safe for a terminal, markdown, JSON
 * and SARIF whatever bytes the target's names hold. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cJSON.h>
#include <cmocka.h>

#include "fsk.h"
#include "results_internal.h"

static size_t count_of(const char *hay, const char *needle) {
  size_t n = 0;

  for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
    n++;
  return n;
}

/* How many times c appears without a backslash before it. */
static size_t unescaped(const char *s, char c) {
  size_t n = 0;

  for (const char *p = s; *p; p++)
    n += *p == c && (p == s || p[-1] != '\\');
  return n;
}

static void leak(fsk_leak_t *l, int fd, fsk_fdclass_t cls, const char *target, long attempt,
                 int exact, const char *origin) {
  memset(l, 0, sizeof *l);
  l->fd = fd;
  l->pid = 4242;
  l->cls = cls;
  snprintf(l->target, sizeof l->target, "%s", target);
  l->opened_cycle = attempt;
  l->opened_exact = exact;
  snprintf(l->origin, sizeof l->origin, "%s", origin);
}

/* A Python program with two causes at three places, as the hooks report
 * them: its store (the database at one line, the -wal at another) and a
 * socket it never closes; the innermost frames are the standard library's
 * and the native frames are the interpreter's. */
#define STORE_DB                                                                                   \
  "process 4242 (python3); by Store.__init__ (/src/app/store.py:6) <- attempt "                    \
  "(/src/app/main.py:10) <- <module> (/src/app/main.py:30); opened by openat() at "                \
  "sqlite3OsOpen <- _PyEval_EvalFrameDefault (Python/ceval.c:5381)"
#define STORE_WAL                                                                                  \
  "process 4242 (python3); by Store.__init__ (/src/app/store.py:7) <- attempt "                    \
  "(/src/app/main.py:10) <- <module> (/src/app/main.py:30); opened by openat() at "                \
  "sqlite3OsOpen <- _PyEval_EvalFrameDefault (Python/ceval.c:5381)"
#define SOCKET                                                                                     \
  "process 4242 (python3); by socket.__init__ (/usr/lib/python3.11/socket.py:232) <- "             \
  "create_connection (/usr/lib/python3.11/socket.py:836) <- Client.dial (/src/app/net.py:41) "     \
  "<- attempt (/src/app/main.py:12) <- <module> (/src/app/main.py:30); opened by socket() at "     \
  "sock_initobj_impl (Modules/socketmodule.c:5233)"

static fsk_scenario_t *python_scenario(void) {
  static fsk_scenario_t s;
  fsk_leak_t l[12];
  int i, k = 0;
  char t[64];

  fsk_scenario_init(&s, "watch", "python3", 10);
  s.unit = "attempt";
  /* Every third attempt forgets its store (names differ by number only). */
  for (i = 0; i < 4; i++) {
    snprintf(t, sizeof t, "/tmp/w/store-%d.db", 3 * (i + 1));
    leak(&l[k++], 10 + i, FSK_FD_FILE, t, 3 * (i + 1), 1, STORE_DB);
  }
  for (i = 0; i < 3; i++) {
    snprintf(t, sizeof t, "/tmp/w/store-%d.db-wal", 3 * (i + 1));
    leak(&l[k++], 20 + i, FSK_FD_FILE, t, 3 * (i + 1), 1, STORE_WAL);
  }
  /* Sockets: one group whatever their inodes; one attempt only sampled. */
  for (i = 0; i < 5; i++) {
    snprintf(t, sizeof t, "socket:[%d]", 9000 + i);
    leak(&l[k++], 30 + i, FSK_FD_SOCKET, t, 5 + 7 * i, i != 2, SOCKET);
  }
  assert_int_equal(fsk_scenario_set_leaked(&s, l, (size_t)k), 0);
  s.verdict = FSK_VERDICT_LEAK;
  return &s;
}

static void test_frames(void **state) {
  fsk_frame_t fr[16];
  size_t n;

  (void)state;
  fsk_origin_frames(SOCKET, fr, 16, &n);
  assert_int_equal(n, 6);
  assert_string_equal(fr[0].fn, "socket.__init__");
  assert_string_equal(fr[0].file, "/usr/lib/python3.11/socket.py");
  assert_int_equal(fr[0].line, 232);
  assert_true(fr[0].lang);
  assert_false(fr[0].user); /* the standard library */
  assert_string_equal(fr[2].fn, "Client.dial");
  assert_true(fr[2].user);
  /* The interpreter's own frame: native, wherever it was built. */
  fsk_origin_frames("process 1 (python3); by f (/src/a.py:3); opened by open() at "
                    "pysqlite_connection_init (/tmp/python-build/Modules/_sqlite/connection.c:203)",
                    fr, 16, &n);
  assert_int_equal(n, 2);
  assert_true(fr[0].user);
  assert_false(fr[1].user);
  fsk_origin_frames(SOCKET, fr, 16, &n);
  assert_string_equal(fr[5].fn, "sock_initobj_impl");
  assert_false(fr[5].lang);
  assert_false(fr[5].user);

  /* A C program: its own absolute sources are its code, libc is not. */
  fsk_origin_frames("process 7 (leaky); opened by open() at open64 <- leak_store "
                    "(/src/leaky.c:12) <- main (/src/leaky.c:30) <- libc.so.6+0x271ca",
                    fr, 16, &n);
  assert_int_equal(n, 4);
  assert_false(fr[0].user);
  assert_string_equal(fr[1].fn, "leak_store");
  assert_true(fr[1].user);
  assert_string_equal(fr[3].fn, "libc.so.6+0x271ca");
  /* Bounded, and no frames at all is no crash. */
  fsk_origin_frames(SOCKET, fr, 2, &n);
  assert_int_equal(n, 2);
  fsk_origin_frames("", fr, 16, &n);
  assert_int_equal(n, 0);
  fsk_origin_frames(NULL, fr, 16, &n);
  assert_int_equal(n, 0);
}

/* Two causes, three places: three groups, largest first, each at the
 * first frame of the program's own code, with its attempts. */
static void test_groups(void **state) {
  fsk_scenario_t *s = python_scenario();
  fsk_group_t *g;
  size_t n;

  (void)state;
  assert_int_equal(fsk_group_leaks(s, &g, &n), 0);
  assert_int_equal(n, 3);
  assert_int_equal(g[0].count, 5);
  assert_int_equal(g[0].cls, FSK_FD_SOCKET);
  assert_string_equal(g[0].target, "socket");
  assert_string_equal(g[0].where.fn, "Client.dial"); /* not socket.py */
  assert_int_equal(g[0].where.line, 41);
  assert_int_equal(g[0].first, 5);
  assert_int_equal(g[0].last, 33);
  assert_false(g[0].exact); /* one of them was only sampled */
  assert_int_equal(g[1].count, 4);
  assert_string_equal(g[1].target, "/tmp/w/store-*.db");
  assert_string_equal(g[1].where.file, "/src/app/store.py");
  assert_int_equal(g[1].where.line, 6);
  assert_int_equal(g[1].first, 3);
  assert_int_equal(g[1].last, 12);
  assert_true(g[1].exact);
  assert_int_equal(g[2].count, 3);
  assert_string_equal(g[2].target, "/tmp/w/store-*.db-wal");
  assert_int_equal(g[2].where.line, 7);
  free(g);
  fsk_scenario_free(s);

  /* No leaks, no groups. */
  {
    fsk_scenario_t e;

    fsk_scenario_init(&e, "x", "y", 0);
    assert_int_equal(fsk_group_leaks(&e, &g, &n), 0);
    assert_int_equal(n, 0);
    assert_null(g);
  }
}

static char *render(void (*fn)(FILE *, const fsk_scenario_t *, size_t), const fsk_scenario_t *s,
                    size_t max) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);

  assert_non_null(f);
  fn(f, s, max);
  fclose(f);
  fputs(buf, stdout);
  return buf;
}

static void test_terminal(void **state) {
  fsk_scenario_t *s = python_scenario();
  char *out;

  (void)state;
  out = render(fsk_findings_print, s, 8);
  assert_non_null(strstr(out, "12 leaked fds from 3 places:"));
  assert_non_null(strstr(out, "1) 5 x socket socket, first seen at attempts 5 to 33 (sampled"));
  assert_non_null(strstr(out, "at Client.dial (/src/app/net.py:41)"));
  assert_non_null(
    strstr(out, "2) 4 x file /tmp/w/store-*.db, opened in attempts 3 to 12, at Store.__init__ "
                "(/src/app/store.py:6)"));
  /* The full stack once per group: the program's frames; the runtime's
   * counted, not printed. */
  assert_int_equal(count_of(out, "#0 "), 3);
  assert_non_null(strstr(out, "#1 attempt (/src/app/main.py:12)"));
  assert_null(strstr(out, "socket.py"));
  assert_null(strstr(out, "ceval.c"));
  assert_non_null(strstr(out, "frames of the runtime"));
  free(out);
  /* At most max groups, and says how many more. */
  out = render(fsk_findings_print, s, 1);
  assert_int_equal(count_of(out, ") "), 1);
  assert_non_null(strstr(out, "and 2 more groups"));
  free(out);
  fsk_scenario_free(s);
}

/* A name that tries to be a terminal escape, markup or bad UTF-8. */
static void test_hostile_names(void **state) {
  fsk_scenario_t s;
  fsk_leak_t l;
  char *out, clean[64];

  (void)state;
  fsk_scenario_init(&s, "watch", "evil\x1b]0;owned\x07", 0);
  s.unit = "attempt";
  leak(&l, 9, FSK_FD_FILE, "/tmp/\x1b[2J\xff<img src=x onerror=alert(1)>|`x`\n## fdsoak: flat", 4,
       1, "process 1 (p); by f (/src/[a](http://evil).py:3)");
  assert_int_equal(fsk_scenario_set_leaked(&s, &l, 1), 0);
  s.verdict = FSK_VERDICT_LEAK;

  out = render(fsk_findings_print, &s, 8);
  assert_null(strchr(out, '\x1b'));
  assert_null(strchr(out, '\xff'));
  assert_non_null(strstr(out, "\\x1b[2J\\xff<img"));
  free(out);

  out = render(fsk_findings_markdown, &s, 8);
  assert_null(strstr(out, "<img"));
  assert_non_null(strstr(out, "&lt;img"));
  assert_null(strstr(out, "\n## "));
  assert_int_equal(unescaped(out, '['), 0); /* no link can start */
  assert_int_equal(unescaped(out, ']'), 0);
  assert_int_equal(unescaped(out, '`'), 0);
  assert_null(strchr(out, '|'));
  assert_null(strchr(out, '\x1b'));
  free(out);

  /* UTF-8: stray bytes become U+FFFD, valid text (a folder named café)
   * stays, and a cut never splits a character. */
  fsk__utf8_clean("caf\xc3\xa9-\xff-\xed\xa0\x80", clean, sizeof clean);
  assert_string_equal(clean, "caf\xc3\xa9-\xef\xbf\xbd-\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
  fsk__utf8_clean("caf\xc3\xa9", clean, 5);
  assert_string_equal(clean, "caf");
  fsk_scenario_free(&s);
}

/* SARIF: a result per group, at the place relative to the checkout, the
 * group line as the message, the whole stack as its code flow. */
static void test_sarif(void **state) {
  fsk_scenario_t *s = python_scenario();
  fsk_run_t run;
  char dir[] = "/tmp/fsk_test_finding.XXXXXX", file[64], *text;
  cJSON *d, *res, *r0, *loc;
  FILE *f;
  long len;

  (void)state;
  assert_non_null(mkdtemp(dir));
  snprintf(file, sizeof file, "%s/f.sarif", dir);
  memset(&run, 0, sizeof run);
  run.mode = "watch";
  run.scen = s;
  run.nscen = 1;
  run.verdict = FSK_VERDICT_LEAK;
  assert_int_equal(fsk_write_sarif(file, &run, "/src/app/"), 0);
  f = fopen(file, "r");
  assert_non_null(f);
  fseek(f, 0, SEEK_END);
  len = ftell(f);
  rewind(f);
  text = calloc(1, (size_t)len + 1);
  assert_int_equal(fread(text, 1, (size_t)len, f), (size_t)len);
  fclose(f);
  d = cJSON_Parse(text);
  assert_non_null(d);
  assert_string_equal(cJSON_GetObjectItem(d, "version")->valuestring, "2.1.0");
  res = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(d, "runs"), 0), "results");
  assert_int_equal(cJSON_GetArraySize(res), 3);
  r0 = cJSON_GetArrayItem(res, 0);
  assert_non_null(
    strstr(cJSON_GetObjectItem(cJSON_GetObjectItem(r0, "message"), "text")->valuestring,
           "5 x socket socket"));
  loc = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(r0, "locations"), 0),
                            "physicalLocation");
  assert_string_equal(
    cJSON_GetObjectItem(cJSON_GetObjectItem(loc, "artifactLocation"), "uri")->valuestring,
    "net.py");
  assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(loc, "region"), "startLine")->valueint,
                   41);
  /* The stack, outermost first: <module>, attempt, Client.dial, then the
   * library and the interpreter. */
  assert_int_equal(
    cJSON_GetArraySize(cJSON_GetObjectItem(
      cJSON_GetArrayItem(
        cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(r0, "codeFlows"), 0),
                            "threadFlows"),
        0),
      "locations")),
    6);
  cJSON_Delete(d);
  free(text);
  /* Outside the checkout: an absolute file URI. */
  assert_int_equal(fsk_write_sarif(file, &run, "/elsewhere"), 0);
  f = fopen(file, "r");
  text = calloc(1, 1 << 20);
  assert_true(fread(text, 1, (1 << 20) - 1, f) > 0);
  fclose(f);
  assert_non_null(strstr(text, "\"file:///src/app/net.py\""));
  free(text);
  unlink(file);
  rmdir(dir);
  fsk_scenario_free(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_frames),   cmocka_unit_test(test_groups),
    cmocka_unit_test(test_terminal), cmocka_unit_test(test_hostile_names),
    cmocka_unit_test(test_sarif),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
