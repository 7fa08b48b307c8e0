/* attempt.c - one connect attempt from create to outcome, and the runtime
 * errors of connected adapters: which of upstream's paths each takes
 * (success, fatal, retryable, exception, dropped), the retry-queue entry it
 * leaves, and the disposal every failure path ends in. */
#include "runner_base.h"

#include <stdio.h>
#include <string.h>

static void attempt_connect_cb(gw_adapter_t *a, gw_connect_result_t result, int err);
static void check_stop(gw_runner_t *r);

static void set_last_error(gw__platform_t *p, const char *code, const char *message) {
  gw__strlcpy(p->last_code, code, sizeof(p->last_code));
  gw__strlcpy(p->last_message, message, sizeof(p->last_message));
}

#ifdef GW_REGRESS
/* The pre-fix reconnect loop: on the chosen path the adapter is simply
 * forgotten, its fds and handles with it. */
static int regress_drop(gw_runner_t *r, gw__platform_t *p, gw_adapter_t *a, gw_outcome_t outcome) {
  if (a == NULL || !gw__regress_drops(outcome))
    return 0;
  gw_runner_log(r, GW_LOG_DEBUG, "platform %s: regress: %s path drops its adapter undisposed",
                p->cfg.name, gw_outcome_name(outcome));
  return 1;
}
#endif

static void finish_attempt(gw_runner_t *r, gw__platform_t *p, gw_outcome_t outcome, int err,
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
    gw__dispose(r, p, a, outcome, GW_CONT_NONE);
    break;

  case GW_OUTCOME_RETRYABLE:
  case GW_OUTCOME_EXCEPTION:
    if (startup) {
      /* Upstream's startup path: disconnect (bounded by the disconnect
       * timeout), then queue with attempts = 1 and a first retry in 30 s. */
      p->state = GW_PLATFORM_CONNECTING;
      gw_runner_log(r, GW_LOG_WARN, "platform %s: first connect failed (%s: %s)", p->cfg.name, code,
                    message);
      gw__dispose(r, p, a, outcome, GW_CONT_QUEUE_STARTUP);
      break;
    }
    gw__platform_queue(r, p, attempt, now + gw_backoff_ms(attempt));
    gw_runner_log(r, GW_LOG_WARN,
                  "platform %s: reconnect attempt %u failed (%s: %s); next in %llu s", p->cfg.name,
                  attempt, code, message, (unsigned long long)(gw_backoff_ms(attempt) / 1000));
#ifdef GW_REGRESS
    if (regress_drop(r, p, a, outcome))
      break;
#endif
    gw__dispose(r, p, a, outcome, GW_CONT_NONE);
    break;

  default:
    break;
  }
  gw__runner_emit(r, GW_EV_OUTCOME, p, outcome, err);
  if (outcome == GW_OUTCOME_FATAL || outcome == GW_OUTCOME_DROPPED)
    check_stop(r);
  gw__runner_rearm(r);
}

void gw__attempt_fail(gw_runner_t *r, gw__platform_t *p, int err, const char *what) {
  char msg[GW_MSG_MAX];

  snprintf(msg, sizeof(msg), "%s: %s", what, uv_strerror(err));
  finish_attempt(r, p, GW_OUTCOME_EXCEPTION, err, uv_err_name(err), msg);
}

void gw__attempt_start(gw_runner_t *r, gw__platform_t *p, int startup) {
  gw_adapter_t *a = NULL;
  char msg[GW_MSG_MAX];
  int rc;

  p->attempt_no = startup ? 1 : p->attempts + 1;
  p->attempt_startup = startup;
  p->attempts_total++;
  if (startup)
    p->state = GW_PLATFORM_CONNECTING;
  gw__runner_emit(r, GW_EV_ATTEMPT, p, GW_OUTCOME_SUCCESS, 0);
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
    gw__attempt_fail(r, p, rc, "open");
    return;
  }
  rc = gw_adapter_connect(a, attempt_connect_cb);
  if (rc != 0) {
    gw__attempt_fail(r, p, rc, "connect");
    return;
  }
  gw__runner_rearm(r);
}

static gw__platform_t *platform_of_attempt(gw_runner_t *r, gw_adapter_t *a) {
  size_t i;

  for (i = 0; i < r->nplatforms; i++) {
    if (r->platforms[i].attempt == a)
      return &r->platforms[i];
  }
  return NULL;
}

static void attempt_connect_cb(gw_adapter_t *a, gw_connect_result_t result, int err) {
  gw_runner_t *r = a->runner;
  gw__platform_t *p = platform_of_attempt(r, a);
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

static int nothing_left(gw_runner_t *r) {
  size_t i;

  for (i = 0; i < r->nplatforms; i++) {
    const gw__platform_t *p = &r->platforms[i];
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
  gw__runner_emit(r, GW_EV_STOPPED, NULL, GW_OUTCOME_FATAL, 0);
}

void gw__runner_adapter_fatal(gw__host_t *host, gw_adapter_t *a) {
  gw_runner_t *r = (gw_runner_t *)host;
  const gw_failure_t *f = gw_adapter_failure(a);
  gw__platform_t *p = NULL;
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
  gw__runner_emit(r, GW_EV_RUNTIME_ERROR, p, f->retryable ? GW_OUTCOME_RETRYABLE : GW_OUTCOME_FATAL,
                  0);
  if (f->retryable) {
    /* Queued with attempts 0 and due now: retried without waiting. */
    gw__platform_queue(r, p, 0, gw_clock_now(r->clock));
    gw_runner_log(r, GW_LOG_WARN, "platform %s: runtime error %s: %s; reconnecting", p->cfg.name,
                  f->code, f->message);
  } else {
    p->state = GW_PLATFORM_FATAL;
    gw_runner_log(r, GW_LOG_ERROR, "platform %s: runtime non-retryable error %s: %s", p->cfg.name,
                  f->code, f->message);
  }
  gw__dispose(r, p, a, f->retryable ? GW_OUTCOME_RETRYABLE : GW_OUTCOME_FATAL, GW_CONT_NONE);
  if (!f->retryable)
    check_stop(r);
  gw__runner_rearm(r);
}
