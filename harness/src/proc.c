/* proc.c - targets, process trees, stopping, signals, scratch directories.
 *
 * A program under `fdsoak watch` is rarely one process: `sh -c` wrappers,
 * forked workers and exec'd helpers all hold fds, and any of them may leak.
 * The target is therefore the started process and all its descendants.
 *
 * Watching must change nothing about how the target runs (issue 23): it is
 * started in fdsoak's own process group with fdsoak's stdio, inherits what
 * fdsoak's caller ignored, and keeps the parent/child relations it would
 * have alone (no child subreaper, so an orphan's getppid() becomes 1).  Its
 * tree is found through a cgroup v2 child of fdsoak's own cgroup where one
 * can be made (every descendant stays in it, orphan or not, and
 * cgroup.kill stops all of it at once), else through the kernel's
 * children lists (/proc/PID/task/TID/children) from the root and from
 * every member seen before.
 */
#include "proc.h"
#include "grow.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

double fsk__now(void) {
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ------------------------------------------------------------------ */
/* Small file helpers                                                  */
/* ------------------------------------------------------------------ */

/* Write a short string to a file (cgroup control files). */
static int put_file(const char *path, const char *s) {
  int fd = open(path, O_WRONLY | O_CLOEXEC), rc = 0;

  if (fd < 0)
    return -errno;
  if (write(fd, s, strlen(s)) < 0)
    rc = -errno;
  close(fd);
  return rc;
}

/* ------------------------------------------------------------------ */
/* The tree's cgroup                                                   */
/* ------------------------------------------------------------------ */

/* Where cgroup v2 is mounted, and which part of it (its root field). */
static int cg_mount(char *mnt, size_t mlen, char *root, size_t rlen) {
  char line[4096];
  FILE *f = fopen("/proc/self/mountinfo", "re");
  int found = 0;

  if (f == NULL)
    return 0;
  while (!found && fgets(line, sizeof line, f) != NULL) {
    char r[1024], m[1024], *dash = strstr(line, " - ");

    /* id parent major:minor root mount-point options... - fstype ... */
    if (dash == NULL || strncmp(dash + 3, "cgroup2 ", 8) != 0)
      continue;
    if (sscanf(line, "%*s %*s %*s %1023s %1023s", r, m) != 2 || strchr(m, '\\') != NULL)
      continue; /* an escaped (odd) mount point: not worth decoding */
    snprintf(mnt, mlen, "%s", m);
    snprintf(root, rlen, "%s", r);
    found = 1;
  }
  fclose(f);
  return found;
}

/* A cgroup v2 child of our own cgroup for the tree: its directory in
 * t->tree.cg and an open cgroup.procs to move the child into; -1 with the
 * reason in t->cg_why when none can be made. */
static int cg_make(fsk__target_t *t) {
  static unsigned seq;
  char mnt[1024], root[1024], line[2048], *own = NULL, procs[PATH_MAX + 32];
  FILE *f;
  int fd;

  if (getenv("FDSOAK_TREE") != NULL && strcmp(getenv("FDSOAK_TREE"), "proc") == 0) {
    snprintf(t->cg_why, sizeof t->cg_why, "FDSOAK_TREE=proc");
    return -1;
  }
  if (!cg_mount(mnt, sizeof mnt, root, sizeof root)) {
    snprintf(t->cg_why, sizeof t->cg_why, "no cgroup v2 file system is mounted");
    return -1;
  }
  if ((f = fopen("/proc/self/cgroup", "re")) != NULL) {
    while (own == NULL && fgets(line, sizeof line, f) != NULL)
      if (strncmp(line, "0::", 3) == 0) {
        own = line + 3;
        own[strcspn(own, "\n")] = '\0';
      }
    fclose(f);
  }
  if (own == NULL) {
    snprintf(t->cg_why, sizeof t->cg_why, "this process is in no cgroup v2 group");
    return -1;
  }
  /* The mount may show only part of the hierarchy (a container's). */
  if (strcmp(root, "/") != 0) {
    size_t rl = strlen(root);

    if (strncmp(own, root, rl) != 0 || (own[rl] != '/' && own[rl] != '\0')) {
      snprintf(t->cg_why, sizeof t->cg_why, "our cgroup %.80s is outside the mounted %.80s", own,
               root);
      return -1;
    }
    own += rl;
  }
  if ((size_t)snprintf(t->tree.cg, sizeof t->tree.cg, "%s%s%sfdsoak-%d-%u", mnt, own,
                       own[0] != '\0' && own[strlen(own) - 1] == '/' ? "" : "/", (int)getpid(),
                       seq++) >= sizeof t->tree.cg) {
    t->tree.cg[0] = '\0';
    snprintf(t->cg_why, sizeof t->cg_why, "the cgroup path is too long");
    return -1;
  }
  if (mkdir(t->tree.cg, 0755) != 0) {
    snprintf(t->cg_why, sizeof t->cg_why, "cannot make a cgroup under %.100s%.60s: %s", mnt, own,
             strerror(errno));
    t->tree.cg[0] = '\0';
    return -1;
  }
  snprintf(procs, sizeof procs, "%s/cgroup.procs", t->tree.cg);
  if ((fd = open(procs, O_WRONLY | O_CLOEXEC)) < 0) {
    snprintf(t->cg_why, sizeof t->cg_why, "cannot write %.140s: %s", procs, strerror(errno));
    rmdir(t->tree.cg);
    t->tree.cg[0] = '\0';
  }
  return fd;
}

/* Remove the cgroup once the kernel has let its last member go (an exiting
 * task leaves it a moment after its parent saw it die). */
static void cg_remove(fsk__tree_t *tr) {
  int i;

  for (i = 0; tr->cg[0] != '\0' && i < 200; i++) {
    if (rmdir(tr->cg) == 0 || errno == ENOENT) {
      tr->cg[0] = '\0';
      break;
    }
    if (errno != EBUSY)
      break;
    usleep(5000);
  }
}

/* ------------------------------------------------------------------ */
/* The guard: cleans up if fdsoak itself is killed                     */
/* ------------------------------------------------------------------ */

/* The guard reads lines from fdsoak through a pipe: "f PATH" (a scratch
 * file), "c DIR" (the cgroup), "p PID START" (the root), "done" (fdsoak
 * cleaned up itself).  End of file without "done" means fdsoak died: the
 * guard kills what is left of the tree and removes the files and the
 * cgroup.  It holds nothing of the user's (stdio is /dev/null) and ignores
 * the terminal's signals, so it never outlives its work. */
static void guard_main(int rfd) {
  static char buf[65536], mark[PATH_MAX + 32];
  size_t len = 0;
  ssize_t n;
  int done = 0, sig, fd;
  char *line, *save = NULL;

  for (sig = 1; sig < 32; sig++)
    if (sig != SIGKILL && sig != SIGSTOP && sig != SIGCHLD)
      signal(sig, SIG_IGN);
  (void)prctl(PR_SET_NAME, "fdsoak-guard", 0, 0, 0);
  if ((fd = open("/dev/null", O_RDWR)) >= 0) {
    dup2(fd, 0), dup2(fd, 1), dup2(fd, 2);
    if (fd > 2)
      close(fd);
  }
  for (fd = 3; fd < 1024; fd++)
    if (fd != rfd)
      close(fd);
  while (len < sizeof buf - 1 &&
         ((n = read(rfd, buf + len, sizeof buf - 1 - len)) > 0 || (n < 0 && errno == EINTR)))
    if (n > 0)
      len += (size_t)n;
  buf[len] = '\0';
  if (strstr(buf, "\ndone\n") != NULL || strncmp(buf, "done\n", 5) == 0)
    done = 1;
  if (done)
    _exit(0);
  /* Kill first (nothing may hold the files open and write on), then remove. */
  for (line = strtok_r(buf, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
    int pid;
    unsigned long long st, now;

    if (sscanf(line, "p %d %llu", &pid, &st) == 2 && pid > 0 && fsk__proc_start(pid, &now) == 0 &&
        now == st) {
      int i;

      kill(pid, SIGKILL);
      /* Its children are orphaned (reparented) only once it has exited,
       * which a loaded machine can delay: wait for that, up to 5 s. */
      for (i = 0; i < 500 && fsk__proc_info(pid, NULL, 0, NULL) == 0; i++)
        usleep(10000);
    } else if (strncmp(line, "c ", 2) == 0) {
      char p[PATH_MAX + 16];

      snprintf(p, sizeof p, "%s/cgroup.kill", line + 2);
      (void)put_file(p, "1");
    }
  }
  /* No cgroup: the root's children are orphans now, in its process group
   * and born after it; kill them (and theirs) until none is left. */
  for (line = buf; line < buf + len; line += strlen(line) + 1)
    if (strncmp(line, "m ", 2) == 0)
      snprintf(mark, sizeof mark, "%s", line + 2);
  for (line = buf; line < buf + len; line += strlen(line) + 1) {
    long long pg;
    unsigned long long born;
    int round, empty;

    if (sscanf(line, "g %lld %llu", &pg, &born) != 2)
      continue;
    /* Until four rounds in a row find nothing: the root's children are
     * reparented a moment after it died. */
    for (round = 0, empty = 0; round < 60 && empty < 4; round++) {
      fsk__tree_t tr;
      size_t i;

      memset(&tr, 0, sizeof tr);
      tr.pgrp = (pid_t)pg;
      tr.born = born;
      snprintf(tr.mark, sizeof tr.mark, "%s", mark);
      (void)fsk__tree_list(&tr);
      for (i = 0; i < tr.n; i++)
        kill(tr.pids[i], SIGKILL);
      fsk__tree_free(&tr);
      empty = i == 0 ? empty + 1 : 0;
      usleep(50000);
    }
  }
  for (line = buf; line < buf + len; line += strlen(line) + 1) {
    if (strncmp(line, "f ", 2) == 0)
      unlink(line + 2);
    else if (strncmp(line, "c ", 2) == 0) {
      fsk__tree_t tr;

      memset(&tr, 0, sizeof tr);
      snprintf(tr.cg, sizeof tr.cg, "%s", line + 2);
      cg_remove(&tr);
    }
  }
  _exit(0);
}

static void guard_say(fsk__target_t *t, const char *fmt, const char *s, long long a,
                      unsigned long long b) {
  char line[PATH_MAX + 64];
  int n;

  if (t->guard_fd < 0)
    return;
  if (s != NULL && strchr(s, '\n') != NULL)
    return; /* cannot be said in one line: left to fdsoak itself */
  n = s != NULL ? snprintf(line, sizeof line, fmt, s) : snprintf(line, sizeof line, fmt, a, b);
  if (n > 0 && (size_t)n < sizeof line && write(t->guard_fd, line, (size_t)n) < 0) {
    /* the guard is gone: fdsoak still cleans up on every path it lives through */
  }
}

int fsk__target_init(fsk__target_t *t) {
  int p[2];

  memset(t, 0, sizeof *t);
  t->guard_fd = -1;
  if (pipe2(p, O_CLOEXEC) != 0)
    return -errno;
  t->guard = fork();
  if (t->guard < 0) {
    int e = errno;

    close(p[0]);
    close(p[1]);
    t->guard = 0;
    return -e;
  }
  if (t->guard == 0) {
    close(p[1]);
    guard_main(p[0]);
  }
  close(p[0]);
  t->guard_fd = p[1];
  return 0;
}

void fsk__target_scratch(fsk__target_t *t, const char *path) { guard_say(t, "f %s\n", path, 0, 0); }

void fsk__target_mark(fsk__target_t *t, const char *var_value) {
  snprintf(t->tree.mark, sizeof t->tree.mark, "%s", var_value);
  guard_say(t, "m %s\n", var_value, 0, 0);
}

/* ------------------------------------------------------------------ */
/* The started process                                                 */
/* ------------------------------------------------------------------ */

int fsk__target_spawn(fsk__target_t *t, char *const argv[], char *const envp[]) {
  return fsk__target_spawn_with(t, argv, envp, NULL, NULL);
}

int fsk__target_spawn_with(fsk__target_t *t, char *const argv[], char *const envp[],
                           int (*pre_exec)(void *), void *arg) {
  pid_t parent = getpid();
  int p[2] = {-1, -1}, cgfd, e, rc = 0;
  ssize_t n;

  cgfd = cg_make(t);
  if (cgfd >= 0 && t->cg_ready != NULL)
    t->cg_ready(t->cg_arg, t->tree.cg);
  if (pipe2(p, O_CLOEXEC) != 0) {
    rc = errno;
    goto out;
  }
  t->tree.root = 0;
  t->t_start = fsk__now();
  t->pid = fork();
  if (t->pid < 0) {
    rc = errno;
    t->pid = 0;
    goto out;
  }
  if (t->pid == 0) {
    /* The child: nothing here may allocate.  Into the tree's cgroup
     * before anything else runs, so every descendant is born in it. */
    close(p[0]);
    if (cgfd >= 0 && write(cgfd, "0\n", 2) < 0) {
      e = -errno;
      if (write(p[1], &e, sizeof e) < 0)
        _exit(127);
    }
    /* It dies with fdsoak, whatever kills fdsoak; a parent gone already
     * (between fork and here) is the same death. */
    (void)prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    if (getppid() != parent)
      _exit(127);
    /* The caller's last step (the seccomp engine installs its filter):
     * its failure is reported as exec's would be. */
    if (pre_exec != NULL && (e = pre_exec(arg)) != 0) {
      if (write(p[1], &e, sizeof e) < 0) {
        /* nobody to tell */
      }
      _exit(127);
    }
    execvpe(argv[0], argv, envp != NULL ? envp : environ);
    e = errno;
    if (write(p[1], &e, sizeof e) < 0) {
      /* nobody to tell */
    }
    _exit(127);
  }
  close(p[1]);
  p[1] = -1;
  /* Read until exec closes the pipe: a negative errno says the cgroup
   * move failed (the run goes on without it), a positive one that the
   * program could not be run. */
  while ((n = read(p[0], &e, sizeof e)) == (ssize_t)sizeof e || (n < 0 && errno == EINTR)) {
    if (n < 0)
      continue;
    if (e < 0) {
      snprintf(t->cg_why, sizeof t->cg_why, "cannot move the target into %.100s: %s", t->tree.cg,
               strerror(-e));
      rmdir(t->tree.cg);
      t->tree.cg[0] = '\0';
    } else {
      rc = e;
    }
  }
  if (rc != 0) {
    int st;

    while (waitpid(t->pid, &st, 0) < 0 && errno == EINTR)
      ;
    t->pid = 0;
    goto out;
  }
  t->tree.root = t->pid;
  {
    unsigned long long st = 0;

    if (fsk__proc_start(t->pid, &st) == 0)
      guard_say(t, "p %lld %llu\n", NULL, (long long)t->pid, st);
    if (t->tree.cg[0] == '\0') {
      t->tree.pgrp = getpgrp();
      t->tree.born = st;
      guard_say(t, "g %lld %llu\n", NULL, (long long)t->tree.pgrp, st);
    }
  }
  if (t->tree.cg[0] != '\0')
    guard_say(t, "c %s\n", t->tree.cg, 0, 0);
out:
  if (cgfd >= 0)
    close(cgfd);
  if (p[0] >= 0)
    close(p[0]);
  if (p[1] >= 0)
    close(p[1]);
  if (rc != 0 && t->tree.cg[0] != '\0')
    cg_remove(&t->tree);
  return rc;
}

static void reap(fsk__target_t *t) {
  int st;
  pid_t p;

  /* The root only: fdsoak is no subreaper, and its other child (the guard)
   * is reaped on release. */
  if (t->pid <= 0 || t->exited)
    return;
  while ((p = waitpid(t->pid, &st, WNOHANG)) < 0 && errno == EINTR)
    ;
  if (p == t->pid) {
    t->exited = 1;
    t->status = st;
    t->t_exit = fsk__now();
  }
}

int fsk__target_poll(fsk__target_t *t) {
  reap(t);
  return !t->exited;
}

void fsk__target_describe(const fsk__target_t *t, char *buf, size_t len) {
  double life = (t->exited ? t->t_exit : fsk__now()) - t->t_start;

  if (!t->exited)
    snprintf(buf, len, "running after %.2f s", life);
  else if (WIFEXITED(t->status))
    snprintf(buf, len, "exited %d after %.2f s%s", WEXITSTATUS(t->status), life,
             WEXITSTATUS(t->status) == 127 ? " (command not found, or it could not run)" : "");
  else if (WIFSIGNALED(t->status))
    snprintf(buf, len, "killed by signal %d (%s) after %.2f s", WTERMSIG(t->status),
             strsignal(WTERMSIG(t->status)), life);
  else
    snprintf(buf, len, "ended (status %#x) after %.2f s", t->status, life);
}

static void signal_tree(fsk__target_t *t, int sig) {
  size_t i;

  /* The root while it is unreaped (its pid is still ours), then every
   * member by pid: there is no process group of our own to signal. */
  if (!t->exited)
    kill(t->pid, sig);
  if (fsk__tree_list(&t->tree) < 0)
    return;
  for (i = 0; i < t->tree.n; i++)
    if (t->tree.pids[i] != t->pid)
      kill(t->tree.pids[i], sig);
  if (sig == SIGKILL && t->tree.cg[0] != '\0') {
    char p[PATH_MAX + 16];

    snprintf(p, sizeof p, "%s/cgroup.kill", t->tree.cg);
    (void)put_file(p, "1"); /* and whatever forks faster than we list */
  }
}

static int all_gone(fsk__target_t *t) { return t->exited && fsk__tree_list(&t->tree) == 0; }

void fsk__target_stop(fsk__target_t *t, double grace_s) {
  double until;
  int killed = 0;

  if (t->pid <= 0 || t->stopped)
    return;
  reap(t);
  if (all_gone(t)) {
    t->stopped = 1;
    return;
  }
  signal_tree(t, SIGTERM);
  until = fsk__now() + grace_s;
  for (;;) {
    reap(t);
    if (all_gone(t))
      break;
    if (fsk__now() >= until) {
      if (killed)
        break; /* SIGKILL'd 5 s ago: nothing more can be done */
      signal_tree(t, SIGKILL);
      killed = 1;
      until = fsk__now() + 5.0;
    }
    usleep(5000);
  }
  t->stopped = 1;
}

void fsk__target_release(fsk__target_t *t) {
  if (t->pid > 0 && !t->stopped)
    fsk__target_stop(t, 2.0);
  cg_remove(&t->tree);
  if (t->guard > 0 && t->guard_fd >= 0) {
    if (write(t->guard_fd, "done\n", 5) < 0) {
      /* the guard died: it has nothing left to do anyway */
    }
    close(t->guard_fd);
    t->guard_fd = -1;
  }
  if (t->guard > 0) {
    while (waitpid(t->guard, NULL, 0) < 0 && errno == EINTR)
      ;
    t->guard = 0;
  }
  fsk__tree_free(&t->tree);
}

/* ------------------------------------------------------------------ */
/* The tree                                                            */
/* ------------------------------------------------------------------ */

static char *read_stat(pid_t pid, char *buf, size_t len, char **open_p);

static int in(const pid_t *v, size_t n, pid_t p) {
  size_t i;

  for (i = 0; i < n; i++)
    if (v[i] == p)
      return 1;
  return 0;
}

/* Append pid (a live, non-zombie process) with its start time. */
static int add(fsk__tree_t *tr, pid_t pid, unsigned long long start, int nthr) {
  if (in(tr->pids, tr->n, pid))
    return 0;
  if (tr->n == tr->cap) {
    /* Three arrays of one capacity: each grows from the same count, so
     * they end equal; one that failed leaves tr->cap as it was. */
    size_t c1 = tr->cap, c2 = tr->cap, c3 = tr->cap;

    if (fsk__grow(&tr->pids, &c1, tr->n + 1, sizeof *tr->pids, 64) != 0 ||
        fsk__grow(&tr->start, &c2, tr->n + 1, sizeof *tr->start, 64) != 0 ||
        fsk__grow(&tr->nthr, &c3, tr->n + 1, sizeof *tr->nthr, 64) != 0)
      return -ENOMEM;
    tr->cap = c1;
  }
  tr->pids[tr->n] = pid;
  tr->nthr[tr->n] = nthr;
  tr->start[tr->n++] = start;
  return 0;
}

/* When a live process started (one read of its stat); -1 if it is gone
 * or a zombie -- no member: its fds are closed. */
static int live_start(pid_t pid, unsigned long long *start, int *nthr) {
  char buf[1024], *open_p, *rest = read_stat(pid, buf, sizeof buf, &open_p);
  char state;

  if (rest == NULL ||
      sscanf(rest,
             " %c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %d %*d %llu",
             &state, nthr, start) != 3 ||
      state == 'Z' || state == 'X')
    return -1;
  return 0;
}

static int add_live(fsk__tree_t *tr, pid_t pid) {
  unsigned long long st;
  int nthr;

  if (pid <= 0 || in(tr->pids, tr->n, pid) || live_start(pid, &st, &nthr) != 0)
    return 0;
  return add(tr, pid, st, nthr);
}

/* The kernel's list of the children of task tid of pid, as text in buf
 * (NUL-terminated): its length, or 0 when there is none to read. */
static ssize_t task_children(pid_t pid, const char *tid, char *buf, size_t size) {
  char file[320];
  ssize_t len;
  int fd;

  snprintf(file, sizeof file, "/proc/%d/task/%s/children", (int)pid, tid);
  if ((fd = open(file, O_RDONLY | O_CLOEXEC)) < 0)
    return 0;
  len = read(fd, buf, size - 1);
  close(fd);
  if (len <= 0)
    return 0;
  buf[len] = '\0';
  return len;
}

/* Append the children of every thread of pid (of its only thread, the
 * common case, without listing its tasks). */
static int children_of(fsk__tree_t *tr, size_t i) {
  pid_t pid = tr->pids[i];
  char path[64], buf[4096];
  struct dirent *de, only;
  DIR *d = NULL;
  int rc = 0, single = tr->nthr[i] == 1, done = 0;

  snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
  if (!single && (d = opendir(path)) == NULL)
    return 0;
  memset(&only, 0, sizeof only);
  snprintf(only.d_name, sizeof only.d_name, "%d", (int)pid);
  while (rc == 0 && (single ? !done++ && (de = &only) : (de = readdir(d)) != NULL)) {
    char *p, *end;

    if (de->d_name[0] == '.' || task_children(pid, de->d_name, buf, sizeof buf) <= 0)
      continue;
    for (p = buf; rc == 0; p = end) {
      long c = strtol(p, &end, 10);

      if (end == p)
        break;
      rc = add_live(tr, (pid_t)c);
    }
  }
  if (d != NULL)
    closedir(d);
  return rc;
}

/* Every process in dir's cgroup.procs and in its child cgroups. */
static int cg_members(fsk__tree_t *tr, const char *dir, int depth) {
  char path[PATH_MAX + 32], buf[8192];
  struct dirent *de;
  DIR *d;
  FILE *f;
  int rc = 0;

  snprintf(path, sizeof path, "%s/cgroup.procs", dir);
  if ((f = fopen(path, "re")) == NULL)
    return errno == ENOENT ? 0 : -errno;
  while (rc == 0 && fgets(buf, sizeof buf, f) != NULL)
    rc = add_live(tr, (pid_t)strtol(buf, NULL, 10));
  fclose(f);
  if (rc != 0 || depth > 16 || (d = opendir(dir)) == NULL)
    return rc;
  while (rc == 0 && (de = readdir(d)) != NULL)
    if (de->d_type == DT_DIR && de->d_name[0] != '.') {
      snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
      rc = cg_members(tr, path, depth + 1);
    }
  closedir(d);
  return rc;
}

/* Whether pid's environment holds mark ("" holds always): a process in
 * the same process group that is not of the tree (a sibling job in a
 * script without job control) does not have the target's variables. */
static int has_mark(pid_t pid, const char *mark) {
  char path[64], *buf;
  size_t len = 0, cap = 65536, ml = strlen(mark), i;
  ssize_t n;
  int fd, found = 0;

  if (ml == 0)
    return 1;
  snprintf(path, sizeof path, "/proc/%d/environ", (int)pid);
  if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
    return 0;
  if ((buf = malloc(cap)) != NULL) {
    while (len < cap && (n = read(fd, buf + len, cap - len)) > 0)
      len += (size_t)n;
    for (i = 0; i + ml <= len && !found; i += strlen(buf + i) + 1)
      found = (i + ml == len || buf[i + ml] == '\0') && memcmp(buf + i, mark, ml) == 0;
    free(buf);
  }
  close(fd);
  return found;
}

/* A child of pid that is in tr's process group and started after its
 * root: an orphan of the tree that pid adopted. */
static int adopted_by(fsk__tree_t *tr, pid_t pid) {
  char path[64], buf[8192];
  struct dirent *de;
  DIR *d;
  int rc = 0;

  snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
  if ((d = opendir(path)) == NULL)
    return 0;
  while (rc == 0 && (de = readdir(d)) != NULL) {
    char *p, *end;

    if (de->d_name[0] == '.' || task_children(pid, de->d_name, buf, sizeof buf) <= 0)
      continue;
    for (p = buf; rc == 0; p = end) {
      long c = strtol(p, &end, 10);
      char sb[1024], *open_p, *rest, state;
      unsigned long long st;
      int pgrp, nthr;

      if (end == p)
        break;
      if (c <= 0 || in(tr->pids, tr->n, (pid_t)c) ||
          (rest = read_stat((pid_t)c, sb, sizeof sb, &open_p)) == NULL ||
          sscanf(rest,
                 " %c %*d %d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %d %*d %llu",
                 &state, &pgrp, &nthr, &st) != 4)
        continue;
      if (pgrp == tr->pgrp && st >= tr->born && state != 'Z' && state != 'X' &&
          has_mark((pid_t)c, tr->mark))
        rc = add(tr, (pid_t)c, st, nthr);
    }
  }
  closedir(d);
  return rc;
}

/* No cgroup: a process whose parent died before we saw it (a daemonising
 * grandchild) was adopted by init or by the nearest child subreaper, which
 * is one of our own ancestors.  It is a member if it is in the root's
 * process group (inherited) and started after the root (fdsoak and its
 * guard started before).  Only our ancestors' children are read, not all
 * of /proc. */
static int orphans_of(fsk__tree_t *tr) {
  pid_t a = getppid();
  int rc = 0, depth;

  for (depth = 0; rc == 0 && a > 0 && depth < 64; depth++) {
    pid_t up = 0;

    rc = adopted_by(tr, a);
    if (a == 1 || fsk__proc_info(a, NULL, 0, &up) != 0)
      break;
    a = up;
  }
  if (rc == 0 && depth >= 0 && a != 1)
    rc = adopted_by(tr, 1);
  return rc;
}

long fsk__tree_list(fsk__tree_t *tr) {
  size_t nprev = tr->n, i, k;
  pid_t *prev = NULL;
  unsigned long long *pstart = NULL;
  long rc = 0;

  if (nprev > 0) {
    prev = malloc(nprev * sizeof *prev);
    pstart = malloc(nprev * sizeof *pstart);
    if (prev == NULL || pstart == NULL) {
      rc = -ENOMEM;
      goto out;
    }
    memcpy(prev, tr->pids, nprev * sizeof *prev);
    memcpy(pstart, tr->start, nprev * sizeof *pstart);
  }
  tr->n = 0;
  if (tr->root > 0 && (rc = add_live(tr, tr->root)) != 0)
    goto out;
  if (tr->cg[0] != '\0') {
    rc = cg_members(tr, tr->cg, 0);
    goto out;
  }
  /* No cgroup: /proc/PID/task/TID/children is a racy view (a child being
   * forked or reparented can be missing from it for a moment), and an
   * orphan's parent is init, so a member seen before stays until it is
   * really gone -- same pid, same start time, not a zombie. */
  for (k = 0; k < nprev && rc == 0; k++) {
    unsigned long long st;
    int nthr;

    if (!in(tr->pids, tr->n, prev[k]) && live_start(prev[k], &st, &nthr) == 0 && st == pstart[k])
      rc = add(tr, prev[k], st, nthr);
  }
  for (i = 0; i < tr->n && rc == 0; i++)
    rc = children_of(tr, i);
  /* A few times a second is enough for an orphan, which lives on. */
  if (rc == 0 && tr->pgrp > 0 && fsk__now() - tr->orphans_at >= 0.25) {
    size_t before = tr->n;

    tr->orphans_at = fsk__now();
    rc = orphans_of(tr);
    /* and what the orphans found started */
    for (i = before; i < tr->n && rc == 0; i++)
      rc = children_of(tr, i);
  }
out:
  free(prev);
  free(pstart);
  return rc < 0 ? rc : (long)tr->n;
}

void fsk__tree_free(fsk__tree_t *tr) {
  free(tr->pids);
  free(tr->start);
  free(tr->nthr);
  tr->pids = NULL;
  tr->start = NULL;
  tr->nthr = NULL;
  tr->n = tr->cap = 0;
}

/* /proc/PID/stat into buf; returns the text after the ')' that closes the
 * command name (which may itself hold spaces and parentheses), with *open_p
 * at the '(' that opens it; NULL if the process is gone. */
static char *read_stat(pid_t pid, char *buf, size_t len, char **open_p) {
  char path[64], *close_p;
  ssize_t n;
  int fd;

  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
    return NULL;
  n = read(fd, buf, len - 1);
  close(fd);
  if (n <= 0)
    return NULL;
  buf[n] = '\0';
  if ((*open_p = strchr(buf, '(')) == NULL || (close_p = strrchr(buf, ')')) == NULL)
    return NULL;
  return close_p + 1;
}

int fsk__proc_start(pid_t pid, unsigned long long *start) {
  char buf[1024], *open_p, *rest = read_stat(pid, buf, sizeof buf, &open_p);

  /* Field 22, starttime: after the name come fields 3..21, 19 of them. */
  if (rest == NULL || sscanf(rest,
                             " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d "
                             "%*d %*d %llu",
                             start) != 1)
    return -1;
  return 0;
}

int fsk__proc_info(pid_t pid, char *comm, size_t len, pid_t *ppid) {
  char buf[1024], *open_p, *rest = read_stat(pid, buf, sizeof buf, &open_p);
  char state;
  int pp = 0;

  if (rest == NULL || sscanf(rest, " %c %d", &state, &pp) != 2)
    return -1;
  if (state == 'Z' || state == 'X')
    return -1; /* exited: its fds are closed, it is no longer a member */
  if (comm != NULL && len > 0)
    snprintf(comm, len, "%.*s", (int)(rest - 1 - open_p - 1), open_p + 1);
  if (ppid != NULL)
    *ppid = (pid_t)pp;
  return 0;
}

pid_t fsk__proc_nspid(pid_t pid) {
  char path[64], line[256];
  pid_t inner = pid;
  FILE *f;

  snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
  if ((f = fopen(path, "re")) == NULL)
    return pid;
  while (fgets(line, sizeof line, f) != NULL) {
    char *p = line + 6, *end;

    if (strncmp(line, "NSpid:", 6) != 0)
      continue;
    /* NSpid: outermost ... innermost; the last is the process's own view. */
    for (;;) {
      long v = strtol(p, &end, 10);

      if (end == p)
        break;
      inner = (pid_t)v;
      p = end;
    }
    break;
  }
  fclose(f);
  return inner;
}

int fsk__proc_nofile(pid_t pid) {
  char path[64], line[256];
  FILE *f;
  int rc = -1;

  snprintf(path, sizeof path, "/proc/%d/limits", (int)pid);
  if ((f = fopen(path, "re")) == NULL)
    return -1;
  while (fgets(line, sizeof line, f) != NULL) {
    char soft[32];

    if (strncmp(line, "Max open files", 14) != 0)
      continue;
    if (sscanf(line + 14, " %31s", soft) == 1)
      rc = strcmp(soft, "unlimited") == 0 ? 0 : (int)strtol(soft, NULL, 10);
    break;
  }
  fclose(f);
  return rc;
}

/* ------------------------------------------------------------------ */
/* Signals                                                             */
/* ------------------------------------------------------------------ */

static volatile sig_atomic_t g_caught;

static void on_signal(int sig) { g_caught = sig; }

/* A write to a closed pipe (`fdsoak ... | head`) then fails with EPIPE,
 * which every writer of fdsoak's output handles; the run goes on and its
 * results are written.  A handler, not SIG_IGN: a target started later
 * gets SIGPIPE's default back at exec, as its caller gave it. */
static void on_pipe(int sig) { (void)sig; }

static void catch_one(int sig, void (*fn)(int)) {
  struct sigaction sa, old;

  /* What fdsoak's caller ignored stays ignored (nohup, `cmd &` in a
   * script): fdsoak honours it too, and a target inherits it at exec as it
   * would without fdsoak; a caught signal would be reset to the default. */
  if (sigaction(sig, NULL, &old) == 0 && old.sa_handler == SIG_IGN)
    return;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = fn;
  sigemptyset(&sa.sa_mask);
  /* No SA_RESTART: a sleep or a wait returns at once and the loop sees it. */
  sigaction(sig, &sa, NULL);
}

void fsk__signals_catch(void) {
  catch_one(SIGINT, on_signal);
  catch_one(SIGTERM, on_signal);
  catch_one(SIGHUP, on_signal);
  catch_one(SIGPIPE, on_pipe);
}

int fsk__signal_caught(void) { return (int)g_caught; }

/* ------------------------------------------------------------------ */
/* Scratch directories                                                 */
/* ------------------------------------------------------------------ */

int fsk__tmpdir(const char *tag, char *buf, size_t len) {
  const char *tmp = getenv("TMPDIR");

  if (tmp == NULL || tmp[0] == '\0')
    tmp = "/tmp";
  if ((size_t)snprintf(buf, len, "%s/%s-XXXXXX", tmp, tag) >= len)
    return -ENAMETOOLONG;
  return mkdtemp(buf) != NULL ? 0 : -errno;
}

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw) {
  (void)st;
  (void)ftw;
  if (type == FTW_DP)
    return rmdir(path) == 0 || errno == ENOENT ? 0 : -errno;
  return unlink(path) == 0 || errno == ENOENT ? 0 : -errno;
}

int fsk__rmtree(const char *dir) {
  int rc;

  if (dir == NULL || dir[0] == '\0')
    return -EINVAL;
  /* Depth first, never following a symlink out of the tree. */
  rc = nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
  return rc == 0 ? 0 : rc < 0 ? rc : -EIO;
}
