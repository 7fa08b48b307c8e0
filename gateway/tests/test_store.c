/*
 * test_store.c - the response store: CRUD, the LRU bound, conversation
 * chaining, durability across a killed process, and
 * that close releases all three fds (db, -wal, -shm) and is idempotent.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <sqlite3.h>
#include <uv.h>

#include "store.h"

static char dir[256];
static char path[300];

/* Counted by reading the directory so the test does not depend on the
 * kernel's st_size shortcut. */
static int fd_count(void) {
  DIR *d = opendir("/proc/self/fd");
  struct dirent *e;
  int n = 0;

  assert_non_null(d);
  while ((e = readdir(d)) != NULL)
    if (e->d_name[0] != '.')
      n++;
  closedir(d);
  return n - 1; /* the DIR's own fd */
}

static int setup(void **state) {
  snprintf(dir, sizeof(dir), "/tmp/gw_test_store.XXXXXX");
  if (mkdtemp(dir) == NULL)
    return -1;
  snprintf(path, sizeof(path), "%s/responses.db", dir);
  return 0;
}

static int teardown(void **state) {
  char p[400];
  const char *sfx[] = {"", "-wal", "-shm", "-journal"};
  size_t i;

  for (i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
    snprintf(p, sizeof(p), "%s%s", path, sfx[i]);
    unlink(p);
  }
  rmdir(dir);
  return 0;
}

static void test_crud(void **state) {
  gw__store_t s;
  char *data = NULL;
  int n = -1;

  assert_int_equal(gw__store_open(&s, path, 0), 0);
  assert_true(gw__store_is_open(&s));
  assert_int_equal(gw__store_put(&s, "resp_1", "{\"a\":1}", NULL), 0);
  assert_int_equal(gw__store_get(&s, "resp_1", &data), 0);
  assert_string_equal(data, "{\"a\":1}");
  free(data);
  data = NULL;

  /* Replace keeps one row. */
  assert_int_equal(gw__store_put(&s, "resp_1", "{\"a\":2}", NULL), 0);
  assert_int_equal(gw__store_count(&s, &n), 0);
  assert_int_equal(n, 1);
  assert_int_equal(gw__store_get(&s, "resp_1", &data), 0);
  assert_string_equal(data, "{\"a\":2}");
  free(data);
  data = NULL;

  /* Text that would break SQL built by hand is stored verbatim. */
  assert_int_equal(gw__store_put(&s, "x'); DROP TABLE responses;--", "'\"", NULL), 0);
  assert_int_equal(gw__store_get(&s, "x'); DROP TABLE responses;--", &data), 0);
  assert_string_equal(data, "'\"");
  free(data);
  data = NULL;

  assert_int_equal(gw__store_get(&s, "resp_missing", &data), UV_ENOENT);
  assert_null(data);
  assert_int_equal(gw__store_delete(&s, "resp_1"), 0);
  assert_int_equal(gw__store_delete(&s, "resp_1"), UV_ENOENT);
  assert_int_equal(gw__store_get(&s, "resp_1", &data), UV_ENOENT);
  assert_int_equal(gw__store_put(&s, "", "{}", NULL), UV_EINVAL);
  assert_int_equal(gw__store_put(&s, "resp_2", NULL, NULL), UV_EINVAL);
  gw__store_close(&s);
}

