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
