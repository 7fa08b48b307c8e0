/*
 * store.c - the response store: SQLite in WAL mode, LRU-bounded.
 *
 * See store.h for the contract.  Two decisions worth their reasons:
 *
 * Durability.  A response is acknowledged with 200 only after its
 * transaction committed, and it must survive the gateway being killed
 * (kill -9, OOM killer, a crash).  In WAL mode a commit appends the pages to
 * the -wal file with write(2) before COMMIT returns, so once it returns the
 * data is in the kernel's page cache and a dead process cannot lose it: the
 * next open replays the WAL.  synchronous=FULL would add an fsync of the WAL
 * on every commit, which only matters if the *machine* goes down (power loss,
 * kernel panic) -- and costs a disk flush per request.  synchronous=NORMAL
 * in WAL mode still never corrupts the database, still fsyncs at each
 * checkpoint, and can lose only the last commits on power loss.  The
 * requirement is process death, so NORMAL it is; test_store forks a child
 * that commits and dies by SIGKILL to prove the point.
 *
 * LRU order.  accessed_at is REAL seconds, but two requests in the same
 * microsecond would tie and make eviction arbitrary; the store keeps the
 * stamps strictly increasing (seeded from the table on first use, not at
 * open: store_seed), so "the N most recently accessed" is always well
 * defined.
 */
#include "store.h"
#include "wal.h"

#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include <uv.h>

static const char *const stmt_sql[GW_STORE_NSTMT] = {
  [GW_STORE_PUT] = "INSERT OR REPLACE INTO responses(response_id, data, accessed_at) "
                   "VALUES (?1, ?2, ?3)",
  [GW_STORE_GET] = "SELECT data FROM responses WHERE response_id = ?1",
  [GW_STORE_TOUCH] = "UPDATE responses SET accessed_at = ?2 WHERE response_id = ?1",
  [GW_STORE_DELETE] = "DELETE FROM responses WHERE response_id = ?1",
  /* Keep the ?1 most recent; conversations must not point at evicted rows,
   * else their table grows without bound and chains dangle. */
  [GW_STORE_TRIM] = "DELETE FROM responses WHERE response_id IN "
                    "(SELECT response_id FROM responses ORDER BY accessed_at DESC "
                    "LIMIT -1 OFFSET ?1)",
  [GW_STORE_CONV_PUT] = "INSERT OR REPLACE INTO conversations(name, response_id) "
                        "VALUES (?1, ?2)",
  [GW_STORE_CONV_GET] = "SELECT response_id FROM conversations WHERE name = ?1",
  [GW_STORE_COUNT] = "SELECT count(*) FROM responses",
  [GW_STORE_BEGIN] = "BEGIN IMMEDIATE",
  [GW_STORE_COMMIT] = "COMMIT",
  [GW_STORE_ROLLBACK] = "ROLLBACK",
  [GW_STORE_MAX_STAMP] = "SELECT max(accessed_at) FROM responses",
};

static const char schema_sql[] =
  "CREATE TABLE IF NOT EXISTS responses ("
  "  response_id TEXT PRIMARY KEY,"
  "  data TEXT NOT NULL,"
  "  accessed_at REAL NOT NULL);"
  "CREATE INDEX IF NOT EXISTS responses_accessed_at ON responses(accessed_at);"
  "CREATE TABLE IF NOT EXISTS conversations ("
  "  name TEXT PRIMARY KEY,"
  "  response_id TEXT NOT NULL);"
  /* Dangling conversation rows go with the response they point at. */
  "CREATE TRIGGER IF NOT EXISTS responses_forget_conversations "
  "  AFTER DELETE ON responses BEGIN "
  "  DELETE FROM conversations WHERE response_id = old.response_id; END;";

/* Record the connection's error and translate it. */
static int store_fail(gw__store_t *s, int rc, const char *what) {
  return gw__sqlite_fail(s->db, rc, what, s->errmsg, sizeof(s->errmsg));
}

