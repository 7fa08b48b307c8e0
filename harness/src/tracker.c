/* tracker.c - identity tracking: which fds outlive the cycle that opened them.
 *
 * Counts alone are noisy and can hide a leak behind a close elsewhere; an fd
 * identified by (number, inode, target) that appears after the baseline and
 * is still there at later cycle boundaries is a leak whatever the count does.
 */
#include "fsk.h"
#include "grow.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  fsk_fd_t fd;
  long first_cycle;
  long last_cycle;
  int baseline;
} entry_t;

struct fsk_tracker_s {
  entry_t *e;
  size_t n, cap;
  long last_feed;
};

int fsk_tracker_new(fsk_tracker_t **out) {
  fsk_tracker_t *t = calloc(1, sizeof(*t));
  if (t == NULL)
    return -ENOMEM;
  t->last_feed = -1;
  *out = t;
  return 0;
}

void fsk_tracker_free(fsk_tracker_t *t) {
  if (t == NULL)
    return;
  free(t->e);
  free(t);
}

static int same(const fsk_fd_t *a, const fsk_fd_t *b) {
  return a->fd == b->fd && a->pid == b->pid && a->ino == b->ino &&
         strcmp(a->target, b->target) == 0;
}

static entry_t *find(fsk_tracker_t *t, const fsk_fd_t *f) {
  size_t i;
  for (i = 0; i < t->n; i++) {
    if (t->e[i].last_cycle == t->last_feed && same(&t->e[i].fd, f))
      return &t->e[i];
  }
  return NULL;
}

static int add(fsk_tracker_t *t, const fsk_fd_t *f, long cycle, int baseline) {
  int rc = fsk__grow(&t->e, &t->cap, t->n + 1, sizeof(*t->e), 64);

  if (rc != 0)
    return rc;
  t->e[t->n].fd = *f;
  t->e[t->n].first_cycle = cycle;
  t->e[t->n].last_cycle = cycle;
  t->e[t->n].baseline = baseline;
  t->n++;
  return 0;
}

/* Drop entries that were not seen at the last feed: they were closed. */
static void compact(fsk_tracker_t *t) {
  size_t i, j = 0;
  for (i = 0; i < t->n; i++) {
    if (t->e[i].last_cycle == t->last_feed)
      t->e[j++] = t->e[i];
  }
  t->n = j;
}

int fsk_tracker_baseline(fsk_tracker_t *t, const fsk_fd_t *fds, size_t n, long cycle) {
  size_t i;
  int rc;

  t->n = 0;
  for (i = 0; i < n; i++) {
    if ((rc = add(t, &fds[i], cycle, 1)) != 0)
      return rc;
  }
  t->last_feed = cycle;
  return 0;
}

int fsk_tracker_feed(fsk_tracker_t *t, const fsk_fd_t *fds, size_t n, long cycle) {
  size_t i, before = t->n;
  long prev = t->last_feed;
  int rc;

  /* Mark the survivors of the previous feed, add the newcomers. */
  for (i = 0; i < n; i++) {
    entry_t *e = find(t, &fds[i]);
    if (e != NULL) {
      e->last_cycle = cycle;
    } else if ((rc = add(t, &fds[i], cycle, 0)) != 0) {
      return rc;
    }
  }
  (void)before;
  (void)prev;
  t->last_feed = cycle;
  compact(t);
  return 0;
}

size_t fsk_tracker_survivors(const fsk_tracker_t *t, fsk_leak_t *out, size_t max) {
  size_t i, k = 0;

  for (i = 0; i < t->n; i++) {
    const entry_t *e = &t->e[i];
    if (e->baseline || e->last_cycle != t->last_feed || e->first_cycle >= t->last_feed)
      continue;
    if (k < max) {
      memset(&out[k], 0, sizeof(out[k]));
      out[k].fd = e->fd.fd;
      out[k].pid = e->fd.pid;
      out[k].cls = e->fd.cls;
      out[k].ino = e->fd.ino;
      memcpy(out[k].target, e->fd.target, sizeof(out[k].target));
      out[k].opened_cycle = e->first_cycle;
    }
    k++;
  }
  return k;
}
