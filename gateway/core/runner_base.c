/* runner_base.c - the bottom of the runner: its log, its events, finding a
 * platform, a retry-queue entry, and the one clock deadline every part of
 * the runner re-arms when one of its deadlines changes.
 *
 * Scheduling: the runner keeps every deadline it cares about (retry entries,
 * connect timeouts of attempts in flight, disconnect timeouts of disposals)
 * and arms the clock at the earliest one, re-arming whenever one changes.
 * Nothing polls, and the same code runs on real and on virtual time.
 */
#include "runner_base.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

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

  if (level < r->opts.log_level)
    return;
  if (r->opts.log != NULL)
    r->opts.log(r->opts.data, level, msg);
  else
    fprintf(stderr, "gw %s: %s\n", lv[level], msg);
}

void gw_runner_log(gw_runner_t *r, gw_log_level_t level, const char *fmt, ...) {
  char msg[512];
  va_list ap;

  /* Below the level nothing is formatted, callback or not: a soak makes
   * thousands of attempts a second and wants none of their lines. */
  if (level < r->opts.log_level)
    return;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  runner_log_line(r, level, msg);
}

void gw__runner_host_log(gw__host_t *host, gw_log_level_t level, const char *msg) {
  runner_log_line((gw_runner_t *)host, level, msg);
}

void gw__runner_emit(gw_runner_t *r, gw_event_type_t type, gw__platform_t *p, gw_outcome_t outcome,
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

gw__platform_t *gw__runner_find_platform(gw_runner_t *r, const char *name) {
  size_t i;

  for (i = 0; i < r->nplatforms; i++) {
    if (strcmp(r->platforms[i].cfg.name, name) == 0)
      return &r->platforms[i];
  }
  return NULL;
}

void gw__platform_queue(gw_runner_t *r, gw__platform_t *p, unsigned attempts, uint64_t next_retry) {
  p->queued = 1;
  p->attempts = attempts;
  if (!p->paused)
    p->next_retry = next_retry;
  p->state = p->paused ? GW_PLATFORM_PAUSED : GW_PLATFORM_RETRYING;
}

void gw__runner_rearm(gw_runner_t *r) {
  uint64_t earliest = GW_NEVER;
  gw__dispose_t *d;
  size_t i;

  if (r->in_tick)
    return;
  for (i = 0; i < r->nplatforms; i++) {
    const gw__platform_t *p = &r->platforms[i];
    if (p->attempt != NULL && p->attempt_deadline < earliest)
      earliest = p->attempt_deadline;
    if (p->attempt == NULL && p->queued && !p->paused && !r->closing && p->next_retry < earliest)
      earliest = p->next_retry;
  }
  for (d = r->disposals; d != NULL; d = d->next) {
    if (!d->timed_out && d->deadline < earliest)
      earliest = d->deadline;
  }
  if (earliest == GW_NEVER)
    gw_clock_disarm(r->clock);
  else
    gw_clock_arm(r->clock, earliest, r->tick, r);
}