static double store_stamp(gw__store_t *s) {
  uv_timeval64_t tv;
  double now = 0;

  if (uv_gettimeofday(&tv) == 0)
    now = (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
  /* A microsecond step keeps order even when the wall clock stalls or
   * steps back; REAL holds it exactly enough for ~285 years of epoch. */
  if (now <= s->last_access)
    now = s->last_access + 1e-6;
  s->last_access = now;
  return now;
}

/*
 * The statement idx, prepared on its first use and kept until close.  An
 * adapter whose connect fails (most cycles of a soak) never runs one, so
 * opening the store prepares none: that was most of an attempt's cost.
 */
static int store_stmt(gw__store_t *s, int idx, sqlite3_stmt **out) {
  int rc;

  *out = NULL;
  if (s->stmt[idx] == NULL) {
    rc =
      sqlite3_prepare_v3(s->db, stmt_sql[idx], -1, SQLITE_PREPARE_PERSISTENT, &s->stmt[idx], NULL);
    if (rc != SQLITE_OK) {
      s->stmt[idx] = NULL;
      return store_fail(s, rc, "prepare");
    }
  }
  *out = s->stmt[idx];
  return 0;
}

/* Before the first stamp: start the LRU clock past every stored stamp (a
 * reopened store may hold stamps from a wall clock that has since stepped
 * back). */
static int store_seed(gw__store_t *s) {
  sqlite3_stmt *st;
  int rc;
  int err;

  if (s->stamp_seeded)
    return 0;
  err = store_stmt(s, GW_STORE_MAX_STAMP, &st);
  if (err != 0)
    return err;
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    s->last_access = sqlite3_column_double(st, 0);
    s->stamp_seeded = 1;
  } else {
    err = store_fail(s, rc, "seed");
  }
  sqlite3_reset(st);
  return err;
}

/* Run a statement that returns no row of interest; leaves it reset. */
static int store_step_done(gw__store_t *s, int idx, const char *what) {
  sqlite3_stmt *st;
  int rc;
  int err;

  err = store_stmt(s, idx, &st);
  if (err != 0)
    return err;
  rc = sqlite3_step(st);
  if (rc != SQLITE_DONE && rc != SQLITE_ROW)
    err = store_fail(s, rc, what);
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  return err;
}

int gw__store_open(gw__store_t *s, const char *path, int max_responses) {
  int err;

  if (s == NULL || path == NULL || path[0] == '\0')
    return UV_EINVAL;
  memset(s, 0, sizeof(*s));
  s->max_responses = max_responses > 0 ? max_responses : GW_STORE_DEFAULT_MAX;

  /* Opening happens once per connect attempt; a moment's wait for another
   * process's lock is cheaper there than a failed attempt and its backoff.
   * Requests never wait: see the end of this function. */
  err = gw__wal_open(path, schema_sql, 50, &s->db, s->errmsg, sizeof(s->errmsg));
  if (err != 0)
    return err; /* nothing open; the reason is in errmsg */
  /* The statements are prepared, and the LRU clock seeded, on first use
   * (store_stmt, store_seed): an adapter whose connect fails, most cycles
   * of a soak, never touches a row.
   *
   * SQLite's busy handler sleeps on the calling thread, which is the event
   * loop: with another process holding the lock each request would stall
   * every client.  Without it a locked store answers SQLITE_BUSY at once. */
  sqlite3_busy_timeout(s->db, 0);
  {
    /* Remember which -wal file is ours (the db file SQLite tracks itself). */
    const char *wal = sqlite3_filename_wal(sqlite3_db_filename(s->db, "main"));
    struct stat sb;

    if (wal != NULL && stat(wal, &sb) == 0) {
      s->wal_dev = (unsigned long long)sb.st_dev;
      s->wal_ino = (unsigned long long)sb.st_ino;
    }
  }
  return 0;
}

int gw__store_is_open(const gw__store_t *s) { return s != NULL && s->db != NULL; }

void gw__store_close(gw__store_t *s) {
  int rc;
  int i;

  if (s == NULL || s->db == NULL)
    return;
  for (i = 0; i < GW_STORE_NSTMT; i++) {
    sqlite3_finalize(s->stmt[i]);
    s->stmt[i] = NULL;
  }
  /* With every statement finalized sqlite3_close cannot be BUSY; should it
   * be anyway (a bug), close_v2 still lets go of the fds once the last
   * statement goes, rather than keeping them forever. */
  rc = sqlite3_close(s->db);
  if (rc != SQLITE_OK) {
    snprintf(s->errmsg, sizeof(s->errmsg), "close: %s", sqlite3_errmsg(s->db));
    sqlite3_close_v2(s->db);
  }
  s->db = NULL;
}

