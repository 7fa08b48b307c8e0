/*
 * track.c — fd origin records (FDSOAK_INJECT_TRACK=1): op and backtrace of
 * each created fd in the stats page ring, under a per-slot seqlock.
 */
#include "shim.h"

#include <execinfo.h>
#include <time.h>
#include <unistd.h>


void inj__track_fd(int fd, int op) {
  inj_fd_record_t *rec;
  void *frames[INJ_BT_FRAMES + 3];
  uint64_t s;
  int n;

  if (fd < 0)
    return;
  rec = &inj__page->fds[inj_fd_slot((int)getpid(), fd)];
  inj__add64(&inj__page->fd_records, 1);
  n = backtrace(frames, INJ_BT_FRAMES + 3);
  /* Skip this function, the hook's slow path (noinline, hooks.c) and the
     hook itself: the first frame kept is the caller. */
  n = n > 3 ? n - 3 : 0;
  s = __atomic_load_n(&rec->seq, __ATOMIC_RELAXED);
  __atomic_store_n(&rec->seq, (s | 1) + 0, __ATOMIC_RELAXED);
  __atomic_thread_fence(__ATOMIC_RELEASE);
  rec->fd = fd;
  rec->pid = (int32_t)getpid();
  rec->op = (uint16_t)op;
  rec->nframes = (uint16_t)n;
  rec->mono_ns = inj__mono_ns(CLOCK_MONOTONIC);
  for (int i = 0; i < INJ_BT_FRAMES; i++)
    rec->frames[i] = i < n ? (uint64_t)(uintptr_t)frames[i + 3] : 0;
  __atomic_store_n(&rec->seq, (s | 1) + 1, __ATOMIC_RELEASE);
}

