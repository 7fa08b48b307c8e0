/* sampler.h - the sampling side of fdsoak's engine: the fd table of one
 * process or of a whole process tree, counted cheaply, snapshotted when it
 * moved, classified, and fed to identity tracking; per-process attribution
 * for the report. */
#ifndef FSK_SAMPLER_H
#define FSK_SAMPLER_H

#include "fsk.h"
#include "proc.h"

typedef struct {
  pid_t root;                    /* 0: this process alone (in-process `run`) */
  unsigned long long root_start; /* its start time (/proc/PID/stat): a pid
                                    reused by another process is not it */
  fsk__tree_t *tree;             /* the tree sampled: a target's, or own_tree */
  fsk__tree_t own_tree;          /* --pid: the process and its descendants */
  int skip_stdio;                /* counts and classes leave fds 0-2 out (in-process
                          `run`: they depend on who started fdsoak) */
  int nstdio;                    /* fds 0-2 open at the last snapshot */
  double tree_at;                /* when the tree was last listed */
  double tree_cost;              /* how long that took */
  fsk_proc_info_t *procs;        /* every process ever seen, for the report */
  char **maps;                   /* per process: /proc/PID/maps at its highest count,
                          so a leak's frames can be named after it exited */
  size_t nprocs, capprocs;
  size_t nfolded;    /* ended processes folded out of procs (memory bound) */
  int folded_fd_max; /* the most fds any of them held */
  fsk_tracker_t *tracker;
  fsk_fd_t *fds; /* the last snapshot */
  size_t nfds, capfds;
  int cls[FSK_FD_CLASS_COUNT];
  int snap_count; /* the count the last snapshot had */
  double *feed_x; /* x of each feed: the tracker counts feeds, which
                          always increase, while x may repeat */
  size_t nfeeds, capfeeds;
  fsk_leak_t *peak; /* the survivors at the fullest table fed so far: a
                          program that ends by itself may close what it
                          leaked on the way out (an interpreter's shutdown
                          does), and its report is about before that */
  size_t npeak;
  int peak_count;
  const char *shim_page;    /* watch: the shim's stats page, to tell a process
                          that runs the shim without it (uninstrumented) */
  struct fsk__shimchk *chk; /* per process: what its maps said, and when */
  size_t uninstrumented;    /* processes with the shim but not its page */
  char uninstr_note[200];   /* the first of them */
  pid_t denied;             /* a member whose /proc/PID/fd fdsoak may not read (its
                               fds are not counted): setuid, non-dumpable, not ours */
  char denied_comm[32];
  int at_limit; /* some process reached its RLIMIT_NOFILE */
  char limit_note[160];
} fsk__sampler_t;

/* root 0: this process; tree NULL: root and its descendants, else the
 * tree given (a started target's, which knows its cgroup). */
int fsk__sampler_init(fsk__sampler_t *s, pid_t root, fsk__tree_t *tree);
void fsk__sampler_free(fsk__sampler_t *s);
/* Relist the tree (at most every 50 ms unless force); returns its size. */
size_t fsk__sampler_tree(fsk__sampler_t *s, int force);
/* Open fds of the whole tree now (sum over its processes); -1 when no
 * process is left. */
int fsk__sampler_count(fsk__sampler_t *s);
/* Read every fd of the tree into s->fds with classes in s->cls; updates
 * per-process attribution.  0 or a negative errno. */
int fsk__sampler_snapshot(fsk__sampler_t *s);
/* The last snapshot is the baseline (end of warm-up) / a later sample at x. */
int fsk__sampler_baseline(fsk__sampler_t *s, double x);
int fsk__sampler_feed(fsk__sampler_t *s, double x);
/* The survivors at the fullest table fed (see peak); *out is the sampler's
 * own array, valid until the next feed.  Returns the count. */
size_t fsk__sampler_peak_survivors(const fsk__sampler_t *s, const fsk_leak_t **out);
/* pid as the process itself saw it (its PID namespace's), read at first
 * sight; pid when unknown. */
pid_t fsk__sampler_nspid(const fsk__sampler_t *s, pid_t pid);
/* The last /proc/PID/maps kept for pid, or NULL. */
const char *fsk__sampler_maps(const fsk__sampler_t *s, pid_t pid);
/* Survivors of the last feed: fds opened after the baseline, still open,
 * first seen before x_before (so an fd of the attempt in flight at the last
 * look is not one).  Allocated into *out (free it); returns the count. */
size_t fsk__sampler_survivors(fsk__sampler_t *s, double x_before, fsk_leak_t **out);

#endif
