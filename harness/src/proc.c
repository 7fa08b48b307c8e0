/* proc.c - targets, process trees, stopping, signals, scratch directories.
 *
 * A program under `fdsoak watch` is rarely one process: `sh -c` wrappers,
 * forked workers and exec'd helpers all hold fds, and any of them may leak.
 * The target is therefore the started process and all its descendants,
 * found through /proc/PID/task/TID/children (the kernel's own list, no scan
 * of /proc), with fdsoak as child subreaper so that a grandchild whose
 * parent exits stays ours to watch and to stop.
 */
#include "proc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <spawn.h>
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

void fsk__subreaper(void) {
  /* Best effort: without it an orphaned grandchild is still found while
   * its parent lives, and stopped through the process group. */
  (void)prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
}

/* ------------------------------------------------------------------ */
/* The started process                                                 */
/* ------------------------------------------------------------------ */

int fsk__target_spawn(fsk_target_t *t, char *const argv[], char *const envp[]) {
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t at;
  int p[2] = {-1, -1}, rc;

  memset(t, 0, sizeof *t);
  t->err_fd = -1;
  if (pipe2(p, O_CLOEXEC) != 0)
    return errno;
  posix_spawn_file_actions_init(&fa);
  posix_spawnattr_init(&at);
  /* Its own process group: a stop reaches every process it forked, and
   * a Ctrl-C at the terminal reaches fdsoak, which then stops the tree
   * in order (the group is not the terminal's foreground group). */
  posix_spawnattr_setpgroup(&at, 0);
  posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP);
  /* dup2 clears FD_CLOEXEC on the copy; both pipe ends are close-on-exec. */
  posix_spawn_file_actions_adddup2(&fa, p[1], 2);
  t->t_start = fsk__now();
  rc = posix_spawnp(&t->pid, argv[0], &fa, &at, argv, envp != NULL ? envp : environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&at);
  close(p[1]);
  if (rc != 0) {
    close(p[0]);
    return rc;
  }
  t->pgid_own = 1;
  t->err_fd = p[0];
  fcntl(t->err_fd, F_SETFL, fcntl(t->err_fd, F_GETFL) | O_NONBLOCK);
  return 0;
}

/* What a process that ran out of fds says, in C, Python, Node and Go. */
static const char *const exhaustion_words[] = {"Too many open files", "EMFILE", "ENFILE",
                                               "Too many open files in system"};

static void scan_err(fsk_target_t *t, const char *chunk, size_t n) {
  char buf[sizeof t->err_tail + 4096];
  size_t old = strlen(t->err_tail), i;

  size_t keep = n > 4096 ? 4096 : n;

  memcpy(buf, t->err_tail, old);
  memcpy(buf + old, chunk + (n - keep), keep);
  n = keep;
  buf[old + n] = '\0';
  for (i = 0; t->death[0] == '\0' && i < sizeof exhaustion_words / sizeof *exhaustion_words; i++) {
    char *hit = strstr(buf, exhaustion_words[i]), *a, *b;

    if (hit == NULL)
      continue;
    for (a = hit; a > buf && a[-1] != '\n'; a--)
      ;
    for (b = hit; *b != '\0' && *b != '\n'; b++)
      ;
    snprintf(t->death, sizeof t->death, "it printed \"%.*s\"", (int)(b - a > 200 ? 200 : b - a), a);
  }
  /* Keep the tail for a message split over two reads. */
  if (old + n >= sizeof t->err_tail)
    memmove(t->err_tail, buf + old + n - (sizeof t->err_tail - 1), sizeof t->err_tail - 1),
      t->err_tail[sizeof t->err_tail - 1] = '\0';
  else
    memcpy(t->err_tail, buf, old + n + 1);
}

static void pump_err(fsk_target_t *t) {
  char chunk[4096];
  ssize_t n;

  while (t->err_fd >= 0) {
    n = read(t->err_fd, chunk, sizeof chunk);
    if (n > 0) {
      /* The target's stderr is the user's: pass it through unchanged. */
      if (write(2, chunk, (size_t)n) < 0) {
        /* our stderr is gone; the evidence is still gathered */
      }
      scan_err(t, chunk, (size_t)n);
      continue;
    }
    if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
      close(t->err_fd); /* every writer is gone */
      t->err_fd = -1;
    }
    if (n < 0 && errno == EINTR)
      continue;
    break;
  }
}

