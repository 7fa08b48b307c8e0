/* sampler.c - count, snapshot, classify and track the fds of a process tree.
 *
 * Counting is the hot part (docs/architecture.md): st_size of /proc/PID/fd costs
 * about 2 us per process at any table size, so the count of a tree is read
 * as often as the sampling loop likes.  A snapshot (readlink and stat of
 * every fd) costs 0.5 ms per 1,000 fds; callers take one only when the
 * count moved.
 */
#include "grow.h"
#include "sampler.h"

#include <errno.h>
#include <math.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The tree is relisted at most this often: listing it reads a small file
 * per thread, and processes come and go far more slowly than fds. */
#define TREE_REFRESH_S 0.05

/* Whether a process runs the shim with its page: checked once per program
 * it runs (comm changes at exec), a while after its name was first seen. */
struct fsk__shimchk {
  char comm[32]; /* the program checked (or pending) */
  double since;  /* when this comm was first seen */
  double polled; /* when its comm was last read */
  int done;      /* checked */
  int counted;   /* counted as uninstrumented */
  int suspect;   /* looked uninstrumented once: look again */
  pid_t nspid;   /* its pid in its own PID namespace */
};

int fsk__sampler_init(fsk__sampler_t *s, pid_t root, fsk__tree_t *tree) {
  int rc;

  memset(s, 0, sizeof *s);
  s->root = root;
  s->tree = tree != NULL ? tree : &s->own_tree;
  if (tree == NULL)
    s->own_tree.root = root;
  s->snap_count = -1;
  s->tree_at = -1.0;
  if (root > 0 && fsk__proc_start(root, &s->root_start) != 0)
    s->root_start = 0;
  if ((rc = fsk_tracker_new(&s->tracker)) != 0)
    return rc;
  return 0;
}

void fsk__sampler_free(fsk__sampler_t *s) {
  size_t i;

  for (i = 0; s->maps != NULL && i < s->nprocs; i++)
    free(s->maps[i]);
  free(s->maps);
  free(s->chk);
  fsk_tracker_free(s->tracker);
  free(s->procs);
  free(s->fds);
  free(s->feed_x);
  free(s->peak);
  fsk__tree_free(&s->own_tree);
  memset(s, 0, sizeof *s);
}

/* Ended processes kept in detail (the report's table); older ones are
 * folded into a count.  A service that forks a helper every second would
 * otherwise keep 3,600 entries an hour, each with a copy of its maps. */
#define FSK_ENDED_KEEP 64

static int in_tree(const fsk__sampler_t *s, pid_t pid) {
  size_t i;

  for (i = 0; i < s->tree->n; i++)
    if (s->tree->pids[i] == pid)
      return 1;
  return 0;
}

/* Fold the oldest ended processes beyond FSK_ENDED_KEEP into s->nfolded,
 * freeing their maps.  Kept whatever their age: the root, a process one of
 * the peak's survivors belongs to (its maps name that fd's origin), and
 * the ended process that grew most (the report's projection uses it). */
static void fold_ended(fsk__sampler_t *s) {
  size_t i, j, ended = 0, keep_grower = (size_t)-1;
  int best = -1;

  for (i = 0; i < s->nprocs; i++) {
    const fsk_proc_info_t *p = &s->procs[i];

    if (in_tree(s, p->pid))
      continue;
    ended++;
    if (p->fd_first >= 0 && p->fd_last - p->fd_first > best) {
      best = p->fd_last - p->fd_first;
      keep_grower = i;
    }
  }
  if (ended <= 2 * FSK_ENDED_KEEP)
    return; /* fold in batches: the scan above is not free */
  for (i = 0, j = 0; i < s->nprocs; i++) {
    fsk_proc_info_t *p = &s->procs[i];
    int keep =
      ended <= FSK_ENDED_KEEP || i == keep_grower || p->pid == s->root || in_tree(s, p->pid);
    size_t k;

    for (k = 0; !keep && k < s->npeak; k++)
      keep = s->peak[k].pid == p->pid;
    if (keep) {
      s->procs[j] = *p;
      s->maps[j] = s->maps[i];
      s->chk[j] = s->chk[i];
      j++;
      continue;
    }
    ended--;
    s->nfolded++;
    if (p->fd_max > s->folded_fd_max)
      s->folded_fd_max = p->fd_max;
    free(s->maps[i]);
  }
  s->nprocs = j;
}

