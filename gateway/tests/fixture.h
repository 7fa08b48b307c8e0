/* fixture.h - a loop, a virtual clock and a runner for the gateway's tests.
 *
 * Header-only so each test_<unit>.c stays one translation unit.  Teardown is
 * libuv's MAKE_VALGRIND_HAPPY: every handle closed, uv_loop_close() == 0,
 * and the process has exactly the fds it had before the test.
 */
#ifndef GW_TEST_FIXTURE_H
#define GW_TEST_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "gw.h"
#include "gw_testing.h"

#define FX_MAX_EVENTS 8192
#define FX_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define FX_QUIET_MS 5

typedef struct {
  gw_event_type_t type;
  char platform[GW_NAME_MAX];
  unsigned attempt;
  int startup;
  gw_outcome_t outcome;
  int err;
  uint64_t now;
} fx_event_t;

typedef struct {
  uv_loop_t loop;
  gw_clock_t clock;
  gw_runner_t *r;
  int fd_start;
  char dir[128];
  fx_event_t ev[FX_MAX_EVENTS];
  size_t nev;
  int runner_closed;
  unsigned nlog[GW_LOG_ERROR + 1]; /* lines the runner's log callback got, by level */
  int clock_closed;
} fx_t;

static inline void fx_event(void *data, const gw_event_t *e) {
  fx_t *fx = data;
  fx_event_t *o;

  if (fx->nev == FX_MAX_EVENTS)
    return;
  o = &fx->ev[fx->nev++];
  o->type = e->type;
  snprintf(o->platform, sizeof(o->platform), "%s", e->platform != NULL ? e->platform : "");
  o->attempt = e->attempt;
  o->startup = e->startup;
  o->outcome = e->outcome;
  o->err = e->err;
  o->now = e->now;
}

static inline void fx_quiet_log(void *data, gw_log_level_t level, const char *msg) {
  fx_t *fx = data;

  if ((unsigned)level <= GW_LOG_ERROR)
    fx->nlog[level]++;
  if (getenv("GW_TEST_VERBOSE") != NULL)
    fprintf(stderr, "  log[%d] %s\n", (int)level, msg);
}

/* The runner's log_level in the next fx_setup (tests of the filter set it). */
static gw_log_level_t fx_log_level __attribute__((unused)) = GW_LOG_DEBUG;

static inline void fx_setup_kind(fx_t *fx, gw_clock_kind_t kind) {
  gw_runner_options_t opts;

  static int warmed;

  memset(fx, 0, sizeof(*fx));
  gw_test_adapter_reset();
  if (!warmed) {
    /* libuv opens a process-wide signal pipe at the first uv_loop_init and
     * keeps it: a constant of the fd table, not a leak of any test. */
    uv_loop_t l;
    assert_int_equal(uv_loop_init(&l), 0);
    assert_int_equal(uv_loop_close(&l), 0);
    warmed = 1;
  }
  fx->fd_start = gw_fd_count();
  snprintf(fx->dir, sizeof(fx->dir), "/tmp/gw-test-XXXXXX");
  assert_non_null(mkdtemp(fx->dir));
  assert_int_equal(uv_loop_init(&fx->loop), 0);
  assert_int_equal(gw_clock_init(&fx->loop, &fx->clock, kind), 0);
  memset(&opts, 0, sizeof(opts));
  opts.log = fx_quiet_log;
  opts.log_level = fx_log_level;
  opts.event = fx_event;
  opts.data = fx;
  assert_int_equal(gw_runner_init(&fx->loop, &fx->clock, &opts, &fx->r), 0);
  /* The test kind is test scaffolding: registered here, never by default. */
  assert_int_equal(gw_runner_register_kind(fx->r, &gw_test_adapter_vtable), 0);
}

static inline void fx_setup(fx_t *fx) { fx_setup_kind(fx, GW_CLOCK_VIRTUAL); }

static inline void fx_config(fx_t *fx, gw_platform_config_t *cfg, const char *name,
                             const char *script) {
  memset(cfg, 0, sizeof(*cfg));
  snprintf(cfg->name, sizeof(cfg->name), "%s", name);
  snprintf(cfg->kind, sizeof(cfg->kind), "test");
  /* One store per platform, shared by its attempts, as upstream's is. */
  snprintf(cfg->store_path, sizeof(cfg->store_path), "%s/%s.db", fx->dir, name);
  if (name[0] != '\0') /* a test of the missing name has no script to set */
    assert_int_equal(gw_test_adapter_script(name, script), 0);
}

