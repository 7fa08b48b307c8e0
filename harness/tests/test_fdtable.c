/* test_fdtable.c - counting and classifying a real fd table. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "fsk.h"

static fsk_fd_t fds[4096];

static const fsk_fd_t *find(size_t n, int fd) {
  size_t i;
  for (i = 0; i < n; i++)
    if (fds[i].fd == fd)
      return &fds[i];
  return NULL;
}

static void test_classifier_strings(void **state) {
  assert_int_equal(fsk_fdclass_of("socket:[123]"), FSK_FD_SOCKET);
  assert_int_equal(fsk_fdclass_of("pipe:[9]"), FSK_FD_PIPE);
  assert_int_equal(fsk_fdclass_of("anon_inode:[eventpoll]"), FSK_FD_EVENTPOLL);
  assert_int_equal(fsk_fdclass_of("anon_inode:[eventfd]"), FSK_FD_EVENTFD);
  assert_int_equal(fsk_fdclass_of("anon_inode:[timerfd]"), FSK_FD_TIMERFD);
  assert_int_equal(fsk_fdclass_of("anon_inode:inotify"), FSK_FD_INOTIFY);
  assert_int_equal(fsk_fdclass_of("anon_inode:[io_uring]"), FSK_FD_ANON);
  assert_int_equal(fsk_fdclass_of("/dev/null"), FSK_FD_DEVICE);
  assert_int_equal(fsk_fdclass_of("/tmp/x.db-wal"), FSK_FD_FILE);
  assert_int_equal(fsk_fdclass_of("/tmp/x.db (deleted)"), FSK_FD_FILE);
  assert_int_equal(fsk_fdclass_of("net:[4026531840]"), FSK_FD_OTHER);
  assert_string_equal(fsk_fdclass_name(FSK_FD_EVENTPOLL), "eventpoll");
  assert_string_equal(fsk_fdclass_name((fsk_fdclass_t)99), "other");
}

static void test_real_table(void **state) {
  char dir[] = "/tmp/fsk-fdtable-XXXXXX", db[64], cmd[96];
  int sv[2], p[2], efd, ep, before, after;
  size_t n, i, nwal = 0, nshm = 0, ndb = 0;
  sqlite3 *h = NULL;

  assert_non_null(mkdtemp(dir));
  before = fsk_fd_count(0);
  assert_true(before >= 3);
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  assert_int_equal(pipe(p), 0);
  efd = eventfd(0, 0);
  ep = epoll_create1(0);
  assert_true(efd >= 0 && ep >= 0);
  snprintf(db, sizeof(db), "%s/t.db", dir);
  assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
  assert_int_equal(sqlite3_exec(h, "PRAGMA journal_mode=WAL; CREATE TABLE t(x); SELECT * FROM t;",
                                NULL, NULL, NULL),
                   SQLITE_OK);
  after = fsk_fd_count(0);
  assert_int_equal(after, before + 9); /* 2 + 2 + 1 + 1 + db, -wal, -shm */

  assert_int_equal(fsk_fd_snapshot(0, fds, 4096, &n), 0);
  assert_int_equal((int)n, after); /* the snapshot omits its own dir fd */
  for (i = 1; i < n; i++)
    assert_true(fds[i - 1].fd < fds[i].fd); /* sorted */
  assert_int_equal(find(n, sv[0])->cls, FSK_FD_SOCKET);
  assert_int_equal(find(n, p[0])->cls, FSK_FD_PIPE);
  assert_int_equal(find(n, efd)->cls, FSK_FD_EVENTFD);
  assert_int_equal(find(n, ep)->cls, FSK_FD_EVENTPOLL);
  assert_true(find(n, sv[0])->ino != find(n, sv[1])->ino);
  for (i = 0; i < n; i++) {
    size_t len = strlen(fds[i].target);
    if (fds[i].cls != FSK_FD_FILE || strncmp(fds[i].target, dir, strlen(dir)) != 0)
      continue;
    nwal += len > 4 && strcmp(fds[i].target + len - 4, "-wal") == 0;
    nshm += len > 4 && strcmp(fds[i].target + len - 4, "-shm") == 0;
    ndb += len > 3 && strcmp(fds[i].target + len - 3, ".db") == 0;
  }
  assert_int_equal(ndb, 1);
  assert_int_equal(nwal, 1);
  assert_int_equal(nshm, 1);

  /* Too small a buffer: an error that says how many there are. */
  assert_int_equal(fsk_fd_snapshot(0, fds, 2, &n), -ENOBUFS);
  assert_int_equal((int)n, after);

  sqlite3_close(h);
  close(sv[0]);
  close(sv[1]);
  close(p[0]);
  close(p[1]);
  close(efd);
  close(ep);
  assert_int_equal(fsk_fd_count(0), before);
  snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
  assert_int_equal(system(cmd), 0);
}

static void test_other_process_and_missing(void **state) {
  assert_true(fsk_fd_count(getpid()) >= 3);
  assert_int_equal(fsk_fd_count(0), fsk_fd_count(getpid()));
  assert_true(fsk_fd_count(4194304 + 7) < 0); /* no such pid */
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_classifier_strings),
    cmocka_unit_test(test_real_table),
    cmocka_unit_test(test_other_process_and_missing),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
