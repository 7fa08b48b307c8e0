/*
 * wal.c - the one SQLite opener (WAL mode) and the one errno map.  See wal.h.
 */
#include "wal.h"

#include <stdio.h>
#include <string.h>

#include <uv.h>

int gw__sqlite_errno(int rc, int sys_errno) {
  switch (rc & 0xff) {
  case SQLITE_OK:
  case SQLITE_ROW:
  case SQLITE_DONE:
    return 0;
  case SQLITE_IOERR:
  case SQLITE_CANTOPEN:
    /* The OS said why (EMFILE, ENOENT, EACCES...): that is the useful part,
     * and what lets the watcher see e.g. fd exhaustion as such. */
    if (sys_errno > 0)
      return -sys_errno;
    return (rc & 0xff) == SQLITE_CANTOPEN ? UV_ENOENT : UV_EIO;
  case SQLITE_NOMEM:
    return UV_ENOMEM;
  case SQLITE_BUSY:
  case SQLITE_LOCKED:
    return UV_EBUSY;
  case SQLITE_READONLY:
    return UV_EROFS;
  case SQLITE_PERM:
  case SQLITE_AUTH:
    return UV_EACCES;
  case SQLITE_FULL:
    return UV_ENOSPC;
  case SQLITE_TOOBIG:
    return UV_E2BIG;
  case SQLITE_CONSTRAINT:
    return UV_EEXIST;
  case SQLITE_MISUSE:
  case SQLITE_RANGE:
  case SQLITE_MISMATCH:
    return UV_EINVAL;
  case SQLITE_NOTADB:
  case SQLITE_CORRUPT:
  case SQLITE_FORMAT:
    return UV_EILSEQ;
  case SQLITE_INTERRUPT:
  case SQLITE_ABORT:
    return UV_ECANCELED;
  case SQLITE_PROTOCOL:
    return UV_EPROTO;
  case SQLITE_NOLFS:
    return UV_EFBIG;
  default:
    return UV_EIO;
  }
}

int gw__sqlite_fail(sqlite3 *db, int rc, const char *what, char *err, size_t errlen) {
  int sys = 0;
  const char *msg = sqlite3_errstr(rc);

  if (db != NULL) {
    rc = sqlite3_extended_errcode(db);
    sys = sqlite3_system_errno(db);
    msg = sqlite3_errmsg(db);
  }
  if (err != NULL && errlen > 0)
    snprintf(err, errlen, "%s: %s (sqlite %d%s%s)", what, msg, rc, sys > 0 ? ", " : "",
             sys > 0 ? strerror(sys) : "");
  rc = gw__sqlite_errno(rc, sys);
  return rc != 0 ? rc : UV_EIO;
}

/* SQLite answers PRAGMA journal_mode with the mode it ended up in; a file
 * system without shared memory support stays in "delete" and would silently
 * change the store's fd footprint, so refuse it. */
static int wal_mode(sqlite3 *db, char *err, size_t errlen) {
  sqlite3_stmt *st = NULL;
  const unsigned char *mode;
  int rc;
  int e = 0;

  rc = sqlite3_prepare_v2(db, "PRAGMA journal_mode=WAL", -1, &st, NULL);
  if (rc == SQLITE_OK)
    rc = sqlite3_step(st);
  if (rc != SQLITE_ROW) {
    e = gw__sqlite_fail(db, rc, "journal_mode", err, errlen);
  } else {
    mode = sqlite3_column_text(st, 0);
    if (mode == NULL || strcmp((const char *)mode, "wal") != 0) {
      if (err != NULL && errlen > 0)
        snprintf(err, errlen, "journal_mode: WAL refused (got %s)",
                 mode != NULL ? (const char *)mode : "nothing");
      e = UV_ENOTSUP;
    }
  }
  sqlite3_finalize(st);
  return e;
}

int gw__wal_open(const char *path, const char *schema, int busy_ms, sqlite3 **db, char *err,
                 size_t errlen) {
  sqlite3 *h = NULL;
  int rc;
  int e;

  *db = NULL;
  if (path == NULL || path[0] == '\0') {
    if (err != NULL && errlen > 0)
      snprintf(err, errlen, "open: the path is empty");
    return UV_EINVAL;
  }
  /* NOMUTEX: one loop thread owns the connection.  sqlite3_open_v2 hands
   * back a handle even on failure, which must be closed all the same. */
  rc = sqlite3_open_v2(path, &h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                       NULL);
  if (rc != SQLITE_OK) {
    e = gw__sqlite_fail(h, rc, "open", err, errlen);
    goto fail;
  }
  sqlite3_extended_result_codes(h, 1);
  sqlite3_busy_timeout(h, busy_ms);
  e = wal_mode(h, err, errlen);
  if (e != 0)
    goto fail;
  /* In WAL mode a commit has reached the kernel (the -wal's page cache)
   * when COMMIT returns, so a killed process loses nothing; only a power
   * cut can lose the last commits, and NORMAL spares an fsync per commit
   * (infra/store.c says why that is the durability a store needs). */
  rc = sqlite3_exec(h, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL);
  if (rc != SQLITE_OK) {
    e = gw__sqlite_fail(h, rc, "synchronous", err, errlen);
    goto fail;
  }
  if (schema != NULL) {
    rc = sqlite3_exec(h, schema, NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
      e = gw__sqlite_fail(h, rc, "schema", err, errlen);
      goto fail;
    }
  }
  *db = h;
  return 0;

fail:
  /* Nothing is prepared yet, so close cannot be BUSY; close_v2 anyway so
   * no fd can outlive a failed open. */
  sqlite3_close_v2(h);
  return e;
}
