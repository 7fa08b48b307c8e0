/* proc.h - the process side of fdsoak's engine: start a target, know its
 * whole process tree, stop all of it, react to SIGINT/SIGTERM, and make and
 * remove scratch directories.  Used by `run` (its worker) and `watch`. */
#ifndef FSK_PROC_H
#define FSK_PROC_H

#include <stddef.h>
#include <sys/types.h>

/* Max processes of one watched tree. */
#define FSK_TREE_MAX 256

typedef struct {
  pid_t pid;    /* the started process (the tree's root) */
  int pgid_own; /* it leads its own process group */
  int exited;   /* reaped: status below is valid */
  int stopped;  /* fsk__target_stop is done: nothing of it is left */
  int status;   /* waitpid status */
  double t_start, t_exit;
  int err_fd;         /* read end of its stderr, tee'd to ours; -1 if none */
  char err_tail[512]; /* the last bytes it wrote there, for the evidence */
  char death[256];    /* "it printed '...Too many open files...'" or "" */
} fsk_target_t;

/* Monotonic seconds. */
double fsk__now(void);

/* Make this process the subreaper of everything it starts, so a daemonising
 * grandchild reparents to us and stays in the tree we watch and stop. */
void fsk__subreaper(void);

/* Start argv[0] (PATH search) in its own process group with envp (NULL:
 * the current environment); its stderr is a pipe that fsk__target_poll
 * copies to ours.  Returns 0, or a positive errno (posix_spawn's
 * convention). */
int fsk__target_spawn(fsk_target_t *t, char *const argv[], char *const envp[]);
/* Non-blocking: copy any stderr output, reap the root if it ended.  Returns
 * 1 while the root runs, 0 once it has exited (t->status). */
int fsk__target_poll(fsk_target_t *t);
/* "exited 3 after 1.20 s", "killed by signal 9 (Killed) after ...". */
void fsk__target_describe(const fsk_target_t *t, char *buf, size_t len);
/* Stop the root, its process group, every descendant and every orphan we
 * inherited as subreaper: SIGTERM, a grace period, then SIGKILL; reaps all. */
void fsk__target_stop(fsk_target_t *t, double grace_s);

/* root and every descendant (children of every thread, recursively), root
 * first; with include_self_orphans, also the other children of this
 * process (orphans we reaped as subreaper) and theirs.  Returns the count. */
size_t fsk__proc_tree(pid_t root, int include_self_orphans, pid_t *out, size_t max);
/* When pid started (clock ticks since boot): with the pid, who it is. */
int fsk__proc_start(pid_t pid, unsigned long long *start);
/* Soft RLIMIT_NOFILE of pid read from /proc/PID/limits; -1 if unknown,
 * 0 for unlimited. */
int fsk__proc_nofile(pid_t pid);
/* Short name (comm) and parent of pid; -1 if it is gone. */
int fsk__proc_info(pid_t pid, char *comm, size_t len, pid_t *ppid);

/* SIGINT/SIGTERM: set a flag instead of dying, so the caller can stop its
 * children and write partial results.  Returns the signal caught, or 0. */
void fsk__signals_catch(void);
int fsk__signal_caught(void);

/* A fresh private directory under $TMPDIR (or /tmp): tag-XXXXXX. */
int fsk__tmpdir(const char *tag, char *buf, size_t len);
/* Remove a directory tree (no shell): 0 or a negative errno. */
int fsk__rmtree(const char *dir);

#endif