static fsk_proc_info_t *proc_of(fsk__sampler_t *s, pid_t pid) {
  size_t i;

  for (i = 0; i < s->nprocs; i++)
    if (s->procs[i].pid == pid)
      return &s->procs[i];
  if (s->nprocs == s->capprocs) {
    /* Three arrays of one capacity: each grows from the same count, so
     * they end equal; one that failed leaves s->capprocs as it was. */
    size_t c1 = s->capprocs, c2 = s->capprocs, c3 = s->capprocs;

    if (fsk__grow(&s->procs, &c1, s->nprocs + 1, sizeof *s->procs, 8) != 0 ||
        fsk__grow(&s->maps, &c2, s->nprocs + 1, sizeof *s->maps, 8) != 0 ||
        fsk__grow(&s->chk, &c3, s->nprocs + 1, sizeof *s->chk, 8) != 0)
      return NULL;
    s->capprocs = c1;
  }
  s->maps[s->nprocs] = NULL;
  memset(&s->chk[s->nprocs], 0, sizeof s->chk[0]);
  s->chk[s->nprocs].nspid = s->root != 0 ? fsk__proc_nspid(pid) : pid;
  memset(&s->procs[s->nprocs], 0, sizeof s->procs[0]);
  s->procs[s->nprocs].pid = pid;
  s->procs[s->nprocs].fd_first = -1;
  s->procs[s->nprocs].rlimit_nofile = fsk__proc_nofile(pid);
  fsk__proc_start(pid, &s->procs[s->nprocs].start);
  fsk__proc_info(pid, s->procs[s->nprocs].comm, sizeof s->procs[0].comm, &s->procs[s->nprocs].ppid);
  return &s->procs[s->nprocs++];
}

static char *read_maps(pid_t pid);

/* A process with the shim loaded but not its page mapped could not open
 * the page (it switched to another user): the shim runs it uninstrumented,
 * and the report says so. */
static void check_shim(fsk__sampler_t *s, fsk_proc_info_t *p) {
  struct fsk__shimchk *c = &s->chk[p - s->procs];
  char comm[32], *m;

  /* Its name is read a few times a second, not at every listing. */
  if (c->done && fsk__now() - c->polled < 0.5)
    return;
  c->polled = fsk__now();
  if (fsk__proc_info(p->pid, comm, sizeof comm, NULL) != 0)
    return;
  if (strcmp(comm, c->comm) != 0) {
    snprintf(c->comm, sizeof c->comm, "%s", comm);
    c->since = fsk__now();
    c->done = 0;
    c->suspect = 0;
  }
  /* Half a second after exec (the loader maps the shim before its
   * constructor maps the page), and once more 2 s after it before it is
   * counted: a loaded machine can stretch that moment. */
  if (c->done || fsk__now() - c->since < (c->suspect ? 2.0 : 0.5) ||
      (m = read_maps(p->pid)) == NULL)
    return;
  if (strstr(m, "libfdsoak-inject") == NULL || strstr(m, s->shim_page) != NULL) {
    c->done = 1; /* no shim at all (not ours to count), or instrumented */
  } else if (!c->suspect) {
    c->suspect = 1;
  } else if (!c->counted) {
    c->done = 1;
    c->counted = 1;
    if (s->uninstrumented++ == 0)
      snprintf(s->uninstr_note, sizeof s->uninstr_note, "process %d (%s)", (int)p->pid, comm);
  }
  free(m);
}

size_t fsk__sampler_tree(fsk__sampler_t *s, int force) {
  double now = fsk__now();
  size_t i;

  if (s->root == 0) {
    if (s->tree->n == 0 && (s->tree->pids = malloc(sizeof(pid_t))) != NULL) {
      s->tree->pids[0] = getpid();
      s->tree->n = s->tree->cap = 1;
    }
    return s->tree->n;
  }
  /* A big tree on a busy machine can take tens of ms to list: list it at
   * most a fifth of the time, or sampling starves. */
  if (!force && s->tree_at >= 0.0 &&
      now - s->tree_at < (TREE_REFRESH_S > 4 * s->tree_cost ? TREE_REFRESH_S : 4 * s->tree_cost))
    return s->tree->n;
  /* The root's pid names another process once the root is gone and the
   * pid reused (--pid has no other hold on it): that stranger and its
   * children are not the target, whose tree is now only the members
   * already seen that still live (fsk__tree_list keeps those). */
  if (s->root_start != 0 && s->tree->root > 0) {
    unsigned long long root_now = 0;

    if (fsk__proc_start(s->tree->root, &root_now) != 0 || root_now != s->root_start)
      s->tree->root = 0;
  }
  /* Out of memory keeps the last listing: a sample short of new members
   * beats none. */
  (void)fsk__tree_list(s->tree);
  s->tree_at = fsk__now();
  s->tree_cost = s->tree_at - now;
  for (i = 0; i < s->tree->n; i++) {
    fsk_proc_info_t *p = proc_of(s, s->tree->pids[i]); /* first sight: name and limit */

    if (p != NULL && s->shim_page != NULL)
      check_shim(s, p);
  }
  fold_ended(s);
  return s->tree->n;
}

