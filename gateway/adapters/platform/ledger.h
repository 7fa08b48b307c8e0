/*
 * ledger.h - the platform adapter's delivery ledger.
 *
 * An SQLite database in WAL mode (db, -wal, -shm: three fds while open),
 * opened when the adapter opens and closed by its disconnect.  It records
 * every message delivered in either direction; it exists so the platform
 * adapter owns the same shape of resources as the upstream response store,
 * and so a reconnect loop that forgets to dispose of it leaks the same way.
 */
#ifndef GW_LEDGER_H
#define GW_LEDGER_H

#include <stddef.h>

typedef struct gw__ledger_s gw__ledger_t;

/* Rows kept; older deliveries are pruned as new ones arrive. */
#define GW_LEDGER_KEEP 1000

/*
 * Open (creating if needed) the ledger at path, in WAL mode, schema in
 * place.  On failure nothing stays open, *out is untouched, and errmsg (if
 * not NULL) holds SQLite's message.  Returns 0 or a negative errno
 * (UV_EINVAL for an empty path, UV_ENOMEM, UV_EIO for other SQLite errors).
 */
int gw__ledger_open(const char *path, gw__ledger_t **out, char *errmsg, size_t errlen);

/* Record one delivery; direction is "in" or "out". */
int gw__ledger_record(gw__ledger_t *l, const char *direction, const char *chat, const char *text);

/* Close and free; NULL is harmless.  Errors are swallowed (the upstream
 * store's close does the same): a close is a release, not a decision. */
void gw__ledger_close(gw__ledger_t *l);

#endif /* GW_LEDGER_H */
