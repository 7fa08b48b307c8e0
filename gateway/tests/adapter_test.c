/* adapter_test.c - the "test" adapter kind: real fds, scripted outcomes.
 *
 * It exists so that every leak test is real before (and besides) the real
 * adapters: open() opens an SQLite database in WAL mode exactly as the
 * upstream response store does, so an adapter dropped undisposed leaks the
 * db and -wal fds (and the -shm, which SQLite shares per process and inode,
 * stays open as long as any connection to that file does).
 *
 * Test scaffolding: it lives in the gw_testing library (gw_testing.h), which
 * only the tests link, and a runner has it only when a test registers it.
 */
#include "internal.h"
#include "wal.h"
#include "gw_testing.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

typedef struct test_adapter_s test_adapter_t;

struct test_adapter_s {
  gw_adapter_t base; /* first: the runner sees a gw_adapter_t */
  sqlite3 *db;
  uv_timer_t timer;
  int timer_init;
  char letter;
  int hung; /* 'W': disconnect held until gw_test_adapter_release_hung() */
  test_adapter_t *prev, *next;
};

/* Process-wide bookkeeping, so tests can count and reap what leaked.  The
 * gateway core is single-threaded (one loop), and so is this. */
static test_adapter_t *registry;
static gw_test_adapter_stats_t stats;

/* Each platform's script (set by gw_test_adapter_script, by name: the
 * public config has no field for it) and where the platform is in it:
 * attempts outlive adapters. */
static struct {
  char name[GW_NAME_MAX];
  char script[GW_NAME_MAX];
  unsigned next;
} cursors[GW_RUNNER_MAX_PLATFORMS * 4];

/* The cursor of platform `name`, made on first use; NULL when the table is
 * full. */
static size_t cursor_of(const char *name) {
  size_t i;

  for (i = 0; i < GW_ARRAY_SIZE(cursors); i++) {
    if (cursors[i].name[0] == '\0' || strcmp(cursors[i].name, name) == 0)
      break;
  }
  if (i == GW_ARRAY_SIZE(cursors))
    return 0; /* table full: share the first cursor rather than fail */
  if (cursors[i].name[0] == '\0')
    gw__strlcpy(cursors[i].name, name, sizeof(cursors[i].name));
  return i;
}

int gw_test_adapter_script(const char *platform, const char *script) {
  size_t i;

  if (platform == NULL || script == NULL || platform[0] == '\0' ||
      strlen(platform) >= GW_NAME_MAX || strlen(script) >= GW_NAME_MAX ||
      strspn(script, "ORFEAHCPDW") != strlen(script))
    return UV_EINVAL;
  i = cursor_of(platform);
  gw__strlcpy(cursors[i].script, script, sizeof(cursors[i].script));
  return 0;
}

static char next_letter(const gw_platform_config_t *cfg) {
  size_t i = cursor_of(cfg->name), len = strlen(cursors[i].script);
  unsigned idx;

  if (len == 0)
    return 'O';
  idx = cursors[i].next++;
  return cursors[i].script[idx < len ? idx : len - 1];
}

static int test_validate(const gw_platform_config_t *cfg, char *err, size_t errlen) {
  if (cfg->store_path[0] == '\0') {
    snprintf(err, errlen, "platform '%s': field 'store_path' is required for kind 'test'",
             cfg->name);
    return GW_ECONFIG;
  }
  return 0;
}

static int test_create(gw_runner_t *r, const gw_platform_config_t *cfg, gw_adapter_t **out) {
  test_adapter_t *t;
  char letter = next_letter(cfg);

  if (letter == 'C')
    return UV_ENODEV; /* "create returned nothing" */
  t = calloc(1, sizeof(*t));
  if (t == NULL)
    return UV_ENOMEM;
  gw_adapter_init_base(&t->base, &gw_test_adapter_vtable, r, cfg);
  t->letter = letter;
  t->next = registry;
  if (registry != NULL)
    registry->prev = t;
  registry = t;
  stats.created++;
  stats.live++;
  *out = &t->base;
  return 0;
}