/*
 * 0 while the files we hold are still the ones at the path; GW_STORE_ESTALE when
 * the database was unlinked or renamed away (SQLite checks its own fd's
 * link count and the path's inode) or the -wal at the path is not ours.
 */
static int store_check_files(gw__store_t *s) {
  const char *wal;
  struct stat sb;
  int moved = 0;

  if (sqlite3_file_control(s->db, "main", SQLITE_FCNTL_HAS_MOVED, &moved) == SQLITE_OK && moved) {
    snprintf(s->errmsg, sizeof(s->errmsg),
             "the database file was removed or replaced under the running store; "
             "restart to reopen it");
    return GW_STORE_ESTALE;
  }
  if (s->wal_ino == 0)
    return 0;
  wal = sqlite3_filename_wal(sqlite3_db_filename(s->db, "main"));
  if (wal != NULL && (stat(wal, &sb) != 0 || (unsigned long long)sb.st_ino != s->wal_ino ||
                      (unsigned long long)sb.st_dev != s->wal_dev)) {
    snprintf(s->errmsg, sizeof(s->errmsg),
             "the -wal file was removed or replaced under the running store; "
             "restart to reopen it");
    return GW_STORE_ESTALE;
  }
  return 0;
}

int gw__store_put(gw__store_t *s, const char *id, const char *data, const char *conversation) {
  sqlite3_stmt *st;
  int err;
  int rc;

  if (s == NULL || s->db == NULL)
    return UV_EBADF;
  if (id == NULL || id[0] == '\0' || data == NULL)
    return UV_EINVAL;

  err = store_seed(s);
  if (err != 0)
    return err;
  /* ROLLBACK is ready before the transaction starts, so a transaction
   * that fails half-way can always be rolled back. */
  err = store_stmt(s, GW_STORE_ROLLBACK, &st);
  if (err != 0)
    return err;
  err = store_step_done(s, GW_STORE_BEGIN, "begin");
  if (err != 0)
    return err;

  err = store_stmt(s, GW_STORE_PUT, &st);
  if (err != 0)
    goto rollback;
  if ((rc = sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC)) != SQLITE_OK ||
      (rc = sqlite3_bind_text(st, 2, data, -1, SQLITE_STATIC)) != SQLITE_OK ||
      (rc = sqlite3_bind_double(st, 3, store_stamp(s))) != SQLITE_OK) {
    err = store_fail(s, rc, "put");
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    goto rollback;
  }
  err = store_step_done(s, GW_STORE_PUT, "put");
  if (err != 0)
    goto rollback;

  if (conversation != NULL && conversation[0] != '\0') {
    err = store_stmt(s, GW_STORE_CONV_PUT, &st);
    if (err != 0)
      goto rollback;
    if ((rc = sqlite3_bind_text(st, 1, conversation, -1, SQLITE_STATIC)) != SQLITE_OK ||
        (rc = sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC)) != SQLITE_OK) {
      err = store_fail(s, rc, "conversation");
      sqlite3_reset(st);
      sqlite3_clear_bindings(st);
      goto rollback;
    }
    err = store_step_done(s, GW_STORE_CONV_PUT, "conversation");
    if (err != 0)
      goto rollback;
  }

  err = store_stmt(s, GW_STORE_TRIM, &st);
  if (err != 0)
    goto rollback;
  rc = sqlite3_bind_int(st, 1, s->max_responses);
  if (rc != SQLITE_OK) {
    err = store_fail(s, rc, "trim");
    goto rollback;
  }
  err = store_step_done(s, GW_STORE_TRIM, "trim");
  if (err != 0)
    goto rollback;

  /* Last thing before the commit, so nothing is acknowledged into a file
   * that no path leads to any more. */
  err = store_check_files(s);
  if (err != 0)
    goto rollback;
  err = store_step_done(s, GW_STORE_COMMIT, "commit");
  if (err != 0)
    goto rollback;
  return 0;

rollback:
  /* A failed statement may already have rolled back (SQLITE_FULL...);
   * ROLLBACK then fails harmlessly and the first error is what we report. */
  if (!sqlite3_get_autocommit(s->db)) {
    st = s->stmt[GW_STORE_ROLLBACK]; /* prepared before BEGIN */
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    (void)rc;
  }
  return err;
}

