/* runner_base.h - the runner's state, shared by the four sources the
 * runner is made of (docs/architecture.md): runner.c (the public API and
 * the watcher's tick) over attempt.c (attempts and runtime errors) over
 * dispose.c (disposal, and the end of a close) over runner_base.c (log,
 * events, lookups, the retry queue entry and the one clock deadline).
 * Calls go down that list only (gw_layering). */
#ifndef GW_RUNNER_BASE_H
#define GW_RUNNER_BASE_H

#include "internal.h"

#define GW_NEVER UINT64_MAX

typedef struct gw__platform_s gw__platform_t;
typedef struct gw__dispose_s gw__dispose_t;

/* What a startup disposal does once the adapter is gone. */
typedef enum { GW_CONT_NONE = 0, GW_CONT_QUEUE_STARTUP } gw__cont_t;

struct gw__platform_s {
  gw_platform_config_t cfg;
  const gw_adapter_vtable_t *vt;
  gw_platform_state_t state;
  gw_adapter_t *adapter; /* installed: connected */

  /* The attempt in flight, if any. */
  gw_adapter_t *attempt;
  unsigned attempt_no;
  int attempt_startup;
  uint64_t attempt_deadline;

  /* The retry-queue entry (upstream's _failed_platforms[platform]). */
  int queued;
  unsigned attempts;
  uint64_t next_retry;
  int paused;
  char pause_reason[GW_MSG_MAX];

  int queue_pending; /* a startup disposal will queue it when done */

  char last_code[GW_CODE_MAX];
  char last_message[GW_MSG_MAX];
  uint64_t outcomes[GW_OUTCOME_COUNT];
  uint64_t attempts_total;
};

/* A disposal in progress.  It outlives the runner if a disconnect never
 * completes (then r is NULL and the late callback only frees). */
struct gw__dispose_s {
  gw_runner_t *r;
  gw__platform_t *p;
  gw_adapter_t *a;
  uint64_t deadline;
  int timed_out;
  gw__cont_t cont;
  gw_outcome_t outcome;
  gw__dispose_t *next;
};

struct gw_runner_s {
  gw__host_t host; /* first: the adapter base sees a runner as its host; its loop */
  gw_clock_t *clock;
  gw_runner_options_t opts;
  const gw_adapter_vtable_t *kinds[GW_RUNNER_MAX_KINDS];
  size_t nkinds;
  gw__platform_t platforms[GW_RUNNER_MAX_PLATFORMS];
  size_t nplatforms;
  gw__dispose_t *disposals;
  unsigned ndisposing; /* disposals not yet finished or abandoned */
  int started;
  int failed;
  int closing;
  int in_tick; /* re-arm once at the end of a tick, not per change */
  gw_runner_close_cb close_cb;
  /* The watcher's tick (runner.c), armed by gw__runner_rearm from below:
   * a pointer set at init, so the bottom of the runner names nothing above
   * it, the way the adapter base reaches its host. */
  gw_clock_cb tick;
  uv_timer_t defer; /* closed last: makes gw_runner_close asynchronous */
};

/* runner_base.c */
void gw__runner_host_log(gw__host_t *host, gw_log_level_t level, const char *msg);
void gw__runner_emit(gw_runner_t *r, gw_event_type_t type, gw__platform_t *p, gw_outcome_t outcome,
                     int err);
gw__platform_t *gw__runner_find_platform(gw_runner_t *r, const char *name);
void gw__platform_queue(gw_runner_t *r, gw__platform_t *p, unsigned attempts, uint64_t next_retry);
/* Arm the clock at the earliest deadline of them all (not inside a tick:
 * the tick re-arms once at its end). */
void gw__runner_rearm(gw_runner_t *r);

/* dispose.c */
void gw__dispose(gw_runner_t *r, gw__platform_t *p, gw_adapter_t *a, gw_outcome_t outcome,
                 gw__cont_t cont);
void gw__dispose_continue(gw_runner_t *r, gw__dispose_t *d);
void gw__runner_maybe_finish_close(gw_runner_t *r);

/* attempt.c */
void gw__attempt_start(gw_runner_t *r, gw__platform_t *p, int startup);
void gw__attempt_fail(gw_runner_t *r, gw__platform_t *p, int err, const char *what);
void gw__runner_adapter_fatal(gw__host_t *host, gw_adapter_t *a);

#endif /* GW_RUNNER_BASE_H */