static inline void fx_add(fx_t *fx, const char *name, const char *script) {
  gw_platform_config_t cfg;
  char err[256];
  int rc;

  fx_config(fx, &cfg, name, script);
  rc = gw_runner_add_platform(fx->r, &cfg, err, sizeof(err));
  if (rc != 0)
    fail_msg("add_platform %s: %s", name, err);
}

/* Run I/O to quiescence without moving virtual time. */
static inline void fx_settle(fx_t *fx) {
  assert_int_equal(gw_clock_settle(&fx->clock, FX_QUIET_MS), 0);
}

/* One watcher step: jump to the next deadline, then let the I/O finish.
 * Returns 0, or UV_EAGAIN when nothing is scheduled. */
static inline int fx_step(fx_t *fx) {
  int rc = gw_clock_jump(&fx->clock);
  if (rc != 0)
    return rc;
  fx_settle(fx);
  return 0;
}

static inline size_t fx_count(const fx_t *fx, gw_event_type_t type, const char *platform) {
  size_t i, n = 0;
  for (i = 0; i < fx->nev; i++) {
    if (fx->ev[i].type == type && (platform == NULL || strcmp(fx->ev[i].platform, platform) == 0))
      n++;
  }
  return n;
}

/* The k-th (0-based) event of a type for a platform, or NULL. */
static inline const fx_event_t *fx_nth(const fx_t *fx, gw_event_type_t type, const char *platform,
                                       size_t k) {
  size_t i;
  for (i = 0; i < fx->nev; i++) {
    if (fx->ev[i].type == type && (platform == NULL || strcmp(fx->ev[i].platform, platform) == 0)) {
      if (k-- == 0)
        return &fx->ev[i];
    }
  }
  return NULL;
}

static inline gw_platform_status_t fx_status(fx_t *fx, const char *name) {
  gw_platform_status_t st;
  assert_int_equal(gw_runner_status(fx->r, name, &st), 0);
  return st;
}

static inline void fx_runner_closed_cb(gw_runner_t *r) {
  fx_t *fx = gw_runner_data(r);
  fx->runner_closed = 1;
}

static inline void fx_clock_closed_cb(void *obj) {
  fx_t *fx = ((gw_clock_t *)obj)->data;
  fx->clock_closed = 1;
}

static inline void fx_rm_dir(const char *dir) {
  char cmd[256];
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
  if (system(cmd) != 0)
    fprintf(stderr, "warning: could not remove %s\n", dir);
}

/*
 * The runner is closed first and must dispose of every adapter it made:
 * only then does the fixture look for adapters still alive.  Reaping them
 * before the close (as this once did) made the close's own disposal
 * untestable -- a gw_runner_close that disposed of nothing passed.  The
 * regress library leaks on purpose; there the leftovers are reaped
 * (after the close) so the fd check still ends each test clean.
 */
static inline void fx_teardown(fx_t *fx) {
  gw_test_adapter_stats_t st;
  int reaped;

  gw_runner_close(fx->r, fx_runner_closed_cb);
  fx->clock.data = fx;
  /* Bounded: a disposal that waits on virtual time gets it by a jump, one
   * held by a 'W' script is released once the loop has nothing else. */
  for (int i = 0; i < 100000 && !fx->runner_closed; i++) {
    if (uv_run(&fx->loop, UV_RUN_ONCE) == 0 && !fx->runner_closed) {
      gw_test_adapter_release_hung();
      (void)gw_clock_jump(&fx->clock);
    }
  }
  assert_true(fx->runner_closed);
  gw_test_adapter_release_hung();
  reaped = gw_test_adapter_reap_leaked();
  uv_run(&fx->loop, UV_RUN_DEFAULT);
#ifndef GW_REGRESS
  if (reaped != 0)
    fail_msg("%d adapter(s) still connected after gw_runner_close", reaped);
  gw_test_adapter_stats(&st);
  if (st.live != 0)
    fail_msg("%u adapter(s) still alive after gw_runner_close", (unsigned)st.live);
#else
  (void)reaped;
  (void)st;
#endif
  gw_clock_close(&fx->clock, fx_clock_closed_cb);
  uv_run(&fx->loop, UV_RUN_DEFAULT);
  assert_true(fx->clock_closed);
  assert_int_equal(uv_loop_close(&fx->loop), 0);
  fx_rm_dir(fx->dir);
  assert_int_equal(gw_fd_count(), fx->fd_start);
}

/* One fixture per test process, set up and torn down around each test:
 * cmocka_unit_test_setup_teardown(test, fx_cm_setup, fx_cm_teardown). */
static fx_t fx __attribute__((unused));

static inline int fx_cm_setup(void **state) {
  fx_setup(&fx);
  return 0;
}

static inline int fx_cm_teardown(void **state) {
  fx_teardown(&fx);
  return 0;
}

#endif
