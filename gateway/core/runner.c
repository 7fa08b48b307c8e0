/* runner.c - the gateway runner and its reconnect watcher.
 *
 * This is the C model of the upstream gateway's startup and reconnect code,
 * with the fix: every failure path disposes of the adapter it created.
 *
 * Scheduling: the runner keeps every deadline it cares about (retry entries,
 * connect timeouts of attempts in flight, disconnect timeouts of disposals)
 * and arms the clock at the earliest one, re-arming whenever one changes.
 * Nothing polls, and the same code runs on real and on virtual time.
 */
#include "internal.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NEVER UINT64_MAX

typedef struct platform_s platform_t;
typedef struct dispose_s dispose_t;

typedef enum { CONT_NONE = 0, CONT_QUEUE_STARTUP } continuation_t;

struct platform_s {
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
struct dispose_s {
  gw_runner_t *r;
  platform_t *p;
  gw_adapter_t *a;
  uint64_t deadline;
  int timed_out;
  continuation_t cont;
  gw_outcome_t outcome;
  dispose_t *next;
};

struct gw_runner_s {
  gw__host_t host; /* first: the adapter base sees a runner as its host; its loop */
  gw_clock_t *clock;
  gw_runner_options_t opts;
  const gw_adapter_vtable_t *kinds[GW_RUNNER_MAX_KINDS];
  size_t nkinds;
  platform_t platforms[GW_RUNNER_MAX_PLATFORMS];
  size_t nplatforms;
  dispose_t *disposals;
  unsigned ndisposing; /* disposals not yet finished or abandoned */
  int started;
  int failed;
  int closing;
  int in_tick; /* re-arm once at the end of a tick, not per change */
  gw_runner_close_cb close_cb;
  uv_timer_t defer; /* closed last: makes gw_runner_close asynchronous */
};

static void runner_rearm(gw_runner_t *r);
static void runner_maybe_finish_close(gw_runner_t *r);

/* ------------------------------------------------------------------ */

const char *gw_platform_state_name(gw_platform_state_t s) {
  static const char *const names[] = {"pending", "connecting", "connected", "retrying",
                                      "paused",  "fatal",      "stopped"};
  return (unsigned)s < GW_ARRAY_SIZE(names) ? names[s] : "unknown";
}

const char *gw_outcome_name(gw_outcome_t o) {
  static const char *const names[] = {"success", "fatal", "retryable", "exception", "dropped"};
  return (unsigned)o < GW_ARRAY_SIZE(names) ? names[o] : "unknown";
}

uint64_t gw_backoff_ms(unsigned attempt) {
  uint64_t s = 30;
  unsigned i;

  /* min(30 * 2^(attempt-1), 300) without overflow for any attempt count. */
  for (i = 1; i < attempt && s < 300; i++)
    s *= 2;
  if (s > 300)
    s = 300;
  return s * 1000;
}

static void runner_log_line(gw_runner_t *r, gw_log_level_t level, const char *msg) {
  static const char *const lv[] = {"debug", "info", "warn", "error"};

  if (r->opts.log != NULL)
    r->opts.log(r->opts.data, level, msg);
  else if (level >= r->opts.log_level)
    fprintf(stderr, "gw %s: %s\n", lv[level], msg);
}

void gw_runner_log(gw_runner_t *r, gw_log_level_t level, const char *fmt, ...) {
  char msg[512];
  va_list ap;

  if (r->opts.log == NULL && level < r->opts.log_level)
    return;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  runner_log_line(r, level, msg);
}

static void host_log(gw__host_t *host, gw_log_level_t level, const char *msg) {
  runner_log_line((gw_runner_t *)host, level, msg);
}

static void emit(gw_runner_t *r, gw_event_type_t type, platform_t *p, gw_outcome_t outcome,
                 int err) {
  gw_event_t ev;

  if (r->opts.event == NULL)
    return;
  memset(&ev, 0, sizeof(ev));
  ev.type = type;
  ev.platform = p != NULL ? p->cfg.name : NULL;
  ev.attempt = p != NULL ? p->attempt_no : 0;
  ev.startup = p != NULL ? p->attempt_startup : 0;
  ev.outcome = outcome;
  ev.err = err;
  ev.now = gw_clock_now(r->clock);
  r->opts.event(r->opts.data, &ev);
}

static platform_t *find_platform(gw_runner_t *r, const char *name) {
  size_t i;

  for (i = 0; i < r->nplatforms; i++) {
    if (strcmp(r->platforms[i].cfg.name, name) == 0)
      return &r->platforms[i];
  }
  return NULL;
}

static const gw_adapter_vtable_t *find_kind(gw_runner_t *r, const char *kind) {
  size_t i;

  for (i = 0; i < r->nkinds; i++) {
    if (strcmp(r->kinds[i]->kind, kind) == 0)
      return r->kinds[i];
  }
  return NULL;
}

static void set_last_error(platform_t *p, const char *code, const char *message) {
  gw__strlcpy(p->last_code, code, sizeof(p->last_code));
  gw__strlcpy(p->last_message, message, sizeof(p->last_message));
}

/* ------------------------------------------------------------------ */
/* Disposal: disconnect, swallow and log its error, free when done.    */
/* ------------------------------------------------------------------ */

static void dispose_unlink(gw_runner_t *r, dispose_t *d) {
  dispose_t **pp;

  for (pp = &r->disposals; *pp != NULL; pp = &(*pp)->next) {
    if (*pp == d) {
      *pp = d->next;
      return;
    }
  }
}

static void queue_entry(gw_runner_t *r, platform_t *p, unsigned attempts, uint64_t next_retry) {
  p->queued = 1;
  p->attempts = attempts;
  if (!p->paused)
    p->next_retry = next_retry;
  p->state = p->paused ? GW_PLATFORM_PAUSED : GW_PLATFORM_RETRYING;
}

/* What the startup path does once its failed adapter is gone (or its
 * disconnect timed out): queue as upstream does, first retry in 30 s. */
static void run_continuation(gw_runner_t *r, dispose_t *d) {
  if (d->cont != CONT_QUEUE_STARTUP || r->closing)
    return;
  d->cont = CONT_NONE;
  d->p->queue_pending = 0;
  queue_entry(r, d->p, 1, gw_clock_now(r->clock) + gw_backoff_ms(1));
  gw_runner_log(r, GW_LOG_INFO, "platform %s queued for reconnect in %llu s", d->p->cfg.name,
                (unsigned long long)(gw_backoff_ms(1) / 1000));
  runner_rearm(r);
}

static void dispose_done_cb(gw_adapter_t *a, int status) {
  dispose_t *d = a->data;
  gw_runner_t *r = d->r;

  if (r == NULL) {
    /* The runner is gone; this disconnect outlived it. */
    gw_adapter_destroy(a);
    free(d);
    return;
  }
  if (status != 0) {
    /* A dispose that fails must not stop the watcher: log and go on. */
    gw_runner_log(r, GW_LOG_DEBUG, "platform %s: disconnect of failed adapter: %s", d->p->cfg.name,
                  uv_strerror(status));
  }
  dispose_unlink(r, d);
  if (!d->timed_out) {
    r->ndisposing--;
    run_continuation(r, d);
  }
  emit(r, GW_EV_DISPOSED, d->p, d->outcome, status);
  gw_adapter_destroy(a);
  free(d);
  runner_rearm(r);
  runner_maybe_finish_close(r);
}

static void dispose(gw_runner_t *r, platform_t *p, gw_adapter_t *a, gw_outcome_t outcome,
                    continuation_t cont) {
  dispose_t *d;
  int rc;

  if (a == NULL) {
    /* Nothing was created: nothing to release, but the path goes on. */
    if (cont != CONT_NONE) {
      dispose_t tmp;
      memset(&tmp, 0, sizeof(tmp));
      tmp.r = r;
      tmp.p = p;
      tmp.cont = cont;
      run_continuation(r, &tmp);
    }
    return;
  }
  d = calloc(1, sizeof(*d));
  if (d == NULL) {
    /* Out of memory: still release the adapter's fds; only the completion
     * bookkeeping is lost (its memory stays until the process exits). */
    gw_runner_log(r, GW_LOG_ERROR, "platform %s: out of memory disposing adapter", p->cfg.name);
    gw_adapter_disconnect(a, NULL);
    return;
  }
  d->r = r;
  d->p = p;
  d->a = a;
  d->cont = cont;
  d->outcome = outcome;
  if (cont == CONT_QUEUE_STARTUP)
    p->queue_pending = 1;
  d->deadline = gw_clock_now(r->clock) + (uint64_t)(p->cfg.disconnect_timeout_s * 1000.0);
  d->next = r->disposals;
  r->disposals = d;
  r->ndisposing++;
  a->data = d;
  rc = gw_adapter_disconnect(a, dispose_done_cb);
  if (rc != 0) {
    /* Already disconnecting: someone else owns its completion. */
    gw_runner_log(r, GW_LOG_DEBUG, "platform %s: dispose: %s", p->cfg.name, uv_strerror(rc));
    dispose_unlink(r, d);
    r->ndisposing--;
    run_continuation(r, d);
    free(d);
  }
  runner_rearm(r);
}

#ifdef GW_REGRESS
/* The pre-fix reconnect loop: on the chosen path the adapter is simply
 * forgotten, its fds and handles with it. */
static int regress_drop(gw_runner_t *r, platform_t *p, gw_adapter_t *a, gw_outcome_t outcome) {
  if (a == NULL || !gw__regress_drops(outcome))
    return 0;
  gw_runner_log(r, GW_LOG_DEBUG, "platform %s: regress: %s path drops its adapter undisposed",
                p->cfg.name, gw_outcome_name(outcome));
  return 1;
}
#endif

/* ------------------------------------------------------------------ */
/* Attempts                                                           */
/* ------------------------------------------------------------------ */

static void attempt_connect_cb(gw_adapter_t *a, gw_connect_result_t result, int err);
static void check_stop(gw_runner_t *r);

static void finish_attempt(gw_runner_t *r, platform_t *p, gw_outcome_t outcome, int err,
                           const char *code, const char *message) {
  gw_adapter_t *a = p->attempt;
  unsigned attempt = p->attempt_no;
  int startup = p->attempt_startup;
  uint64_t now = gw_clock_now(r->clock);

  p->attempt = NULL;
  p->outcomes[outcome]++;
  if (outcome != GW_OUTCOME_SUCCESS)
    set_last_error(p, code, message);

  switch (outcome) {
  case GW_OUTCOME_SUCCESS:
    p->adapter = a;
    p->queued = 0;
    p->paused = 0;
    p->pause_reason[0] = '\0';
    p->attempts = 0;
    p->state = GW_PLATFORM_CONNECTED;
    gw_runner_log(r, GW_LOG_INFO, "platform %s connected (attempt %u)", p->cfg.name, attempt);
    break;

  case GW_OUTCOME_DROPPED:
    p->queued = 0;
    p->state = GW_PLATFORM_FATAL;
    gw_runner_log(r, GW_LOG_WARN, "platform %s: adapter could not be created (%s); dropped",
                  p->cfg.name, message);
    break;

  case GW_OUTCOME_FATAL:
    p->queued = 0;
    p->paused = 0;
    p->state = GW_PLATFORM_FATAL;
    gw_runner_log(r, GW_LOG_ERROR, "platform %s: non-retryable error %s: %s; not retried",
                  p->cfg.name, code, message);
#ifdef GW_REGRESS
    if (!startup && regress_drop(r, p, a, outcome))
      break;
#endif
    dispose(r, p, a, outcome, CONT_NONE);
    break;

  case GW_OUTCOME_RETRYABLE:
  case GW_OUTCOME_EXCEPTION:
    if (startup) {
      /* Upstream's startup path: disconnect (bounded by the disconnect
       * timeout), then queue with attempts = 1 and a first retry in 30 s. */
      p->state = GW_PLATFORM_CONNECTING;
      gw_runner_log(r, GW_LOG_WARN, "platform %s: first connect failed (%s: %s)", p->cfg.name, code,
                    message);
      dispose(r, p, a, outcome, CONT_QUEUE_STARTUP);
      break;
    }
    queue_entry(r, p, attempt, now + gw_backoff_ms(attempt));
    gw_runner_log(r, GW_LOG_WARN,
                  "platform %s: reconnect attempt %u failed (%s: %s); next in %llu s", p->cfg.name,
                  attempt, code, message, (unsigned long long)(gw_backoff_ms(attempt) / 1000));
#ifdef GW_REGRESS
    if (regress_drop(r, p, a, outcome))
      break;
#endif
    dispose(r, p, a, outcome, CONT_NONE);
    break;

  default:
    break;
  }
  emit(r, GW_EV_OUTCOME, p, outcome, err);
  if (outcome == GW_OUTCOME_FATAL || outcome == GW_OUTCOME_DROPPED)
    check_stop(r);
  runner_rearm(r);
}

static void fail_exception(gw_runner_t *r, platform_t *p, int err, const char *what) {
  char msg[GW_MSG_MAX];

  snprintf(msg, sizeof(msg), "%s: %s", what, uv_strerror(err));
  finish_attempt(r, p, GW_OUTCOME_EXCEPTION, err, uv_err_name(err), msg);
}

static void start_attempt(gw_runner_t *r, platform_t *p, int startup) {
  gw_adapter_t *a = NULL;
  char msg[GW_MSG_MAX];
  int rc;

  p->attempt_no = startup ? 1 : p->attempts + 1;
  p->attempt_startup = startup;
  p->attempts_total++;
  if (startup)
    p->state = GW_PLATFORM_CONNECTING;
  emit(r, GW_EV_ATTEMPT, p, GW_OUTCOME_SUCCESS, 0);
  gw_runner_log(r, GW_LOG_INFO, "platform %s: %s attempt %u", p->cfg.name,
                startup ? "connect" : "reconnect", p->attempt_no);

  rc = p->vt->create(r, &p->cfg, &a);
  if (rc != 0) {
    snprintf(msg, sizeof(msg), "create failed: %s", uv_strerror(rc));
    finish_attempt(r, p, GW_OUTCOME_DROPPED, rc, "create_failed", msg);
    return;
  }
  /* Bound before anything can fail, so every path below can dispose of it
   * (the fix's "adapter = None before the try"). */
  p->attempt = a;
  p->attempt_deadline = gw_clock_now(r->clock) + (uint64_t)(p->cfg.connect_timeout_s * 1000.0);

  rc = gw_adapter_open(a);
  if (rc != 0) {
    fail_exception(r, p, rc, "open");
    return;
  }
  rc = gw_adapter_connect(a, attempt_connect_cb);
  if (rc != 0) {
    fail_exception(r, p, rc, "connect");
    return;
  }
  runner_rearm(r);
}

static platform_t *platform_of_attempt(gw_runner_t *r, gw_adapter_t *a) {
  size_t i;

  for (i = 0; i < r->nplatforms; i++) {
    if (r->platforms[i].attempt == a)
      return &r->platforms[i];
  }
  return NULL;
}

static void attempt_connect_cb(gw_adapter_t *a, gw_connect_result_t result, int err) {
  gw_runner_t *r = a->runner;
  platform_t *p = platform_of_attempt(r, a);
  const gw_failure_t *f = gw_adapter_failure(a);
  char msg[GW_MSG_MAX];

  if (p == NULL)
    return; /* cannot happen: a disposed adapter never calls back */

  switch (result) {
  case GW_CONNECT_OK:
    finish_attempt(r, p, GW_OUTCOME_SUCCESS, 0, "", "");
    break;
  case GW_CONNECT_FAILED:
    /* Upstream: has_fatal_error && !retryable is fatal; any other failed
     * connect, with or without a fatal error set, is retryable. */
    if (f->has_error && !f->retryable)
      finish_attempt(r, p, GW_OUTCOME_FATAL, 0, f->code, f->message);
    else
      finish_attempt(r, p, GW_OUTCOME_RETRYABLE, 0, f->has_error ? f->code : "connect_failed",
                     f->has_error ? f->message : "connect returned failure");
    break;
  case GW_CONNECT_ERROR:
  default:
    snprintf(msg, sizeof(msg), "connect: %s", uv_strerror(err));
    finish_attempt(r, p, GW_OUTCOME_EXCEPTION, err, uv_err_name(err), msg);
    break;
  }
}

/* ------------------------------------------------------------------ */
/* Runtime errors of connected adapters                               */
/* ------------------------------------------------------------------ */

static int nothing_left(gw_runner_t *r) {
  size_t i;

  for (i = 0; i < r->nplatforms; i++) {
    const platform_t *p = &r->platforms[i];
    if (p->adapter != NULL || p->queued || p->attempt != NULL || p->queue_pending ||
        p->state == GW_PLATFORM_PENDING)
      return 0;
  }
  return 1;
}

/* Upstream's rule: with nothing connected and nothing queued the gateway
 * stops with failure.  Reported once; the owner decides what to do. */
static void check_stop(gw_runner_t *r) {
  if (r->failed || r->closing || !nothing_left(r))
    return;
  r->failed = 1;
  gw_runner_log(r, GW_LOG_ERROR, "no platform connected and none queued: gateway stops");
  emit(r, GW_EV_STOPPED, NULL, GW_OUTCOME_FATAL, 0);
}

static void host_adapter_fatal(gw__host_t *host, gw_adapter_t *a) {
  gw_runner_t *r = (gw_runner_t *)host;
  const gw_failure_t *f = gw_adapter_failure(a);
  platform_t *p = NULL;
  size_t i;

  for (i = 0; i < r->nplatforms; i++) {
    if (r->platforms[i].adapter == a)
      p = &r->platforms[i];
  }
  if (p == NULL || r->closing)
    return;
  p->adapter = NULL;
  set_last_error(p, f->code, f->message);
  p->attempt_no = 0;
  p->attempt_startup = 0;
  emit(r, GW_EV_RUNTIME_ERROR, p, f->retryable ? GW_OUTCOME_RETRYABLE : GW_OUTCOME_FATAL, 0);
  if (f->retryable) {
    /* Queued with attempts 0 and due now: retried without waiting. */
    queue_entry(r, p, 0, gw_clock_now(r->clock));
    gw_runner_log(r, GW_LOG_WARN, "platform %s: runtime error %s: %s; reconnecting", p->cfg.name,
                  f->code, f->message);
  } else {
    p->state = GW_PLATFORM_FATAL;
    gw_runner_log(r, GW_LOG_ERROR, "platform %s: runtime non-retryable error %s: %s", p->cfg.name,
                  f->code, f->message);
  }
  dispose(r, p, a, f->retryable ? GW_OUTCOME_RETRYABLE : GW_OUTCOME_FATAL, CONT_NONE);
  if (!f->retryable)
    check_stop(r);
  runner_rearm(r);
}

/* ------------------------------------------------------------------ */
/* The watcher: one clock deadline, the earliest of them all          */
/* ------------------------------------------------------------------ */

static void runner_tick_cb(gw_clock_t *clock);

static void runner_rearm(gw_runner_t *r) {
  uint64_t earliest = NEVER;
  dispose_t *d;
  size_t i;

  if (r->in_tick)
    return;
  for (i = 0; i < r->nplatforms; i++) {
    const platform_t *p = &r->platforms[i];
    if (p->attempt != NULL && p->attempt_deadline < earliest)
      earliest = p->attempt_deadline;
    if (p->attempt == NULL && p->queued && !p->paused && !r->closing && p->next_retry < earliest)
      earliest = p->next_retry;
  }
  for (d = r->disposals; d != NULL; d = d->next) {
    if (!d->timed_out && d->deadline < earliest)
      earliest = d->deadline;
  }
  if (earliest == NEVER)
    gw_clock_disarm(r->clock);
  else
    gw_clock_arm(r->clock, earliest, runner_tick_cb, r);
}

static void runner_tick_cb(gw_clock_t *clock) {
  gw_runner_t *r = gw_clock_cb_data(clock);
  uint64_t now = gw_clock_now(clock);
  dispose_t *d, *next;
  size_t i;

  r->in_tick = 1;

  /* Connect timeouts: upstream raises, i.e. the exception path. */
  for (i = 0; i < r->nplatforms; i++) {
    platform_t *p = &r->platforms[i];
    if (p->attempt != NULL && p->attempt_deadline <= now) {
      gw_runner_log(r, GW_LOG_WARN, "platform %s: connect timed out after %.0f s", p->cfg.name,
                    p->cfg.connect_timeout_s);
      fail_exception(r, p, UV_ETIMEDOUT, "connect timeout");
    }
  }

  /* Disconnects that overran their timeout: stop waiting, carry on. */
  for (d = r->disposals; d != NULL; d = next) {
    next = d->next;
    if (!d->timed_out && d->deadline <= now) {
      d->timed_out = 1;
      r->ndisposing--;
      gw_runner_log(r, GW_LOG_WARN, "platform %s: disconnect timed out after %.0f s; continuing",
                    d->p->cfg.name, d->p->cfg.disconnect_timeout_s);
      run_continuation(r, d);
    }
  }

  /* Due retry entries.  Paused entries and those not yet due are skipped. */
  if (!r->closing) {
    for (i = 0; i < r->nplatforms; i++) {
      platform_t *p = &r->platforms[i];
      if (p->queued && !p->paused && p->attempt == NULL && p->next_retry <= now)
        start_attempt(r, p, 0);
    }
  }

  r->in_tick = 0;
  runner_rearm(r);
  runner_maybe_finish_close(r);
}

/* ------------------------------------------------------------------ */
/* Public API                                                         */
/* ------------------------------------------------------------------ */

int gw_runner_init(uv_loop_t *loop, gw_clock_t *clock, const gw_runner_options_t *opts,
                   gw_runner_t **out) {
  gw_runner_t *r;
  int rc;

  if (loop == NULL || clock == NULL || out == NULL)
    return UV_EINVAL;
  r = calloc(1, sizeof(*r));
  if (r == NULL)
    return UV_ENOMEM;
  r->host.loop = loop;
  r->host.log = host_log;
  r->host.adapter_fatal = host_adapter_fatal;
  r->clock = clock;
  if (opts != NULL)
    r->opts = *opts;
  else
    r->opts.log_level = GW_LOG_WARN;
  rc = uv_timer_init(loop, &r->defer);
  if (rc != 0) {
    free(r);
    return rc;
  }
  r->defer.data = r;
  *out = r;
  return 0;
}

int gw_runner_register_kind(gw_runner_t *r, const gw_adapter_vtable_t *vt) {
  if (vt == NULL || vt->kind == NULL || vt->create == NULL || vt->open == NULL ||
      vt->connect == NULL || vt->disconnect == NULL || vt->destroy == NULL)
    return UV_EINVAL;
  if (find_kind(r, vt->kind) != NULL)
    return UV_EEXIST;
  if (r->nkinds == GW_RUNNER_MAX_KINDS)
    return UV_ENOSPC;
  r->kinds[r->nkinds++] = vt;
  return 0;
}

int gw_runner_add_platform(gw_runner_t *r, const gw_platform_config_t *cfg, char *err,
                           size_t errlen) {
  const gw_adapter_vtable_t *vt;
  platform_t *p;
  int rc;
  char scratch[8];

  if (err == NULL) {
    err = scratch;
    errlen = sizeof(scratch);
  }
  rc = gw__config_validate_common(cfg, err, errlen);
  if (rc != 0)
    return rc;
  vt = find_kind(r, cfg->kind);
  if (vt == NULL) {
    snprintf(err, errlen, "platform '%s': field 'kind': unknown kind '%s'", cfg->name, cfg->kind);
    return GW_ECONFIG;
  }
  if (vt->validate != NULL && (rc = vt->validate(cfg, err, errlen)) != 0)
    return rc;
  if (find_platform(r, cfg->name) != NULL) {
    snprintf(err, errlen, "platform '%s': field 'name': duplicate platform name", cfg->name);
    return GW_ECONFIG;
  }
  if (r->nplatforms == GW_RUNNER_MAX_PLATFORMS) {
    snprintf(err, errlen, "platform '%s': more than %d platforms", cfg->name,
             GW_RUNNER_MAX_PLATFORMS);
    return GW_ECONFIG;
  }
  p = &r->platforms[r->nplatforms++];
  memset(p, 0, sizeof(*p));
  p->cfg = *cfg;
  gw_platform_config_defaults(&p->cfg);
  p->vt = vt;
  p->state = GW_PLATFORM_PENDING;
  return 0;
}

int gw_runner_start(gw_runner_t *r) {
  size_t i;

  if (r->started || r->closing)
    return UV_EALREADY;
  r->started = 1;
  r->in_tick = 1;
  for (i = 0; i < r->nplatforms; i++)
    start_attempt(r, &r->platforms[i], 1);
  r->in_tick = 0;
  runner_rearm(r);
  return 0;
}

int gw_runner_pause(gw_runner_t *r, const char *name, const char *reason) {
  platform_t *p = find_platform(r, name);

  if (p == NULL)
    return UV_ENOENT;
  if (!p->queued)
    return UV_EINVAL; /* only entries in the retry queue can be paused */
  if (!p->paused) {
    /* A second pause keeps the first reason, as upstream does. */
    p->paused = 1;
    gw__strlcpy(p->pause_reason, reason != NULL ? reason : "paused by operator",
                sizeof(p->pause_reason));
  }
  p->next_retry = NEVER;
  p->state = GW_PLATFORM_PAUSED;
  gw_runner_log(r, GW_LOG_INFO, "platform %s paused: %s", name, p->pause_reason);
  runner_rearm(r);
  return 0;
}

int gw_runner_resume(gw_runner_t *r, const char *name) {
  platform_t *p = find_platform(r, name);

  if (p == NULL)
    return UV_ENOENT;
  if (!p->queued)
    return UV_EINVAL;
  if (!p->paused)
    return UV_EALREADY;
  p->paused = 0;
  p->pause_reason[0] = '\0';
  p->attempts = 0;
  p->next_retry = gw_clock_now(r->clock);
  p->state = GW_PLATFORM_RETRYING;
  gw_runner_log(r, GW_LOG_INFO, "platform %s resumed", name);
  runner_rearm(r);
  return 0;
}

int gw_runner_retry(gw_runner_t *r, const char *name) {
  platform_t *p = find_platform(r, name);

  if (p == NULL)
    return UV_ENOENT;
  if (r->closing || p->queued || p->adapter != NULL || p->attempt != NULL ||
      p->state == GW_PLATFORM_PENDING || p->state == GW_PLATFORM_CONNECTING)
    return UV_EINVAL;
  queue_entry(r, p, 0, gw_clock_now(r->clock));
  gw_runner_log(r, GW_LOG_INFO, "platform %s queued for retry by operator", name);
  runner_rearm(r);
  return 0;
}

static void fill_status(const platform_t *p, gw_platform_status_t *out) {
  memset(out, 0, sizeof(*out));
  gw__strlcpy(out->name, p->cfg.name, sizeof(out->name));
  gw__strlcpy(out->kind, p->cfg.kind, sizeof(out->kind));
  out->state = p->state;
  out->queued = p->queued;
  out->paused = p->paused;
  gw__strlcpy(out->pause_reason, p->pause_reason, sizeof(out->pause_reason));
  out->attempts = p->attempts;
  out->in_flight = p->attempt != NULL;
  out->has_next_retry = p->queued && !p->paused;
  out->next_retry = out->has_next_retry ? p->next_retry : 0;
  gw__strlcpy(out->last_error_code, p->last_code, sizeof(out->last_error_code));
  gw__strlcpy(out->last_error_message, p->last_message, sizeof(out->last_error_message));
  memcpy(out->outcomes, p->outcomes, sizeof(out->outcomes));
  out->attempts_total = p->attempts_total;
}

int gw_runner_status(gw_runner_t *r, const char *name, gw_platform_status_t *out) {
  platform_t *p = find_platform(r, name);

  if (p == NULL)
    return UV_ENOENT;
  fill_status(p, out);
  return 0;
}

int gw_runner_status_at(gw_runner_t *r, size_t i, gw_platform_status_t *out) {
  if (i >= r->nplatforms)
    return UV_ENOENT;
  fill_status(&r->platforms[i], out);
  return 0;
}

size_t gw_runner_platform_count(const gw_runner_t *r) { return r->nplatforms; }

gw_adapter_t *gw_runner_adapter(gw_runner_t *r, const char *name) {
  platform_t *p = find_platform(r, name);
  return p != NULL ? p->adapter : NULL;
}

gw_clock_t *gw_runner_clock(gw_runner_t *r) { return r->clock; }
uv_loop_t *gw_runner_loop(gw_runner_t *r) { return r->host.loop; }
int gw_runner_failed(const gw_runner_t *r) { return r->failed; }
unsigned gw_runner_disposing(const gw_runner_t *r) { return r->ndisposing; }
void *gw_runner_data(const gw_runner_t *r) { return r->opts.data; }

static void runner_freed_cb(uv_handle_t *h) {
  gw_runner_t *r = h->data;
  gw_runner_close_cb cb = r->close_cb;
  dispose_t *d;

  /* Disconnects that overran their timeout finish on their own later. */
  for (d = r->disposals; d != NULL; d = d->next)
    d->r = NULL;
  /* The callback sees the runner for identity (and its data) one last time. */
  if (cb != NULL)
    cb(r);
  free(r);
}

static void runner_maybe_finish_close(gw_runner_t *r) {
  if (!r->closing || r->ndisposing > 0 || uv_is_closing((uv_handle_t *)&r->defer))
    return;
  gw_clock_disarm(r->clock);
  uv_close((uv_handle_t *)&r->defer, runner_freed_cb);
}

void gw_runner_close(gw_runner_t *r, gw_runner_close_cb cb) {
  size_t i;

  if (r == NULL || r->closing)
    return;
  r->closing = 1;
  r->close_cb = cb;
  r->in_tick = 1;
  for (i = 0; i < r->nplatforms; i++) {
    platform_t *p = &r->platforms[i];
    gw_adapter_t *a;
    if ((a = p->attempt) != NULL) {
      p->attempt = NULL;
      dispose(r, p, a, GW_OUTCOME_EXCEPTION, CONT_NONE);
    }
    if ((a = p->adapter) != NULL) {
      p->adapter = NULL;
      dispose(r, p, a, GW_OUTCOME_SUCCESS, CONT_NONE);
    }
    p->queued = 0;
    p->state = GW_PLATFORM_STOPPED;
  }
  r->in_tick = 0;
  runner_rearm(r);
  runner_maybe_finish_close(r);
}