/* A copy of /proc/PID/maps (NULL if unreadable). */
static char *read_maps(pid_t pid) {
  char path[64], *buf = NULL;
  size_t len = 0, cap = 0;
  ssize_t n;
  int fd;

  snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
  if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
    return NULL;
  for (;;) {
    if (cap - len < 4096 && fsk__grow(&buf, &cap, len + 4096, 1, 16384) != 0)
      break;
    n = read(fd, buf + len, cap - len - 1);
    if (n <= 0)
      break;
    len += (size_t)n;
  }
  close(fd);
  if (buf != NULL)
    buf[len] = '\0';
  return buf;
}

pid_t fsk__sampler_nspid(const fsk__sampler_t *s, pid_t pid) {
  size_t i;

  for (i = 0; i < s->nprocs; i++)
    if (s->procs[i].pid == pid)
      return s->chk[i].nspid;
  return pid;
}

const char *fsk__sampler_maps(const fsk__sampler_t *s, pid_t pid) {
  size_t i;

  for (i = 0; i < s->nprocs; i++)
    if (s->procs[i].pid == pid)
      return s->maps[i];
  return NULL;
}

/* Attribution and the fd limit: a process at its own limit is the
 * strongest evidence there is. */
static void note_count(fsk__sampler_t *s, pid_t pid, int c) {
  fsk_proc_info_t *p = proc_of(s, pid);

  if (p == NULL)
    return;
  if (p->fd_first < 0)
    p->fd_first = c;
  p->fd_last = c;
  if (c > p->fd_max) {
    /* A new high: what it holds now is what a leak report names, and the
     * process may be gone (an EMFILE death) before the report is made. */
    char *m = s->root != 0 ? read_maps(pid) : NULL;

    if (m != NULL) {
      free(s->maps[p - s->procs]);
      s->maps[p - s->procs] = m;
    }
    p->fd_max = c;
    /* The limit is the process's current one: it may have raised (or
     * lowered) it since it was first seen. */
    if (s->root != 0) {
      int lim = fsk__proc_nofile(pid);

      if (lim >= 0)
        p->rlimit_nofile = lim;
    }
  }
  if (p->rlimit_nofile > 0 && c >= p->rlimit_nofile - 1 && !s->at_limit && s->root != 0) {
    int lim = fsk__proc_nofile(pid);

    if (lim >= 0)
      p->rlimit_nofile = lim;
  }
  if (p->rlimit_nofile > 0 && c >= p->rlimit_nofile - 1 && !s->at_limit) {
    s->at_limit = 1;
    snprintf(s->limit_note, sizeof s->limit_note,
             "process %d (%s) reached %d open fds, its RLIMIT_NOFILE is %d", (int)pid, p->comm, c,
             p->rlimit_nofile);
  }
}

/* A member whose fd table may not be read (rc -EACCES or -EPERM): the
 * first is kept, to say why its fds are missing. */
static void note_denied(fsk__sampler_t *s, pid_t pid, int rc) {
  if ((rc != -EACCES && rc != -EPERM) || s->denied != 0 || pid <= 0)
    return;
  s->denied = pid;
  if (fsk__proc_info(pid, s->denied_comm, sizeof s->denied_comm, NULL) != 0)
    snprintf(s->denied_comm, sizeof s->denied_comm, "?");
}

