/* adapter.c - the adapter base: state, failure, and disconnect bookkeeping.
 *
 * Disconnect completes when every handle the adapter closed has run its
 * close callback.  The base closes one handle of its own (a timer that was
 * never started) last, so the callback is asynchronous even for an adapter
 * that owned no handle: callers never see it run inside their own call.
 */
#include "internal.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void gw_adapter_init_base(gw_adapter_t *a, const gw_adapter_vtable_t *vt, gw_runner_t *r,
                          const gw_platform_config_t *cfg) {
  memset(a, 0, sizeof(*a));
  a->vt = vt;
  a->runner = r;
  /* A runner begins with its host interface (internal.h). */
  a->loop = r != NULL ? ((gw__host_t *)r)->loop : NULL;
  if (cfg != NULL)
    a->cfg = *cfg;
  a->state = GW_ADAPTER_CREATED;
  a->failure.retryable = 1;
}

const char *gw_adapter_name(const gw_adapter_t *a) { return a->cfg.name; }
const char *gw_adapter_kind(const gw_adapter_t *a) { return a->vt->kind; }
gw_adapter_state_t gw_adapter_state(const gw_adapter_t *a) { return a->state; }
const gw_failure_t *gw_adapter_failure(const gw_adapter_t *a) { return &a->failure; }

void gw_adapter_set_failure(gw_adapter_t *a, int retryable, const char *code, const char *fmt,
                            ...) {
  va_list ap;

  a->failure.has_error = 1;
  a->failure.retryable = retryable != 0;
  gw__strlcpy(a->failure.code, code, sizeof(a->failure.code));
  va_start(ap, fmt);
  vsnprintf(a->failure.message, sizeof(a->failure.message), fmt, ap);
  va_end(ap);
}

void gw_adapter_clear_failure(gw_adapter_t *a) {
  memset(&a->failure, 0, sizeof(a->failure));
  a->failure.retryable = 1;
}

int gw_adapter_open(gw_adapter_t *a) {
  int rc;

  if (a == NULL || a->state != GW_ADAPTER_CREATED || a->open_called)
    return UV_EINVAL;
  /* From here on the adapter may hold fds, whatever open returns. */
  a->open_called = 1;
  rc = a->vt->open(a);
  if (rc == 0)
    a->state = GW_ADAPTER_OPEN;
  return rc;
}

int gw_adapter_connect(gw_adapter_t *a, gw_adapter_connect_cb cb) {
  int rc;

  if (a == NULL || cb == NULL)
    return UV_EINVAL;
  if (a->state != GW_ADAPTER_OPEN)
    return UV_EINVAL;
  a->connect_cb = cb;
  a->state = GW_ADAPTER_CONNECTING;
  rc = a->vt->connect(a);
  if (rc != 0 && a->state == GW_ADAPTER_CONNECTING)
    a->state = GW_ADAPTER_OPEN; /* no callback follows a synchronous error */
  return rc;
}

void gw_adapter_connect_done(gw_adapter_t *a, gw_connect_result_t result, int err) {
  gw_adapter_connect_cb cb = a->connect_cb;

  /* Once disconnect began the owner has given up on this connect. */
  if (a->state != GW_ADAPTER_CONNECTING)
    return;
  a->state = result == GW_CONNECT_OK ? GW_ADAPTER_CONNECTED : GW_ADAPTER_OPEN;
  a->connect_cb = NULL;
  if (result == GW_CONNECT_OK)
    gw_adapter_clear_failure(a);
  if (cb != NULL)
    cb(a, result, err);
}

static void adapter_release_one(gw_adapter_t *a) {
  gw_adapter_disconnect_cb cb;

  assert(a->pending_close > 0);
  if (--a->pending_close != 0)
    return;
  a->state = GW_ADAPTER_CLOSED;
  cb = a->disconnect_cb;
  a->disconnect_cb = NULL;
  if (cb != NULL)
    cb(a, a->disconnect_status);
}

static void adapter_handle_closed_cb(uv_handle_t *h) { adapter_release_one(h->data); }

void gw_adapter_close_handle(gw_adapter_t *a, uv_handle_t *h) {
  if (h == NULL || uv_is_closing(h))
    return;
  a->pending_close++;
  h->data = a;
  uv_close(h, adapter_handle_closed_cb);
}

void gw_adapter_hold(gw_adapter_t *a) { a->pending_close++; }
void gw_adapter_release(gw_adapter_t *a) { adapter_release_one(a); }

void gw_adapter_disconnect_finish(gw_adapter_t *a, int status) {
  if (status != 0 && a->disconnect_status == 0)
    a->disconnect_status = status;
}

int gw_adapter_disconnect(gw_adapter_t *a, gw_adapter_disconnect_cb cb) {
  int rc;

  if (a == NULL)
    return 0; /* disposing of an adapter that was never created is a no-op */
  a->disconnect_calls++;
  if (a->state == GW_ADAPTER_DISCONNECTING || a->state == GW_ADAPTER_CLOSED)
    return UV_EALREADY;
  a->state = GW_ADAPTER_DISCONNECTING;
  a->disconnect_cb = cb;
  a->connect_cb = NULL;
  /* Count the base's own handle first so no close callback of the adapter's
   * can bring the count to zero before every close has been started. */
  a->pending_close++;
  rc = a->vt->disconnect(a);
  gw_adapter_disconnect_finish(a, rc);
  uv_timer_init(a->loop, &a->done);
  a->done.data = a;
  uv_close((uv_handle_t *)&a->done, adapter_handle_closed_cb);
  return 0;
}

void gw_adapter_destroy(gw_adapter_t *a) {
  static const char *const states[] = {"created",   "open",          "connecting",
                                       "connected", "disconnecting", "closed"};

  if (a == NULL)
    return;
  /* The fix's rule: an adapter that was opened is disconnected before it
   * goes, on every path.  Freeing it earlier forgets its fds (the original
   * bug), and no adapter's destroy papers over that by closing things
   * itself, so a caller that breaks the rule is stopped here, loudly, in
   * release builds too: one comparison per adapter's life. */
  if (a->open_called && a->state != GW_ADAPTER_CLOSED) {
    fprintf(stderr,
            "gw: adapter '%s' (%s) destroyed while %s, before its disconnect completed: "
            "its fds would leak\n",
            a->cfg.name, a->vt->kind,
            (unsigned)a->state < GW_ARRAY_SIZE(states) ? states[a->state] : "in an unknown state");
    abort();
  }
  if (a->vt->destroy != NULL)
    a->vt->destroy(a);
}

void gw_adapter_report_fatal(gw_adapter_t *a) {
  gw__host_t *host = (gw__host_t *)a->runner;

  if (host != NULL)
    host->adapter_fatal(host, a);
}

void gw_adapter_log(gw_adapter_t *a, gw_log_level_t level, const char *fmt, ...) {
  gw__host_t *host = (gw__host_t *)a->runner;
  char msg[512];
  va_list ap;
  int n;

  if (host == NULL || level < host->log_level)
    return;
  /* Every adapter's line names its platform the same way, so an operator
   * greps one prefix whatever the kind. */
  n = snprintf(msg, sizeof(msg), "platform %s: ", a->cfg.name);
  if (n < 0 || (size_t)n >= sizeof(msg))
    n = 0;
  va_start(ap, fmt);
  vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
  va_end(ap);
  host->log(host, level, msg);
}