static void test_lru_bound(void **state) {
  gw__store_t s;
  char id[32];
  char *data = NULL;
  int i;
  int n = 0;

  assert_int_equal(gw__store_open(&s, path, 5), 0);
  for (i = 1; i <= 5; i++) {
    snprintf(id, sizeof(id), "resp_%d", i);
    assert_int_equal(gw__store_put(&s, id, "{}", NULL), 0);
  }
  /* Reading resp_1 makes resp_2 the least recently accessed. */
  assert_int_equal(gw__store_get(&s, "resp_1", &data), 0);
  free(data);
  assert_int_equal(gw__store_put(&s, "resp_6", "{}", NULL), 0);
  assert_int_equal(gw__store_count(&s, &n), 0);
  assert_int_equal(n, 5);
  assert_int_equal(gw__store_get(&s, "resp_2", &data), UV_ENOENT);
  assert_int_equal(gw__store_get(&s, "resp_1", &data), 0);
  free(data);

  /* Many more: the bound holds and the newest survive. */
  for (i = 7; i <= 300; i++) {
    snprintf(id, sizeof(id), "resp_%d", i);
    assert_int_equal(gw__store_put(&s, id, "{}", NULL), 0);
  }
  assert_int_equal(gw__store_count(&s, &n), 0);
  assert_int_equal(n, 5);
  for (i = 296; i <= 300; i++) {
    snprintf(id, sizeof(id), "resp_%d", i);
    assert_int_equal(gw__store_get(&s, id, &data), 0);
    free(data);
  }
  gw__store_close(&s);

  /* The default bound is 100. */
  assert_int_equal(gw__store_open(&s, path, 0), 0);
  for (i = 0; i < 150; i++) {
    snprintf(id, sizeof(id), "resp_d%d", i);
    assert_int_equal(gw__store_put(&s, id, "{}", NULL), 0);
  }
  assert_int_equal(gw__store_count(&s, &n), 0);
  assert_int_equal(n, 100);
  gw__store_close(&s);
}

static void test_conversation(void **state) {
  gw__store_t s;
  char *id = NULL;

  assert_int_equal(gw__store_open(&s, path, 3), 0);
  assert_int_equal(gw__store_conversation(&s, "chat", &id), UV_ENOENT);
  assert_int_equal(gw__store_put(&s, "resp_a", "{}", "chat"), 0);
  assert_int_equal(gw__store_conversation(&s, "chat", &id), 0);
  assert_string_equal(id, "resp_a");
  free(id);
  id = NULL;
  assert_int_equal(gw__store_put(&s, "resp_b", "{}", "chat"), 0);
  assert_int_equal(gw__store_conversation(&s, "chat", &id), 0);
  assert_string_equal(id, "resp_b");
  free(id);
  id = NULL;

  /* Evicting the response a conversation points at forgets the
   * conversation instead of leaving it dangling. */
  assert_int_equal(gw__store_put(&s, "resp_c", "{}", "other"), 0);
  assert_int_equal(gw__store_put(&s, "resp_d", "{}", NULL), 0);
  assert_int_equal(gw__store_put(&s, "resp_e", "{}", NULL), 0);
  assert_int_equal(gw__store_conversation(&s, "chat", &id), UV_ENOENT);
  assert_int_equal(gw__store_conversation(&s, "other", &id), 0);
  assert_string_equal(id, "resp_c");
  free(id);
  id = NULL;
  assert_int_equal(gw__store_delete(&s, "resp_c"), 0);
  assert_int_equal(gw__store_conversation(&s, "other", &id), UV_ENOENT);
  gw__store_close(&s);
}

static void test_close_releases_three_fds(void **state) {
  gw__store_t s;
  int before = fd_count();
  int i;

  assert_int_equal(gw__store_open(&s, path, 0), 0);
  assert_int_equal(fd_count(), before + 3);
  assert_int_equal(gw__store_put(&s, "resp_1", "{}", NULL), 0);
  assert_int_equal(fd_count(), before + 3);
  gw__store_close(&s);
  assert_int_equal(fd_count(), before);
  assert_false(gw__store_is_open(&s));
  gw__store_close(&s); /* twice: harmless */
  gw__store_close(NULL);
  assert_int_equal(fd_count(), before);

  /* Reopening an existing WAL database: still exactly three, every time. */
  for (i = 0; i < 20; i++) {
    assert_int_equal(gw__store_open(&s, path, 0), 0);
    assert_int_equal(fd_count(), before + 3);
    gw__store_close(&s);
    assert_int_equal(fd_count(), before);
  }

  /* A closed store refuses work instead of crashing. */
  assert_int_equal(gw__store_put(&s, "resp_1", "{}", NULL), UV_EBADF);
  assert_int_equal(gw__store_get(&s, "resp_1", &(char *){NULL}), UV_EBADF);
  assert_int_equal(gw__store_delete(&s, "resp_1"), UV_EBADF);
}

