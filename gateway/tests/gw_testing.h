/*
 * gw_testing.h - the gateway's test scaffolding, for its tests only.
 *
 * Built as the gw_testing library (gw_testing_regress against the regress
 * core), which no production binary links: libgw holds no gw_test_*
 * symbol.  A runner starts with no adapter kinds; a test that wants the
 * test kind registers it (the fixture does):
 *
 *   gw_runner_register_kind(r, &gw_test_adapter_vtable);
 */
#ifndef GW_TESTING_H
#define GW_TESTING_H

#include "gw.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ */
/* The test adapter (kind "test"): real fds, scripted outcomes         */
/* ------------------------------------------------------------------ */

/*
 * create copies the config; open opens an SQLite database in WAL mode at
 * cfg.store_path (db, -wal and, per process, one shared -shm) -- the same
 * shape as the upstream response store.  Its script (gw_test_adapter_script,
 * by platform name; none: always O) is a string of outcome letters, one per
 * connect, the last repeating:
 *   O ok            R retryable failure     F non-retryable failure
 *   E connect returns UV_ENETUNREACH at once (exception path)
 *   A async error (UV_ECONNRESET through the callback, exception path)
 *   H hang: never completes (the runner's connect timeout fires)
 *   C create fails (platform dropped)
 *   P open fails half-way (db opened, WAL not yet)
 *   D like R, but disconnect then reports an error (resources still freed)
 *   W like R, but disconnect never completes until released
 */
extern const gw_adapter_vtable_t gw_test_adapter_vtable;

typedef struct {
  uint64_t created, opened, connects, disconnects, disconnect_calls, destroyed;
  uint64_t live; /* created and not destroyed */
} gw_test_adapter_stats_t;

void gw_test_adapter_stats(gw_test_adapter_stats_t *out);
/* Set the script of the test platform named `platform` (before it is
 * added; gw_test_adapter_reset forgets every script).  0, or UV_EINVAL for
 * a letter outside ORFEAHCPDW or a name or script too long. */
int gw_test_adapter_script(const char *platform, const char *script);
void gw_test_adapter_reset(void);
/* Complete every disconnect held back by 'W'. */
void gw_test_adapter_release_hung(void);
/* Make a connected test adapter report a runtime fatal error. */
void gw_test_adapter_runtime_error(gw_adapter_t *a, int retryable);
/* An api adapter's requests handled and client connections held (0 for
 * anything else). */
uint64_t gw_test_api_requests(gw_adapter_t *a);
unsigned gw_test_api_connections(gw_adapter_t *a);
/* Close and free adapters nobody disposed of (the regress leaks), so a test
 * can end with a clean loop.  Returns how many it reaped. */
int gw_test_adapter_reap_leaked(void);

#ifdef __cplusplus
}
#endif

#endif /* GW_TESTING_H */
