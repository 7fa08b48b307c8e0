/*
 * wal.h - the one way the gateway opens an SQLite database, and the one map
 * from SQLite's result codes to the project's negative errnos.
 *
 * The store of the api adapter, the ledger of the platform adapter and the
 * test adapter's store all open a file in WAL mode; each used to do it its
 * own way, with two errno maps and one that never checked WAL was granted.
 * A store in WAL mode holds three fds (db, -wal, -shm): that footprint is
 * what fdsoak soaks, so no opener may quietly end up with another one.
 */
#ifndef GW_WAL_H
#define GW_WAL_H

#include <stddef.h>

#include <sqlite3.h>

/*
 * Open (creating if needed) the database at path for use by one thread, in
 * WAL mode with synchronous=NORMAL, and run schema (NULL for none).  busy_ms
 * is how long the open may wait for another process's lock (the caller sets
 * what its later statements may wait).  A file system that refuses WAL (no
 * shared memory) is an error, UV_ENOTSUP: it would change the fd footprint.
 *
 * 0 with *db open, or a negative errno with *db NULL, nothing left open and
 * err naming the step that failed with SQLite's and the OS's words.
 */
int gw__wal_open(const char *path, const char *schema, int busy_ms, sqlite3 **db, char *err,
                 size_t errlen);

/*
 * Translate an SQLite result code (extended or primary) to a negative errno.
 * sys_errno is sqlite3_system_errno() for I/O and open failures, 0 if none:
 * when the OS said why (EMFILE, ENOENT, EACCES...) that is the answer.
 */
int gw__sqlite_errno(int rc, int sys_errno);

/*
 * Record a failure of db's (NULL: rc alone) as "what: message (sqlite N,
 * strerror)" in err and return its negative errno, never 0.
 */
int gw__sqlite_fail(sqlite3 *db, int rc, const char *what, char *err, size_t errlen);

#endif /* GW_WAL_H */
