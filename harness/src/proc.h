/* proc.h - the process side of fdsoak's engine: start a target, know its
 * whole process tree, stop all of it, react to signals, and make and remove
 * scratch directories.  Used by `run` (its worker) and `watch`. */
#ifndef FSK_PROC_H
#define FSK_PROC_H

#include <limits.h>
#include <stddef.h>
#include <sys/types.h>

/* A process tree: the root and every descendant.  Grows as the tree does:
 * there is no cap. */
typedef struct {
  pid_t root;
  char cg[PATH_MAX];         /* cgroup v2 directory that holds the tree, or "" */
  pid_t *pids;               /* live members, root first while it lives */
  unsigned long long *start; /* their start times (with the pid, who it is) */
  int *nthr;                 /* their thread counts */
  size_t n, cap;
  pid_t pgrp;               /* no cgroup: the root's process group, in which */
  unsigned long long born;  /* an orphan started after the root is a member */
  double orphans_at;        /* when /proc was last scanned for such orphans */
  char mark[PATH_MAX + 32]; /* "VAR=value" such an orphan must have in its
                               environment (the shim's page), or "" */
} fsk__tree_t;

/* Relist the tree: every process in its cgroup, or (no cgroup) the root,
 * the children of every thread of every member, recursively, and every
 * member seen before that still lives with the same start time (an orphan
 * keeps its place though its parent is now init).  Returns the count, or a
 * negative errno (out of memory). */
long fsk__tree_list(fsk__tree_t *tr);
void fsk__tree_free(fsk__tree_t *tr);

typedef struct {
  pid_t pid;   /* the started process (the tree's root) */
  int exited;  /* reaped: status below is valid */
  int stopped; /* fsk__target_stop is done: nothing of it is left */
  int status;  /* waitpid status */
  double t_start, t_exit;
  fsk__tree_t tree; /* it and its descendants */
  char cg_why[200]; /* why the tree is tracked by /proc scanning, or "" */
  pid_t guard;      /* the guard process (see fsk__target_spawn), or 0 */
  int guard_fd;     /* our end of its pipe, or -1 */
  /* Called with the tree's cgroup (t->tree.cg, never "") once it is made,
   * before the child is forked, so whatever is attached to the group is
   * there for the child's first call (the seccomp engine's BPF programs).
   * NULL: nothing to do.  Its failure does not stop the spawn. */
  void (*cg_ready)(void *arg, const char *cg);
  void *cg_arg;
} fsk__target_t;

/* Monotonic seconds. */
double fsk__now(void);

/* Before anything else of a target: start its guard (see below).  0 or a
 * negative errno. */
int fsk__target_init(fsk__target_t *t);
/* Start argv[0] (PATH search) with envp (NULL: the current environment),
 * otherwise exactly as the
 * caller of fdsoak would have: same process group (the terminal's
 * foreground stays), same stdin, stdout and stderr, same ignored signals
 * and signal mask.  Its tree is tracked in a cgroup v2 child of fdsoak's
 * own cgroup where one can be made, else by /proc scanning (cg_why says
 * why).  It dies with fdsoak (PR_SET_PDEATHSIG), and a guard process
 * removes the files named by fsk__target_scratch, kills what is left of
 * the tree and removes the cgroup if fdsoak is killed.  Returns 0, or a
 * positive errno (posix_spawn's convention). */
int fsk__target_spawn(fsk__target_t *t, char *const argv[], char *const envp[]);
/* The same, with pre_exec(arg) run in the child just before exec, once it
 * is in the cgroup and has PR_SET_PDEATHSIG: async-signal-safe calls only.
 * A nonzero return is an errno: the child ends (127) without exec, and
 * that errno is returned as exec's would be. */
int fsk__target_spawn_with(fsk__target_t *t, char *const argv[], char *const envp[],
                           int (*pre_exec)(void *), void *arg);
/* Tell the guard about a scratch file to remove should fdsoak die first. */
void fsk__target_scratch(fsk__target_t *t, const char *path);
/* An orphan found by /proc scanning is a member only if this "VAR=value"
 * is in its environment (it inherited it from the target). */
void fsk__target_mark(fsk__target_t *t, const char *var_value);
/* Non-blocking: reap the root if it ended.  Returns 1 while the root runs,
 * 0 once it has exited (t->status). */
int fsk__target_poll(fsk__target_t *t);
/* "exited 3 after 1.20 s", "killed by signal 9 (Killed) after ...". */
void fsk__target_describe(const fsk__target_t *t, char *buf, size_t len);
/* Stop the root and every member of its tree: SIGTERM, a grace period,
 * then SIGKILL; reaps the root.  Idempotent. */
void fsk__target_stop(fsk__target_t *t, double grace_s);
/* After the stop: remove the cgroup, dismiss the guard (the caller has
 * removed its scratch files). */
void fsk__target_release(fsk__target_t *t);

/* When pid started (clock ticks since boot): with the pid, who it is. */
int fsk__proc_start(pid_t pid, unsigned long long *start);
/* Soft RLIMIT_NOFILE of pid read from /proc/PID/limits; -1 if unknown,
 * 0 for unlimited. */
int fsk__proc_nofile(pid_t pid);
/* Short name (comm) and parent of pid; -1 if it is gone. */
int fsk__proc_info(pid_t pid, char *comm, size_t len, pid_t *ppid);
/* pid as its own (innermost) PID namespace numbers it: what getpid()
 * returned inside it; pid itself when there is no other namespace. */
pid_t fsk__proc_nspid(pid_t pid);

/* SIGINT, SIGTERM, SIGHUP: set a flag instead of dying, so the caller can
 * stop its children and write partial results; SIGPIPE: a write to a
 * closed pipe fails with EPIPE instead of killing fdsoak.  A signal the
 * caller of fdsoak ignores stays ignored (and so is inherited as ignored by
 * a target).  Returns the signal caught, or 0. */
void fsk__signals_catch(void);
int fsk__signal_caught(void);

/* A fresh private directory under $TMPDIR (or /tmp): tag-XXXXXX. */
int fsk__tmpdir(const char *tag, char *buf, size_t len);
/* Remove a directory tree (no shell): 0 or a negative errno. */
int fsk__rmtree(const char *dir);

#endif
