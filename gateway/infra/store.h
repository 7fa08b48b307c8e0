/*
 * store.h - the api adapter's response store (private to the gateway).
 *
 * An SQLite database in WAL mode holding OpenAI-style response objects and
 * named conversations, the shape of the upstream gateway's store:
 *
 *   responses(response_id TEXT PRIMARY KEY, data TEXT NOT NULL,
 *             accessed_at REAL NOT NULL)
 *   conversations(name TEXT PRIMARY KEY, response_id TEXT NOT NULL)
 *
 * While open it holds exactly three fds: the database, its -wal and its
 * -shm.  That is the resource whose leak this project exists to catch, so
 * gw__store_close() must release all three whatever state the store is in.
 *
 * All functions return 0 or a negative errno (UV_E* values); SQLite result
 * codes are translated at this boundary and SQLite's own message is kept for
 * the log (gw__store_errmsg).  Every statement is prepared on its first use
 * (opening prepares none: an adapter that never serves a request never pays
 * for them), kept until close, and takes its values through bound
 * parameters: no SQL is ever built from request text.
 */
#ifndef GW_STORE_H
#define GW_STORE_H

#include <errno.h>
#include <stddef.h>

#define GW_STORE_DEFAULT_MAX 100
/* The store's files were removed or replaced under it (libuv has no
 * UV_ESTALE; like UV_* it is a negative errno). */
#define GW_STORE_ESTALE (-ESTALE)
#define GW_STORE_ERRMSG_MAX 256

struct sqlite3;
struct sqlite3_stmt;

enum {
  GW_STORE_PUT = 0,
  GW_STORE_GET,
  GW_STORE_TOUCH,
  GW_STORE_DELETE,
  GW_STORE_TRIM,
  GW_STORE_CONV_PUT,
  GW_STORE_CONV_GET,
  GW_STORE_COUNT,
  GW_STORE_BEGIN,
  GW_STORE_COMMIT,
  GW_STORE_ROLLBACK,
  GW_STORE_MAX_STAMP,
  GW_STORE_NSTMT
};

/* Embed it (or zero it) before gw__store_open; fields are private. */
typedef struct gw__store_s {
  struct sqlite3 *db;
  struct sqlite3_stmt *stmt[GW_STORE_NSTMT];
  int max_responses;
  double last_access;                  /* strictly increasing accessed_at: a total LRU order */
  int stamp_seeded;                    /* last_access starts past every stored stamp */
  unsigned long long wal_dev, wal_ino; /* the -wal file we opened (0: unknown) */
  char errmsg[GW_STORE_ERRMSG_MAX];
} gw__store_t;

/*
 * Open (creating if needed) the store at path, in WAL mode, keeping at most
 * max_responses responses (<= 0 means GW_STORE_DEFAULT_MAX).  On failure
 * nothing stays open, s is left closed and the message is in s->errmsg.
 */
int gw__store_open(gw__store_t *s, const char *path, int max_responses);

/* 1 while the store holds its database open. */
int gw__store_is_open(const gw__store_t *s);

/*
 * Release the statements, the connection and with it all three fds.
 * Errors are swallowed (kept in errmsg), as upstream's close() did: a
 * dispose path must not fail.  Idempotent; NULL is harmless.
 */
void gw__store_close(gw__store_t *s);

/*
 * Store a response (insert or replace), mark it most recently accessed,
 * point conversation (if not NULL or "") at it, and evict the least
 * recently accessed responses beyond the bound -- one transaction, so a
 * 0 return means the row is durable (see the synchronous note in store.c).
 *
 * Never waits: another process holding the write lock gives UV_EBUSY at
 * once (the loop must not sleep in SQLite's busy handler).  A database or
 * -wal file that was unlinked or replaced under the open store gives
 * GW_STORE_ESTALE and nothing is committed: a commit into an unlinked file would
 * be acknowledged and then lost at the next open.  gw__store_delete checks
 * the same.
 */
int gw__store_put(gw__store_t *s, const char *id, const char *data, const char *conversation);

/* Fetch a response's data (malloc'd, NUL-terminated; free() it) and mark it
 * most recently accessed.  UV_ENOENT when absent.  *data set on success. */
int gw__store_get(gw__store_t *s, const char *id, char **data);

/* Delete a response.  UV_ENOENT when absent. */
int gw__store_delete(gw__store_t *s, const char *id);

/* The latest response id of a named conversation (malloc'd; free() it).
 * UV_ENOENT when the conversation is unknown. */
int gw__store_conversation(gw__store_t *s, const char *name, char **id);

/* Number of stored responses. */
int gw__store_count(gw__store_t *s, int *count);

/* SQLite's message for the last failure ("" when none). */
const char *gw__store_errmsg(const gw__store_t *s);

#endif /* GW_STORE_H */
