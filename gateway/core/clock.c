/* clock.c - the one-deadline clock the runner schedules on.
 *
 * Real: the deadline is a uv timer against uv_now().
 * Virtual: "now" only moves when the loop owner jumps it, so a 26-hour retry
 * schedule costs only its I/O.  Deadlines already due still fire from the
 * loop (through a zero-delay timer), never from inside gw_clock_jump(), so
 * callbacks always run with the same stack shape in both modes.
 */
#include "internal.h"

#include <assert.h>
#include <string.h>

static void clock_timer_cb(uv_timer_t *t) {
  gw_clock_t *c = t->data;
  gw_clock_cb cb = c->cb;

  if (!c->armed || c->closing)
    return;
  if (c->kind == GW_CLOCK_VIRTUAL && c->deadline > c->vnow)
    return; /* re-armed into the future since this was queued */
  c->armed = 0;
  c->cb = NULL;
  if (cb != NULL)
    cb(c);
}

static void clock_guard_cb(uv_timer_t *t) {
  gw_clock_t *c = t->data;
  c->guard_fired = 1;
  /* The guard may come due in the timers phase of the very turn it bounds
   * (a slow step just before); without a stop the poll phase would then
   * block with no timeout while a listener keeps the loop alive. */
  uv_stop(c->loop);
}

int gw_clock_init(uv_loop_t *loop, gw_clock_t *c, gw_clock_kind_t kind) {
  int rc;

  if (loop == NULL || c == NULL || (kind != GW_CLOCK_REAL && kind != GW_CLOCK_VIRTUAL))
    return UV_EINVAL;
  memset(c, 0, sizeof(*c));
  c->loop = loop;
  c->kind = kind;
  rc = uv_timer_init(loop, &c->timer);
  if (rc != 0)
    return rc;
  c->timer.data = c;
  rc = uv_timer_init(loop, &c->guard);
  if (rc != 0) {
    /* The timer is initialised; it must still be closed before c goes. */
    uv_close((uv_handle_t *)&c->timer, NULL);
    return rc;
  }
  c->guard.data = c;
  /* The guard never keeps the loop alive: settle measures liveness without it. */
  uv_unref((uv_handle_t *)&c->guard);
  return 0;
}

uint64_t gw_clock_now(const gw_clock_t *c) {
  if (c->kind == GW_CLOCK_VIRTUAL)
    return c->vnow;
  return uv_now(c->loop);
}

static void clock_schedule(gw_clock_t *c) {
  uint64_t now = gw_clock_now(c);

  if (c->kind == GW_CLOCK_VIRTUAL) {
    if (c->deadline <= now)
      uv_timer_start(&c->timer, clock_timer_cb, 0, 0);
    else
      uv_timer_stop(&c->timer); /* waits for a jump */
    return;
  }
  if (c->kind == GW_CLOCK_REAL) {
    /* uv_now() is the loop's cached time; a deadline computed from it is
     * exact against uv timers, which use the same base. */
    uv_timer_start(&c->timer, clock_timer_cb, c->deadline > now ? c->deadline - now : 0, 0);
  }
}

void gw_clock_arm(gw_clock_t *c, uint64_t deadline, gw_clock_cb cb, void *cb_data) {
  if (c->closing)
    return;
  c->deadline = deadline;
  c->armed = 1;
  c->cb = cb;
  c->cb_data = cb_data;
  clock_schedule(c);
}

void gw_clock_disarm(gw_clock_t *c) {
  c->armed = 0;
  c->cb = NULL;
  if (!c->closing)
    uv_timer_stop(&c->timer);
}

void *gw_clock_cb_data(const gw_clock_t *c) { return c->cb_data; }

int gw_clock_next(const gw_clock_t *c, uint64_t *deadline) {
  if (c->kind != GW_CLOCK_VIRTUAL)
    return UV_EINVAL;
  if (!c->armed)
    return UV_EAGAIN;
  *deadline = c->deadline;
  return 0;
}

int gw_clock_jump(gw_clock_t *c) {
  if (c->kind != GW_CLOCK_VIRTUAL)
    return UV_EINVAL;
  if (!c->armed || c->closing)
    return UV_EAGAIN;
  if (c->deadline > c->vnow)
    c->vnow = c->deadline;
  c->jumps++;
  clock_schedule(c);
  return 0;
}

int gw_clock_settle(gw_clock_t *c, unsigned quiet_ms) {
  /* Each turn either makes progress (an I/O event, a due callback, a close)
   * or waits quiet_ms for one; a turn that only saw the guard fire means the
   * remaining handles are long-lived and the loop is quiescent. */
  for (;;) {
    if (!uv_loop_alive(c->loop))
      return 0;
    c->guard_fired = 0;
    uv_timer_start(&c->guard, clock_guard_cb, quiet_ms, 0);
    uv_run(c->loop, UV_RUN_ONCE);
    if (c->guard_fired)
      return 0;
    uv_timer_stop(&c->guard);
  }
}

static void clock_close_cb(uv_handle_t *h) {
  gw_clock_t *c = h->data;

  assert(c->pending_close > 0);
  if (--c->pending_close == 0 && c->close_cb != NULL)
    c->close_cb(c);
}

void gw_clock_close(gw_clock_t *c, gw_close_cb cb) {
  if (c == NULL || c->closing)
    return;
  c->closing = 1;
  c->armed = 0;
  c->close_cb = cb;
  c->pending_close = 2;
  uv_close((uv_handle_t *)&c->timer, clock_close_cb);
  uv_close((uv_handle_t *)&c->guard, clock_close_cb);
}
