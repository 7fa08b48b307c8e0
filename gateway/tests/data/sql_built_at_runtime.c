/* A fixture for check_sql_bound.py (never compiled): each call below builds
 * or picks SQL at run time and must be reported. */
#include <sqlite3.h>
#include <stdio.h>

static const char *table = "responses"; /* literal, but reassigned below */

int bad(sqlite3 *db, const char *id) {
  char sql[256];
  sqlite3_stmt *st;

  snprintf(sql, sizeof(sql), "SELECT * FROM responses WHERE id = '%s'", id);
  sqlite3_exec(db, sql, NULL, NULL, NULL);
  sqlite3_prepare_v2(db, id, -1, &st, NULL);
  table = id;
  sqlite3_prepare_v3(db, table, -1, 0, &st, NULL);
  char *q = sqlite3_mprintf("DELETE FROM responses WHERE id = %Q", id);
  sqlite3_exec(db, "SELECT 1", NULL, NULL, NULL); /* fine */
  sqlite3_free(q);
  return 0;
}

/* The opener's SQL is held to the rule at its call sites. */
int gw__wal_open(const char *path, const char *schema, int busy_ms, sqlite3 **db, char *err,
                 size_t errlen);

int bad_opener(sqlite3 **db, const char *name) {
  return gw__wal_open("x.db", name, 0, db, NULL, 0);
}
