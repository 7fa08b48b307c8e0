/* runner.c - the gateway runner and its reconnect watcher.
 *
 * This is the C model of the upstream gateway's startup and reconnect code,
 * with the fix: every failure path disposes of the adapter it created.
 * This file is the runner's public API and the watcher's tick; the
 * attempts (attempt.c), the disposals (dispose.c) and the one clock
 * deadline (runner_base.c) are below it (runner_base.h).
 */
#include "runner_base.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const gw_adapter_vtable_t *find_kind(gw_runner_t *r, const char *kind) {
  size_t i;

  for (i = 0; i < r->nkinds; i++) {
    if (strcmp(r->kinds[i]->kind, kind) == 0)
      return r->kinds[i];
  }
  return NULL;
}

/* The watcher: the earliest deadline came due. */
static void runner_tick_cb(gw_clock_t *clock) {
  gw_runner_t *r = gw_clock_cb_data(clock);
  uint64_t now = gw_clock_now(clock);
  gw__dispose_t *d, *next;
  size_t i;

  r->in_tick = 1;

  /* Connect timeouts: upstream raises, i.e. the exception path. */
  for (i = 0; i < r->nplatforms; i++) {
    gw__platform_t *p = &r->platforms[i];
    if (p->attempt != NULL && p->attempt_deadline <= now) {
      gw_runner_log(r, GW_LOG_WARN, "platform %s: connect timed out after %.0f s", p->cfg.name,
                    p->cfg.connect_timeout_s);
      gw__attempt_fail(r, p, UV_ETIMEDOUT, "connect timeout");
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
      gw__dispose_continue(r, d);
    }
  }

  /* Due retry entries.  Paused entries and those not yet due are skipped. */
  if (!r->closing) {
    for (i = 0; i < r->nplatforms; i++) {
      gw__platform_t *p = &r->platforms[i];
      if (p->queued && !p->paused && p->attempt == NULL && p->next_retry <= now)
        gw__attempt_start(r, p, 0);
    }
  }

  r->in_tick = 0;
  gw__runner_rearm(r);
  gw__runner_maybe_finish_close(r);
}

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
  r->host.log = gw__runner_host_log;
  r->host.adapter_fatal = gw__runner_adapter_fatal;
  r->tick = runner_tick_cb;
  r->clock = clock;
  if (opts != NULL)
    r->opts = *opts;
  else
    r->opts.log_level = GW_LOG_WARN;
  r->host.log_level = r->opts.log_level;
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
  gw__platform_t *p;
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
  if (gw__runner_find_platform(r, cfg->name) != NULL) {
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
    gw__attempt_start(r, &r->platforms[i], 1);
  r->in_tick = 0;
  gw__runner_rearm(r);
  return 0;
}

int gw_runner_pause(gw_runner_t *r, const char *name, const char *reason) {
  gw__platform_t *p = gw__runner_find_platform(r, name);

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
  p->next_retry = GW_NEVER;
  p->state = GW_PLATFORM_PAUSED;
  gw_runner_log(r, GW_LOG_INFO, "platform %s paused: %s", name, p->pause_reason);
  gw__runner_rearm(r);
  return 0;
}

int gw_runner_resume(gw_runner_t *r, const char *name) {
  gw__platform_t *p = gw__runner_find_platform(r, name);

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
  gw__runner_rearm(r);
  return 0;
}

int gw_runner_retry(gw_runner_t *r, const char *name) {
  gw__platform_t *p = gw__runner_find_platform(r, name);

  if (p == NULL)
    return UV_ENOENT;
  if (r->closing || p->queued || p->adapter != NULL || p->attempt != NULL ||
      p->state == GW_PLATFORM_PENDING || p->state == GW_PLATFORM_CONNECTING)
    return UV_EINVAL;
  gw__platform_queue(r, p, 0, gw_clock_now(r->clock));
  gw_runner_log(r, GW_LOG_INFO, "platform %s queued for retry by operator", name);
  gw__runner_rearm(r);
  return 0;
}

static void fill_status(const gw__platform_t *p, gw_platform_status_t *out) {
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
  gw__platform_t *p = gw__runner_find_platform(r, name);

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
  gw__platform_t *p = gw__runner_find_platform(r, name);
  return p != NULL ? p->adapter : NULL;
}

gw_clock_t *gw_runner_clock(gw_runner_t *r) { return r->clock; }
uv_loop_t *gw_runner_loop(gw_runner_t *r) { return r->host.loop; }
int gw_runner_failed(const gw_runner_t *r) { return r->failed; }
unsigned gw_runner_disposing(const gw_runner_t *r) { return r->ndisposing; }
void *gw_runner_data(const gw_runner_t *r) { return r->opts.data; }

void gw_runner_close(gw_runner_t *r, gw_runner_close_cb cb) {
  size_t i;

  if (r == NULL || r->closing)
    return;
  r->closing = 1;
  r->close_cb = cb;
  r->in_tick = 1;
  for (i = 0; i < r->nplatforms; i++) {
    gw__platform_t *p = &r->platforms[i];
    gw_adapter_t *a;
    if ((a = p->attempt) != NULL) {
      p->attempt = NULL;
      gw__dispose(r, p, a, GW_OUTCOME_EXCEPTION, GW_CONT_NONE);
    }
    if ((a = p->adapter) != NULL) {
      p->adapter = NULL;
      gw__dispose(r, p, a, GW_OUTCOME_SUCCESS, GW_CONT_NONE);
    }
    p->queued = 0;
    p->state = GW_PLATFORM_STOPPED;
  }
  r->in_tick = 0;
  gw__runner_rearm(r);
  gw__runner_maybe_finish_close(r);
}
