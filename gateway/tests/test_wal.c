/*
 * test_wal.c - the one SQLite opener and the one errno map (infra/wal.c):
 * a granted open holds exactly db, -wal and -shm; every failed open leaves
 * no fd behind and names its step; WAL refused is an error, not a quiet
 * change of the fd footprint; the OS's reason survives the translation.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sqlite3.h>
#include <uv.h>

#include "internal.h"
#include "wal.h"

static char dir[256];
static char path[300];

static int setup(void **state) {
  (void)state;
  snprintf(dir, sizeof(dir), "/tmp/gw-test-wal-XXXXXX");
  if (mkdtemp(dir) == NULL)
    return -1;
  snprintf(path, sizeof(path), "%s/w.db", dir);
  return 0;
}

static int teardown(void **state) {
  char p[340];
  static const char *const suffix[] = {"", "-wal", "-shm", "-journal"};
  size_t i;

  (void)state;
  for (i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
    snprintf(p, sizeof(p), "%s%s", path, suffix[i]);
    unlink(p);
  }
  rmdir(dir);
  return 0;
}

static int exists(const char *suffix) {
  char p[340];
  struct stat sb;

  snprintf(p, sizeof(p), "%s%s", path, suffix);
  return stat(p, &sb) == 0;
}

static void test_open_holds_db_wal_shm(void **state) {
  sqlite3 *db = NULL;
  char err[GW_MSG_MAX] = "";
  int before = gw_fd_count();

  (void)state;
  assert_int_equal(gw__wal_open(path, "CREATE TABLE t(x);", 0, &db, err, sizeof(err)), 0);
  assert_non_null(db);
  /* The footprint the soaks count: three fds, and the files are WAL's. */
  assert_int_equal(gw_fd_count() - before, 3);
  assert_true(exists("-wal"));
  assert_true(exists("-shm"));
  assert_int_equal(sqlite3_exec(db, "INSERT INTO t VALUES(1)", NULL, NULL, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_close(db), SQLITE_OK);
  assert_int_equal(gw_fd_count(), before);
}

static void test_failed_opens_leave_nothing(void **state) {
  sqlite3 *db = (sqlite3 *)&db; /* must come back NULL */
  char err[GW_MSG_MAX] = "";
  char missing[340];
  int before = gw_fd_count();

  (void)state;
  /* A schema error after the files were opened: every fd goes again. */
  assert_int_equal(gw__wal_open(path, "CREATE TABLE (;", 0, &db, err, sizeof(err)), UV_EIO);
  assert_null(db);
  assert_non_null(strstr(err, "schema: "));
  assert_int_equal(gw_fd_count(), before);

  /* The OS's reason is the answer: a missing directory is ENOENT. */
  snprintf(missing, sizeof(missing), "%s/no/such/dir.db", dir);
  assert_int_equal(gw__wal_open(missing, NULL, 0, &db, err, sizeof(err)), UV_ENOENT);
  assert_null(db);
  assert_non_null(strstr(err, "open: "));
  assert_int_equal(gw_fd_count(), before);

  assert_int_equal(gw__wal_open("", NULL, 0, &db, err, sizeof(err)), UV_EINVAL);
  assert_null(db);
}

static void test_fd_exhaustion_is_emfile(void **state) {
  struct rlimit old;
  struct rlimit low;
  sqlite3 *db = NULL;
  char err[GW_MSG_MAX] = "";
  int fill[64];
  int nfill = 0;
  int rc;

  (void)state;
  assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
  /* A table with no free slot left: a low limit, every slot below it
   * filled (gaps included), so the db file itself is refused. */
  low = old;
  low.rlim_cur = (rlim_t)gw_fd_count() + 8;
  assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
  while (nfill < (int)(sizeof(fill) / sizeof(fill[0])) && (fill[nfill] = dup(2)) >= 0)
    nfill++;
  rc = gw__wal_open(path, NULL, 0, &db, err, sizeof(err));
  while (nfill > 0)
    close(fill[--nfill]);
  assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
  assert_int_equal(rc, UV_EMFILE);
  assert_null(db);
  assert_non_null(strstr(err, "Too many open files"));
}