static void reap(fsk_target_t *t) {
  int st;
  pid_t p;

  /* As subreaper we also inherit orphans: reap them, keep the root's status. */
  while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
    if (p == t->pid && !t->exited) {
      t->exited = 1;
      t->status = st;
      t->t_exit = fsk__now();
    }
  }
}

int fsk__target_poll(fsk_target_t *t) {
  pump_err(t);
  if (!t->exited)
    reap(t);
  return !t->exited;
}

void fsk__target_describe(const fsk_target_t *t, char *buf, size_t len) {
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

static void signal_tree(fsk_target_t *t, int sig) {
  pid_t pids[FSK_TREE_MAX];
  size_t n = fsk__proc_tree(t->pid, 1, pids, FSK_TREE_MAX), i;

  /* The group only while its leader is unreaped: after that its number may
   * have been given to a stranger's group.  Members still alive are in the
   * tree and get the signal by pid below. */
  if (t->pgid_own && !t->exited)
    kill(-t->pid, sig);
  for (i = 0; i < n; i++)
    kill(pids[i], sig); /* and a member may have left the group (setsid) */
}

static int all_gone(fsk_target_t *t) {
  pid_t pids[FSK_TREE_MAX];

  return t->exited && fsk__proc_tree(t->pid, 1, pids, FSK_TREE_MAX) == 0;
}

void fsk__target_stop(fsk_target_t *t, double grace_s) {
  double until;
  int killed = 0;

  if (t->pid <= 0 || t->stopped)
    return;
  reap(t);
  if (all_gone(t)) {
    t->stopped = 1;
    pump_err(t);
    return;
  }
  signal_tree(t, SIGTERM);
  until = fsk__now() + grace_s;
  for (;;) {
    reap(t);
    pump_err(t);
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
  pump_err(t);
  if (t->err_fd >= 0) {
    close(t->err_fd);
    t->err_fd = -1;
  }
  t->stopped = 1;
}

/* ------------------------------------------------------------------ */
/* The tree                                                            */
/* ------------------------------------------------------------------ */

static int in(const pid_t *v, size_t n, pid_t p) {
  size_t i;

  for (i = 0; i < n; i++)
    if (v[i] == p)
      return 1;
  return 0;
}

/* Append the children of every thread of pid. */
static void children_of(pid_t pid, pid_t *out, size_t max, size_t *n) {
  char path[64], buf[4096];
  struct dirent *de;
  DIR *d;

  snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
  if ((d = opendir(path)) == NULL)
    return;
  while ((de = readdir(d)) != NULL) {
    char file[320], *p, *end;
    ssize_t len;
    int fd;

    if (de->d_name[0] == '.')
      continue;
    snprintf(file, sizeof file, "/proc/%d/task/%s/children", (int)pid, de->d_name);
    if ((fd = open(file, O_RDONLY | O_CLOEXEC)) < 0)
      continue;
    len = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (len <= 0)
      continue;
    buf[len] = '\0';
    for (p = buf;; p = end) {
      long c = strtol(p, &end, 10);

      if (end == p)
        break;
      /* A zombie is no member: its fds are closed. */
      if (c > 0 && *n < max && !in(out, *n, (pid_t)c) &&
          fsk__proc_info((pid_t)c, NULL, 0, NULL) == 0)
        out[(*n)++] = (pid_t)c;
    }
  }
  closedir(d);
}

size_t fsk__proc_tree(pid_t root, int include_self_orphans, pid_t *out, size_t max) {
  size_t n = 0, i;
  char path[64];

  snprintf(path, sizeof path, "/proc/%d", (int)root);
  if (max > 0 && access(path, F_OK) == 0 && fsk__proc_info(root, NULL, 0, NULL) == 0)
    out[n++] = root;
  if (include_self_orphans)
    children_of(getpid(), out, max, &n);
  for (i = 0; i < n; i++)
    children_of(out[i], out, max, &n);
  return n;
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

void fsk__signals_catch(void) {
  struct sigaction sa;

  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  /* No SA_RESTART: a sleep or a wait returns at once and the loop sees it. */
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
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