/* A 200 is sent only after put returned 0: that row must survive the
 * process dying without any chance to close or checkpoint. */
static void test_survives_kill9(void **state) {
  gw__store_t s;
  char *data = NULL;
  pid_t pid;
  int status = 0;

  pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    if (gw__store_open(&s, path, 0) != 0 || gw__store_put(&s, "resp_k", "{\"k\":9}", "c") != 0)
      _exit(1);
    raise(SIGKILL);
    _exit(2);
  }
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFSIGNALED(status));
  assert_int_equal(WTERMSIG(status), SIGKILL);

  assert_int_equal(gw__store_open(&s, path, 0), 0);
  assert_int_equal(gw__store_get(&s, "resp_k", &data), 0);
  assert_string_equal(data, "{\"k\":9}");
  free(data);
  gw__store_close(&s);
}

static void test_open_failures_release_everything(void **state) {
  gw__store_t s;
  char p[400];
  FILE *f;
  int before = fd_count();

  /* The directory does not exist: CANTOPEN carrying the OS's ENOENT. */
  snprintf(p, sizeof(p), "%s/no/such/dir/responses.db", dir);
  assert_int_equal(gw__store_open(&s, p, 0), UV_ENOENT);
  assert_false(gw__store_is_open(&s));
  assert_true(strlen(gw__store_errmsg(&s)) > 0);
  assert_int_equal(fd_count(), before);

  /* Not a database: NOTADB, failed half-way after the db fd was open. */
  snprintf(p, sizeof(p), "%s/garbage.db", dir);
  f = fopen(p, "w");
  assert_non_null(f);
  for (int i = 0; i < 200; i++)
    fputs("this is not an sqlite database, not even close. ", f);
  fclose(f);
  assert_int_equal(gw__store_open(&s, p, 0), UV_EILSEQ);
  assert_non_null(strstr(gw__store_errmsg(&s), "not a database"));
  assert_int_equal(fd_count(), before);
  unlink(p);

  /* A directory where the file should be. */
  assert_int_equal(gw__store_open(&s, dir, 0) < 0, 1);
  assert_int_equal(fd_count(), before);

  assert_int_equal(gw__store_open(&s, "", 0), UV_EINVAL);
  assert_int_equal(gw__store_open(NULL, path, 0), UV_EINVAL);
  assert_int_equal(fd_count(), before);
}

/* Files removed or replaced under an open store: nothing is acknowledged
 * into them (the row would be gone at the next open). */
static void test_deleted_files_refuse_writes(void **state) {
  gw__store_t s;
  char wal[400], other[400];
  static const char *const sfx[] = {"", "-wal", "-shm"};
  size_t i;

  /* The database file unlinked (with its -wal and -shm, as `rm *.db*`). */
  assert_int_equal(gw__store_open(&s, path, 10), 0);
  assert_int_equal(gw__store_put(&s, "resp_a", "{}", NULL), 0);
  for (i = 0; i < 3; i++) {
    snprintf(wal, sizeof(wal), "%s%s", path, sfx[i]);
    unlink(wal);
  }
  assert_int_equal(gw__store_put(&s, "resp_b", "{}", NULL), GW_STORE_ESTALE);
  assert_non_null(strstr(gw__store_errmsg(&s), "removed or replaced"));
  assert_int_equal(gw__store_delete(&s, "resp_a"), GW_STORE_ESTALE);
  gw__store_close(&s);

  /* Only the -wal replaced by another file (the db itself untouched). */
  assert_int_equal(gw__store_open(&s, path, 10), 0);
  assert_int_equal(gw__store_put(&s, "resp_c", "{}", NULL), 0);
  snprintf(wal, sizeof(wal), "%s-wal", path);
  snprintf(other, sizeof(other), "%s/other", dir);
  FILE *f = fopen(other, "w");
  assert_non_null(f);
  fclose(f);
  assert_int_equal(rename(other, wal), 0);
  assert_int_equal(gw__store_put(&s, "resp_d", "{}", NULL), GW_STORE_ESTALE);
  gw__store_close(&s);
}

