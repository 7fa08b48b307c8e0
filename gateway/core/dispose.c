/* dispose.c - disposal: disconnect a failed or stopped adapter, swallow and
 * log its error, wait for it (bounded by the platform's disconnect timeout),
 * then destroy it; and the end of gw_runner_close, which waits for every
 * disposal.  The fix of the original leak lives here: every failure path
 * ends in gw__dispose. */
#include "runner_base.h"

#include <stdlib.h>
#include <string.h>

static void dispose_unlink(gw_runner_t *r, gw__dispose_t *d) {
  gw__dispose_t **pp;

  for (pp = &r->disposals; *pp != NULL; pp = &(*pp)->next) {
    if (*pp == d) {
      *pp = d->next;
      return;
    }
  }
}

/* What the startup path does once its failed adapter is gone (or its
 * disconnect timed out): queue as upstream does, first retry in 30 s. */
void gw__dispose_continue(gw_runner_t *r, gw__dispose_t *d) {
  if (d->cont != GW_CONT_QUEUE_STARTUP || r->closing)
    return;
  d->cont = GW_CONT_NONE;
  d->p->queue_pending = 0;
  gw__platform_queue(r, d->p, 1, gw_clock_now(r->clock) + gw_backoff_ms(1));
  gw_runner_log(r, GW_LOG_INFO, "platform %s queued for reconnect in %llu s", d->p->cfg.name,
                (unsigned long long)(gw_backoff_ms(1) / 1000));
  gw__runner_rearm(r);
}

static void dispose_done_cb(gw_adapter_t *a, int status) {
  gw__dispose_t *d = a->data;
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
    gw__dispose_continue(r, d);
  }
  gw__runner_emit(r, GW_EV_DISPOSED, d->p, d->outcome, status);
  gw_adapter_destroy(a);
  free(d);
  gw__runner_rearm(r);
  gw__runner_maybe_finish_close(r);
}

void gw__dispose(gw_runner_t *r, gw__platform_t *p, gw_adapter_t *a, gw_outcome_t outcome,
                 gw__cont_t cont) {
  gw__dispose_t *d;
  int rc;

  if (a == NULL) {
    /* Nothing was created: nothing to release, but the path goes on. */
    if (cont != GW_CONT_NONE) {
      gw__dispose_t tmp;
      memset(&tmp, 0, sizeof(tmp));
      tmp.r = r;
      tmp.p = p;
      tmp.cont = cont;
      gw__dispose_continue(r, &tmp);
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
  if (cont == GW_CONT_QUEUE_STARTUP)
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
    gw__dispose_continue(r, d);
    free(d);
  }
  gw__runner_rearm(r);
}

static void runner_freed_cb(uv_handle_t *h) {
  gw_runner_t *r = h->data;
  gw_runner_close_cb cb = r->close_cb;
  gw__dispose_t *d;

  /* Disconnects that overran their timeout finish on their own later. */
  for (d = r->disposals; d != NULL; d = d->next)
    d->r = NULL;
  /* The callback sees the runner for identity (and its data) one last time. */
  if (cb != NULL)
    cb(r);
  free(r);
}

void gw__runner_maybe_finish_close(gw_runner_t *r) {
  if (!r->closing || r->ndisposing > 0 || uv_is_closing((uv_handle_t *)&r->defer))
    return;
  gw_clock_disarm(r->clock);
  uv_close((uv_handle_t *)&r->defer, runner_freed_cb);
}