static int test_open(gw_adapter_t *a) {
  test_adapter_t *t = (test_adapter_t *)a;
  char err[GW_MSG_MAX];
  int rc;

  if (t->letter == 'P') {
    /* Half-way: the db file is open, the WAL is not yet.  Only this bypasses
     * gw__wal_open, which never stops half-way itself.  Even a failed open
     * leaves a handle in t->db, which disconnect closes. */
    (void)sqlite3_open_v2(a->cfg.store_path, &t->db,
                          SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    return UV_EIO;
  }
  /* Reading in WAL mode opens -wal and -shm; the table makes it a real store. */
  rc = gw__wal_open(a->cfg.store_path,
                    "CREATE TABLE IF NOT EXISTS deliveries(id INTEGER PRIMARY KEY, body TEXT);"
                    "SELECT count(*) FROM deliveries;",
                    0, &t->db, err, sizeof(err));
  if (rc != 0)
    return rc;
  stats.opened++;
  return 0;
}

static void test_timer_cb(uv_timer_t *timer) {
  test_adapter_t *t = timer->data;
  gw_adapter_t *a = &t->base;

  switch (t->letter) {
  case 'O':
    gw_adapter_connect_done(a, GW_CONNECT_OK, 0);
    break;
  case 'R':
  case 'D':
  case 'W':
    gw_adapter_set_failure(a, 1, "connect_failed", "scripted retryable failure");
    gw_adapter_connect_done(a, GW_CONNECT_FAILED, 0);
    break;
  case 'F':
    gw_adapter_set_failure(a, 0, "invalid_token", "scripted non-retryable failure");
    gw_adapter_connect_done(a, GW_CONNECT_FAILED, 0);
    break;
  case 'A':
    gw_adapter_connect_done(a, GW_CONNECT_ERROR, UV_ECONNRESET);
    break;
  default:
    break;
  }
}

static int test_connect(gw_adapter_t *a) {
  test_adapter_t *t = (test_adapter_t *)a;
  int rc;

  stats.connects++;
  if (t->letter == 'E')
    return UV_ENETUNREACH; /* like libuv: a synchronous connect errno */
  if (t->letter == 'H')
    return 0; /* never completes; the runner's timeout disposes of us */
  rc = uv_timer_init(a->loop, &t->timer);
  if (rc != 0)
    return rc;
  t->timer_init = 1;
  t->timer.data = t;
  /* Outcomes arrive on a later loop turn, as real network results do. */
  return uv_timer_start(&t->timer, test_timer_cb, 0, 0);
}

static int test_disconnect(gw_adapter_t *a) {
  test_adapter_t *t = (test_adapter_t *)a;
  int rc = 0;

  stats.disconnects++;
  if (t->timer_init) {
    uv_timer_stop(&t->timer);
    gw_adapter_close_handle(a, (uv_handle_t *)&t->timer);
    t->timer_init = 0;
  }
  if (t->db != NULL) {
    /* close_v2 never fails for lack of finalized statements; we have none. */
    sqlite3_close_v2(t->db);
    t->db = NULL;
  }
  if (t->letter == 'D')
    rc = UV_EIO; /* the resources are released, but disconnect reports failure */
  if (t->letter == 'W') {
    t->hung = 1;
    gw_adapter_hold(a);
  }
  return rc;
}

static void test_destroy(gw_adapter_t *a) {
  test_adapter_t *t = (test_adapter_t *)a;

  if (t->prev != NULL)
    t->prev->next = t->next;
  else
    registry = t->next;
  if (t->next != NULL)
    t->next->prev = t->prev;
  stats.disconnect_calls += a->disconnect_calls;
  stats.destroyed++;
  stats.live--;
  free(t);
}

const gw_adapter_vtable_t gw_test_adapter_vtable = {
  "test", test_validate, test_create, test_open, test_connect, test_disconnect, test_destroy,
};

void gw_test_adapter_stats(gw_test_adapter_stats_t *out) { *out = stats; }

void gw_test_adapter_reset(void) {
  uint64_t live = stats.live;

  memset(&stats, 0, sizeof(stats));
  stats.live = live;
  memset(cursors, 0, sizeof(cursors));
}

void gw_test_adapter_release_hung(void) {
  test_adapter_t *t, *next;

  for (t = registry; t != NULL; t = next) {
    next = t->next; /* the release may destroy t */
    if (t->hung) {
      t->hung = 0;
      gw_adapter_release(&t->base);
    }
  }
}

void gw_test_adapter_runtime_error(gw_adapter_t *a, int retryable) {
  gw_adapter_set_failure(a, retryable, retryable ? "connection_lost" : "invalid_token",
                         "scripted runtime error");
  gw_adapter_report_fatal(a);
}

static void reap_cb(gw_adapter_t *a, int status) { gw_adapter_destroy(a); }

int gw_test_adapter_reap_leaked(void) {
  test_adapter_t *t, *next;
  int n = 0;

  for (t = registry; t != NULL; t = next) {
    next = t->next;
    if (t->base.state != GW_ADAPTER_DISCONNECTING && t->base.state != GW_ADAPTER_CLOSED) {
      gw_adapter_disconnect(&t->base, reap_cb);
      n++;
    }
  }
  return n;
}