/* Another process (here: another connection) holds the write lock: the
 * store answers UV_EBUSY at once instead of sleeping in the loop. */
static void test_locked_store_does_not_wait(void **state) {
  gw__store_t s;
  sqlite3 *other;
  uv_timeval64_t t0, t1;
  char *data = NULL;
  long us;

  assert_int_equal(gw__store_open(&s, path, 10), 0);
  assert_int_equal(gw__store_put(&s, "resp_a", "{\"x\":1}", NULL), 0);
  assert_int_equal(sqlite3_open(path, &other), SQLITE_OK);
  assert_int_equal(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
  uv_gettimeofday(&t0);
  assert_int_equal(gw__store_put(&s, "resp_b", "{}", NULL), UV_EBUSY);
  uv_gettimeofday(&t1);
  us = (long)((t1.tv_sec - t0.tv_sec) * 1000000 + (t1.tv_usec - t0.tv_usec));
  assert_true(us < 20000);
  /* WAL readers are not blocked by a writer. */
  assert_int_equal(gw__store_get(&s, "resp_a", &data), 0);
  free(data);
  assert_int_equal(sqlite3_exec(other, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
  sqlite3_close(other);
  assert_int_equal(gw__store_put(&s, "resp_b", "{}", NULL), 0);
  gw__store_close(&s);
}

/* A reopened store whose stamps lie ahead of the wall clock (the clock
 * stepped back since they were written): the LRU clock is seeded past them,
 * so what is written now still counts as the most recent. */
static void test_lru_clock_seeded_on_reopen(void **state) {
  gw__store_t s;
  sqlite3 *db;
  char *data = NULL;
  int n = 0;

  assert_int_equal(gw__store_open(&s, path, 2), 0);
  assert_int_equal(gw__store_put(&s, "old_1", "{}", NULL), 0);
  assert_int_equal(gw__store_put(&s, "old_2", "{}", NULL), 0);
  gw__store_close(&s);
  /* A day ahead of now. */
  assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
  assert_int_equal(
    sqlite3_exec(db, "UPDATE responses SET accessed_at = accessed_at + 86400", NULL, NULL, NULL),
    SQLITE_OK);
  sqlite3_close(db);

  assert_int_equal(gw__store_open(&s, path, 2), 0);
  assert_int_equal(gw__store_put(&s, "new_1", "{}", NULL), 0);
  assert_int_equal(gw__store_count(&s, &n), 0);
  assert_int_equal(n, 2);
  /* Unseeded, new_1 would be the oldest and evicted at once. */
  assert_int_equal(gw__store_get(&s, "new_1", &data), 0);
  free(data);
  assert_int_equal(gw__store_get(&s, "old_1", &data), UV_ENOENT);
  gw__store_close(&s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_crud, setup, teardown),
    cmocka_unit_test_setup_teardown(test_lru_bound, setup, teardown),
    cmocka_unit_test_setup_teardown(test_lru_clock_seeded_on_reopen, setup, teardown),
    cmocka_unit_test_setup_teardown(test_conversation, setup, teardown),
    cmocka_unit_test_setup_teardown(test_close_releases_three_fds, setup, teardown),
    cmocka_unit_test_setup_teardown(test_survives_kill9, setup, teardown),
    cmocka_unit_test_setup_teardown(test_open_failures_release_everything, setup, teardown),
    cmocka_unit_test_setup_teardown(test_deleted_files_refuse_writes, setup, teardown),
    cmocka_unit_test_setup_teardown(test_locked_store_does_not_wait, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