static void test_wal_refused_is_an_error(void **state) {
  sqlite3 *db = (sqlite3 *)&db;
  char err[GW_MSG_MAX] = "";

  (void)state;
  /* An in-memory database answers journal_mode=WAL with "memory": the
   * same answer a file system without shared memory gives ("delete"). */
  assert_int_equal(gw__wal_open(":memory:", NULL, 0, &db, err, sizeof(err)), UV_ENOTSUP);
  assert_null(db);
  assert_non_null(strstr(err, "WAL refused (got memory)"));
}

static void test_fail_message_names_step(void **state) {
  char err[GW_MSG_MAX] = "";

  (void)state;
  assert_int_equal(gw__sqlite_fail(NULL, SQLITE_BUSY, "put", err, sizeof(err)), UV_EBUSY);
  assert_non_null(strstr(err, "put: "));
  /* A code that maps to "no error" still reports a failure. */
  assert_int_equal(gw__sqlite_fail(NULL, SQLITE_OK, "put", NULL, 0), UV_EIO);
}

static void test_error_translation(void **state) {
  assert_int_equal(gw__sqlite_errno(SQLITE_OK, 0), 0);
  assert_int_equal(gw__sqlite_errno(SQLITE_DONE, 0), 0);
  assert_int_equal(gw__sqlite_errno(SQLITE_BUSY, 0), UV_EBUSY);
  assert_int_equal(gw__sqlite_errno(SQLITE_LOCKED, 0), UV_EBUSY);
  assert_int_equal(gw__sqlite_errno(SQLITE_NOMEM, 0), UV_ENOMEM);
  assert_int_equal(gw__sqlite_errno(SQLITE_FULL, 0), UV_ENOSPC);
  assert_int_equal(gw__sqlite_errno(SQLITE_READONLY, 0), UV_EROFS);
  assert_int_equal(gw__sqlite_errno(SQLITE_CONSTRAINT, 0), UV_EEXIST);
  assert_int_equal(gw__sqlite_errno(SQLITE_NOTADB, 0), UV_EILSEQ);
  assert_int_equal(gw__sqlite_errno(SQLITE_CORRUPT, 0), UV_EILSEQ);
  assert_int_equal(gw__sqlite_errno(SQLITE_PERM, 0), UV_EACCES);
  assert_int_equal(gw__sqlite_errno(SQLITE_MISUSE, 0), UV_EINVAL);
  assert_int_equal(gw__sqlite_errno(SQLITE_ERROR, 0), UV_EIO);
  /* The OS reason wins for I/O and open failures: fd exhaustion must reach
   * the watcher as EMFILE, not as a generic I/O error. */
  assert_int_equal(gw__sqlite_errno(SQLITE_CANTOPEN, EMFILE), UV_EMFILE);
  assert_int_equal(gw__sqlite_errno(SQLITE_IOERR_WRITE, ENOSPC), UV_ENOSPC);
  assert_int_equal(gw__sqlite_errno(SQLITE_IOERR, 0), UV_EIO);
  assert_int_equal(gw__sqlite_errno(SQLITE_CANTOPEN, 0), UV_ENOENT);
  /* Extended codes reduce to their primary. */
  assert_int_equal(gw__sqlite_errno(SQLITE_BUSY_SNAPSHOT, 0), UV_EBUSY);
  assert_int_equal(gw__sqlite_errno(SQLITE_CONSTRAINT_PRIMARYKEY, 0), UV_EEXIST);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_open_holds_db_wal_shm, setup, teardown),
    cmocka_unit_test_setup_teardown(test_failed_opens_leave_nothing, setup, teardown),
    cmocka_unit_test_setup_teardown(test_fd_exhaustion_is_emfile, setup, teardown),
    cmocka_unit_test_setup_teardown(test_wal_refused_is_an_error, setup, teardown),
    cmocka_unit_test(test_fail_message_names_step),
    cmocka_unit_test(test_error_translation),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