int fsk__sampler_count(fsk__sampler_t *s) {
  size_t i;
  int total = 0, any = 0;

  fsk__sampler_tree(s, 0);
  for (i = 0; i < s->tree->n; i++) {
    int c = fsk_fd_count(s->root == 0 ? 0 : s->tree->pids[i]);

    note_denied(s, s->tree->pids[i], c);
    if (c < 0)
      continue; /* it exited since the tree was listed (its fds are closed),
                   or it may not be read (s->denied says so) */
    any = 1;
    total += c;
    note_count(s, s->tree->pids[i], c);
  }
  return any ? total - (s->skip_stdio ? s->nstdio : 0) : -1;
}

int fsk__sampler_snapshot(fsk__sampler_t *s) {
  size_t i, n;
  int rc, got = 0;

  fsk__sampler_tree(s, 1);
  s->nfds = 0;
  memset(s->cls, 0, sizeof s->cls);
  for (i = 0; i < s->tree->n; i++) {
    pid_t pid = s->root == 0 ? 0 : s->tree->pids[i];

    for (;;) {
      size_t room = s->capfds - s->nfds;

      rc = fsk_fd_snapshot(pid, s->fds != NULL ? s->fds + s->nfds : NULL, room, &n);
      if (rc != -ENOBUFS)
        break;
      /* n is what it needs: grow with room to spare (the table may grow
       * again before it is read), then read again. */
      if (fsk__grow(&s->fds, &s->capfds, s->nfds + n + 64, sizeof *s->fds, 64) != 0)
        return -ENOMEM;
    }
    note_denied(s, pid, rc);
    if (rc != 0)
      continue; /* gone, or not ours to read (s->denied) */
    /* A process that exited while its table was read shows it empty: the
     * kernel closed those fds, the program did not.  Such a snapshot would
     * erase the identity record just before it matters most (a target dead
     * of its own leak), so it is no snapshot. */
    if (s->root != 0 && fsk__proc_info(pid, NULL, 0, NULL) != 0) {
      s->nfds = 0;
      return -ESRCH;
    }
    got = 1;
    s->nfds += n;
  }
  s->nstdio = 0;
  for (i = 0; i < s->nfds; i++) {
    if (s->skip_stdio && s->fds[i].fd <= 2)
      s->nstdio++;
    else
      s->cls[s->fds[i].cls]++;
  }
  s->snap_count = (int)s->nfds - (s->skip_stdio ? s->nstdio : 0);
  return got ? 0 : -ESRCH;
}

static int add_feed(fsk__sampler_t *s, double x) {
  if (fsk__grow(&s->feed_x, &s->capfeeds, s->nfeeds + 1, sizeof *s->feed_x, 256) != 0)
    return -ENOMEM;
  s->feed_x[s->nfeeds] = x;
  return (int)s->nfeeds++;
}

int fsk__sampler_baseline(fsk__sampler_t *s, double x) {
  int k;

  s->nfeeds = 0;
  if ((k = add_feed(s, x)) < 0)
    return k;
  return fsk_tracker_baseline(s->tracker, s->fds, s->nfds, k);
}

int fsk__sampler_feed(fsk__sampler_t *s, double x) {
  int k = add_feed(s, x), rc;

  if (k < 0)
    return k;
  if ((rc = fsk_tracker_feed(s->tracker, s->fds, s->nfds, k)) != 0)
    return rc;
  if (s->root != 0 && (int)s->nfds >= s->peak_count) {
    fsk_leak_t *l = NULL;
    size_t n = fsk__sampler_survivors(s, INFINITY, &l);

    free(s->peak);
    s->peak = l;
    s->npeak = n;
    s->peak_count = (int)s->nfds;
  }
  return 0;
}

size_t fsk__sampler_peak_survivors(const fsk__sampler_t *s, const fsk_leak_t **out) {
  *out = s->peak;
  return s->npeak;
}

size_t fsk__sampler_survivors(fsk__sampler_t *s, double x_before, fsk_leak_t **out) {
  size_t n = fsk_tracker_survivors(s->tracker, NULL, 0), i, k = 0;
  fsk_leak_t *l;

  *out = NULL;
  if (n == 0 || (l = calloc(n, sizeof *l)) == NULL)
    return 0;
  n = fsk_tracker_survivors(s->tracker, l, n);
  for (i = 0; i < n; i++) {
    long f = l[i].opened_cycle;
    double x = f >= 0 && (size_t)f < s->nfeeds ? s->feed_x[f] : 0.0;

    if (x < x_before) {
      l[k] = l[i];
      l[k++].opened_cycle = (long)x;
    }
  }
  if (k == 0) {
    free(l);
    return 0;
  }
  *out = l;
  return k;
}
