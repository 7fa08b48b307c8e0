/* ledger.c - the platform adapter's delivery ledger (SQLite, WAL). */
#include "ledger.h"
#include "wal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>
#include <uv.h>

struct gw__ledger_s {
  sqlite3 *db;
  sqlite3_stmt *insert;
  sqlite3_stmt *prune;
};

static void ledger_free(gw__ledger_t *l) {
  sqlite3_finalize(l->insert);
  sqlite3_finalize(l->prune);
  /* close_v2 so a statement we somehow missed cannot keep the fds open
   * behind a SQLITE_BUSY we would swallow anyway. */
  sqlite3_close_v2(l->db);
  free(l);
}

int gw__ledger_open(const char *path, gw__ledger_t **out, char *errmsg, size_t errlen) {
  static const char *schema = "CREATE TABLE IF NOT EXISTS deliveries("
                              " id INTEGER PRIMARY KEY AUTOINCREMENT,"
                              " direction TEXT NOT NULL,"
                              " chat TEXT NOT NULL,"
                              " text TEXT NOT NULL,"
                              " at REAL NOT NULL)";
  gw__ledger_t *l;
  int err;

  if (path == NULL || path[0] == '\0') {
    if (errmsg && errlen)
      snprintf(errmsg, errlen, "store_path is empty");
    return UV_EINVAL;
  }

  l = calloc(1, sizeof(*l));
  if (l == NULL)
    return UV_ENOMEM;

  /* A peer that holds the db briefly (another gateway process, a soak
   * sampler running sqlite3) must not turn into a spurious failure. */
  err = gw__wal_open(path, schema, 2000, &l->db, errmsg, errlen);
  if (err != 0) {
    free(l);
    return err;
  }

  /* The statements are prepared on first use (ledger_stmt): an adapter
   * whose connect fails, most cycles of a soak, never records anything. */
  *out = l;
  return 0;
}

static const char *const ledger_sql[] = {
  "INSERT INTO deliveries(direction, chat, text, at) VALUES(?1, ?2, ?3, ?4)",
  "DELETE FROM deliveries WHERE id <= ?1",
};

/* *slot, prepared from ledger_sql[idx] the first time it is needed. */
static int ledger_stmt(gw__ledger_t *l, sqlite3_stmt **slot, int idx) {
  int rc;

  if (*slot != NULL)
    return 0;
  rc = sqlite3_prepare_v2(l->db, ledger_sql[idx], -1, slot, NULL);
  if (rc != SQLITE_OK) {
    *slot = NULL;
    /* The VFS keeps the errno of the failed system call: EMFILE stays
     * EMFILE, the very failure this project exists to find. */
    return gw__sqlite_fail(l->db, rc, "prepare", NULL, 0);
  }
  return 0;
}

int gw__ledger_record(gw__ledger_t *l, const char *direction, const char *chat, const char *text) {
  struct timespec ts;
  sqlite3_int64 id;
  int rc;

  if (l == NULL)
    return UV_EINVAL;
  if ((rc = ledger_stmt(l, &l->insert, 0)) != 0)
    return rc;
  clock_gettime(CLOCK_REALTIME, &ts);

  sqlite3_bind_text(l->insert, 1, direction, -1, SQLITE_STATIC);
  sqlite3_bind_text(l->insert, 2, chat ? chat : "", -1, SQLITE_STATIC);
  sqlite3_bind_text(l->insert, 3, text ? text : "", -1, SQLITE_STATIC);
  sqlite3_bind_double(l->insert, 4, (double)ts.tv_sec + ts.tv_nsec / 1e9);
  rc = sqlite3_step(l->insert);
  sqlite3_reset(l->insert);
  sqlite3_clear_bindings(l->insert);
  if (rc != SQLITE_DONE)
    return gw__sqlite_fail(l->db, rc, "record", NULL, 0);

  /* Bounded: a long-running gateway must not grow its ledger forever. */
  id = sqlite3_last_insert_rowid(l->db);
  if (id > GW_LEDGER_KEEP) {
    if ((rc = ledger_stmt(l, &l->prune, 1)) != 0)
      return rc;
    sqlite3_bind_int64(l->prune, 1, id - GW_LEDGER_KEEP);
    rc = sqlite3_step(l->prune);
    sqlite3_reset(l->prune);
    if (rc != SQLITE_DONE)
      return gw__sqlite_fail(l->db, rc, "record", NULL, 0);
  }
  return 0;
}

void gw__ledger_close(gw__ledger_t *l) {
  if (l == NULL)
    return;
  ledger_free(l);
}