/*
 * Run a one-row lookup statement keyed by one text parameter and return a
 * malloc'd copy of the row's first column.  UV_ENOENT when there is no row.
 * The statement is reset and its bindings cleared whatever happens.
 */
static int store_lookup_text(gw__store_t *s, int idx, const char *key, const char *what,
                             char **out) {
  sqlite3_stmt *st;
  const unsigned char *text;
  char *copy = NULL;
  int bytes;
  int rc;
  int err;

  err = store_stmt(s, idx, &st);
  if (err != 0)
    return err;
  rc = sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
  if (rc != SQLITE_OK) {
    err = store_fail(s, rc, what);
    goto out;
  }
  rc = sqlite3_step(st);
  if (rc == SQLITE_DONE) {
    err = UV_ENOENT;
    goto out;
  }
  if (rc != SQLITE_ROW) {
    err = store_fail(s, rc, what);
    goto out;
  }
  text = sqlite3_column_text(st, 0);
  bytes = sqlite3_column_bytes(st, 0);
  if (text == NULL) {
    err = sqlite3_errcode(s->db) == SQLITE_NOMEM ? UV_ENOMEM : UV_EIO;
    goto out;
  }
  copy = malloc((size_t)bytes + 1);
  if (copy == NULL) {
    err = UV_ENOMEM;
    goto out;
  }
  memcpy(copy, text, (size_t)bytes);
  copy[bytes] = '\0';

out:
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  if (err == 0)
    *out = copy;
  return err;
}

int gw__store_get(gw__store_t *s, const char *id, char **data) {
  sqlite3_stmt *st;
  int err;

  if (s == NULL || s->db == NULL)
    return UV_EBADF;
  if (id == NULL || data == NULL)
    return UV_EINVAL;
  err = store_lookup_text(s, GW_STORE_GET, id, "get", data);
  if (err == 0) {
    /* "Most recently accessed" includes reads.  A failed touch only skews
     * the eviction order, so the caller still gets its data. */
    if (store_seed(s) != 0 || store_stmt(s, GW_STORE_TOUCH, &st) != 0)
      return err;
    if (sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC) == SQLITE_OK &&
        sqlite3_bind_double(st, 2, store_stamp(s)) == SQLITE_OK)
      (void)store_step_done(s, GW_STORE_TOUCH, "touch");
    else {
      sqlite3_reset(st);
      sqlite3_clear_bindings(st);
    }
  }
  return err;
}

int gw__store_delete(gw__store_t *s, const char *id) {
  sqlite3_stmt *st;
  int rc;
  int err;

  if (s == NULL || s->db == NULL)
    return UV_EBADF;
  if (id == NULL)
    return UV_EINVAL;
  err = store_check_files(s);
  if (err != 0)
    return err;
  err = store_stmt(s, GW_STORE_DELETE, &st);
  if (err != 0)
    return err;
  rc = sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
  if (rc != SQLITE_OK) {
    err = store_fail(s, rc, "delete");
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return err;
  }
  err = store_step_done(s, GW_STORE_DELETE, "delete");
  if (err == 0 && sqlite3_changes(s->db) == 0)
    err = UV_ENOENT;
  return err;
}

int gw__store_conversation(gw__store_t *s, const char *name, char **id) {
  if (s == NULL || s->db == NULL)
    return UV_EBADF;
  if (name == NULL || id == NULL)
    return UV_EINVAL;
  return store_lookup_text(s, GW_STORE_CONV_GET, name, "conversation", id);
}

int gw__store_count(gw__store_t *s, int *count) {
  sqlite3_stmt *st;
  int rc;
  int err = 0;

  if (s == NULL || s->db == NULL)
    return UV_EBADF;
  if (count == NULL)
    return UV_EINVAL;
  err = store_stmt(s, GW_STORE_COUNT, &st);
  if (err != 0)
    return err;
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW)
    *count = sqlite3_column_int(st, 0);
  else
    err = store_fail(s, rc, "count");
  sqlite3_reset(st);
  return err;
}

const char *gw__store_errmsg(const gw__store_t *s) { return s != NULL ? s->errmsg : ""; }
