/* watch.c - `fdsoak watch`: soak any process from the outside.
 *
 *   --pid PID      sample a running process every --interval ms
 *   -- CMD ARGS    start CMD with the shim preloaded and --inject SPEC; every
 *                  fault the shim injects (read from its counter page) is a
 *                  cycle boundary, sampled once the fd count has settled
 *
 * The target is noisy and not ours, so the statistical rule decides, with
 * identity tracking beside it.  Exit codes as for `run`.
 */
#include "driver.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "inj.h"

extern char **environ;

#define WATCH_MAX_FDS 65536

typedef struct {
  const char *inject;
  long cycles;
  double duration_s;
  long interval_ms;
  long settle_ms;
  long warmup;
  pid_t pid;
  char **cmd;
  char out[PATH_MAX];
  int out_given;
  int json;
  int quiet;
} watch_opts_t;

static int werr(const char *fmt, ...) {
  va_list ap;
  fputs("fdsoak watch: ", stderr);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  return FSK_EXIT_USAGE;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int num(const char *flag, const char *v, double lo, double hi, double *out) {
  char *end;
  double x = 0;

  if (v == NULL)
    return werr("%s needs a value", flag);
  errno = 0;
  x = strtod(v, &end);
  if (errno != 0 || end == v || *end != '\0' || !(x >= lo && x <= hi))
    return werr("%s: '%s' is not a number in %g..%g", flag, v, lo, hi);
  *out = x;
  return 0;
}

static int parse_watch(int argc, char **argv, watch_opts_t *w) {
  int i, rc;
  double x = 0;

  memset(w, 0, sizeof(*w));
  w->cycles = -1;
  w->interval_ms = 100;
  w->settle_ms = 20;
  w->warmup = -1;
  for (i = 0; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "--") == 0) {
      if (i + 1 >= argc)
        return werr("'--' must be followed by a command");
      w->cmd = argv + i + 1;
      break;
    } else if (strcmp(a, "--inject") == 0) {
      if (v == NULL)
        return werr("--inject needs a rule spec");
      w->inject = v;
      i++;
    } else if (strcmp(a, "--cycles") == 0) {
      if ((rc = num(a, v, 2, 1e8, &x)) != 0)
        return rc;
      w->cycles = (long)x;
      i++;
    } else if (strcmp(a, "--duration") == 0) {
      if ((rc = num(a, v, 0.1, 7 * 86400, &x)) != 0)
        return rc;
      w->duration_s = x;
      i++;
    } else if (strcmp(a, "--interval") == 0) {
      if ((rc = num(a, v, 1, 3600000, &x)) != 0)
        return rc;
      w->interval_ms = (long)x;
      i++;
    } else if (strcmp(a, "--settle") == 0) {
      if ((rc = num(a, v, 0, 60000, &x)) != 0)
        return rc;
      w->settle_ms = (long)x;
      i++;
    } else if (strcmp(a, "--warmup") == 0) {
      if ((rc = num(a, v, 0, 1e8, &x)) != 0)
        return rc;
      w->warmup = (long)x;
      i++;
    } else if (strcmp(a, "--pid") == 0) {
      if ((rc = num(a, v, 1, 4194304, &x)) != 0)
        return rc;
      w->pid = (pid_t)x;
      i++;
    } else if (strcmp(a, "--out") == 0) {
      if (v == NULL || v[0] == '\0' || strlen(v) >= sizeof(w->out) - 64)
        return werr("--out needs a directory");
      snprintf(w->out, sizeof(w->out), "%s", v);
      w->out_given = 1;
      i++;
    } else if (strcmp(a, "--json") == 0) {
      w->json = 1;
    } else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
      w->quiet = 1;
    } else {
      return werr("unknown flag '%s'", a);
    }
  }
  if ((w->pid != 0) == (w->cmd != NULL))
    return werr("give exactly one target: --pid PID or -- CMD [ARG...]");
  if (w->pid != 0 && w->inject != NULL)
    return werr("--inject needs a command to start (-- CMD): a running process has no shim");
  if (w->cycles > 0 && w->duration_s > 0)
    return werr("give --cycles or --duration, not both");
  if (w->cycles < 0 && w->duration_s <= 0)
    w->cycles = 200;
  if (w->warmup < 0)
    w->warmup = w->cycles > 0 ? (w->cycles / 10 < 50 ? w->cycles / 10 : 50) : 10;
  return 0;
}

/* ------------------------------------------------------------------ */

static int start_target(watch_opts_t *w, const char *stats, pid_t *pid) {
  char shim[PATH_MAX];
  int rc;

  if ((rc = fsk__shim_path(shim, sizeof(shim))) != 0)
    return werr("the fault-injection shim is missing (%s: %s)", shim, strerror(-rc));
  fsk__set_preload(shim, 0);
  setenv("FDSOAK_INJECT", w->inject != NULL ? w->inject : "", 1);
  setenv("FDSOAK_INJECT_STATS", stats, 1);
  setenv("FDSOAK_INJECT_TRACK", "1", 1);
  rc = posix_spawnp(pid, w->cmd[0], NULL, NULL, w->cmd, environ);
  unsetenv("LD_PRELOAD"); /* this process itself never runs with the shim */
  if (rc != 0)
    return werr("cannot start '%s': %s", w->cmd[0], strerror(rc));
  return 0;
}

static void stop_target(pid_t pid) {
  int i;

  if (waitpid(pid, NULL, WNOHANG) == pid)
    return;
  kill(pid, SIGTERM);
  for (i = 0; i < 200; i++) {
    if (waitpid(pid, NULL, WNOHANG) == pid)
      return;
    usleep(10000);
  }
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
}

static int alive(pid_t pid, int child) {
  if (child) {
    int st;
    return waitpid(pid, &st, WNOHANG) == 0;
  }
  return kill(pid, 0) == 0 || errno == EPERM;
}

/* Wait until the fd count has not moved for settle_ms (bounded by 1 s). */
static int settled_count(pid_t pid, long settle_ms) {
  double start = now_s(), since = now_s();
  int last = fsk_fd_count(pid), c;

  while (settle_ms > 0 && now_s() - start < 1.0) {
    usleep(1000);
    c = fsk_fd_count(pid);
    if (c != last) {
      last = c;
      since = now_s();
    } else if ((now_s() - since) * 1000 >= (double)settle_ms) {
      break;
    }
  }
  return last;
}

int fsk__watch_main(int argc, char **argv) {
  watch_opts_t w;
  fsk_run_t run;
  fsk_scenario_t sc;
  fsk_tracker_t *tracker = NULL;
  fsk_fd_t *fds = NULL;
  inj_spec_t *spec = NULL;
  inj_stats_view_t view;
  char stats[PATH_MAX], err[256], ts[32], label[64];
  int cls[FSK_FD_CLASS_COUNT];
  int rc, code = FSK_EXIT_USAGE, child = 0, have_view = 0, last = -1, fd;
  long c = 0, limit;
  uint64_t seen_injected = 0;
  double t0, deadline;
  size_t nfds = 0, i;
  struct rlimit rl;

  if ((rc = parse_watch(argc, argv, &w)) != 0)
    return rc;
  memset(&sc, 0, sizeof(sc));
  memset(&run, 0, sizeof(run));
  stats[0] = '\0';

  if (w.inject != NULL) {
    /* A spec the shim would reject kills the target with exit 2; say what
     * is wrong here first, before anything starts. */
    spec = malloc(sizeof(*spec));
    if (spec == NULL)
      return werr("out of memory");
    rc = inj_spec_parse(w.inject, spec, err, sizeof(err));
    free(spec);
    if (rc != 0)
      return werr("--inject: %s", err);
  }
  fds = calloc(WATCH_MAX_FDS, sizeof(*fds));
  if (fds == NULL || fsk_tracker_new(&tracker) != 0) {
    free(fds);
    return werr("out of memory");
  }

  if (w.cmd != NULL) {
    snprintf(stats, sizeof(stats), "%s/fdsoak-watch-XXXXXX",
             getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
    if ((fd = mkstemp(stats)) < 0) {
      code = werr("cannot create the shim's counter page: %s", strerror(errno));
      goto out;
    }
    close(fd);
    if ((rc = start_target(&w, stats, &w.pid)) != 0) {
      code = rc;
      goto out;
    }
    child = 1;
    /* The shim initialises the page in its constructor: if that never
     * happens the target is static, or LD_PRELOAD was refused. */
    t0 = now_s();
    while ((rc = inj_stats_open(stats, &view)) == -EAGAIN && now_s() - t0 < 5.0 &&
           alive(w.pid, 1))
      usleep(2000);
    if (rc != 0) {
      code = werr("the shim never loaded in '%s' (a statically linked program, or one that "
                  "clears LD_PRELOAD?): no fault can be injected or counted",
                  w.cmd[0]);
      goto out;
    }
    have_view = 1;
  } else {
    char dir[64];
    snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)w.pid);
    if (access(dir, R_OK | X_OK) != 0) {
      code = werr("cannot read %s: %s (no such process, or not yours?)", dir, strerror(errno));
      goto out;
    }
  }

  snprintf(label, sizeof(label), "%s", w.cmd != NULL ? basename(w.cmd[0]) : "pid");
  if (w.cmd == NULL)
    snprintf(label, sizeof(label), "pid-%d", (int)w.pid);
  fsk_scenario_init(&sc, "watch", label, w.warmup);
  limit = w.cycles > 0 ? w.cycles + w.warmup : -1;
  t0 = now_s();
  deadline = w.duration_s > 0 ? t0 + w.duration_s : t0 + 3600.0; /* bounded either way */
  memset(cls, 0, sizeof(cls));

  while ((limit < 0 || c < limit) && now_s() < deadline && alive(w.pid, child)) {
    int count;
    if (have_view) {
      uint64_t inj = inj_stats_load(&view.page->injected_total);
      if (inj == seen_injected) {
        usleep(1000);
        continue;
      }
      seen_injected = inj;
      count = settled_count(w.pid, w.settle_ms);
    } else {
      usleep((useconds_t)w.interval_ms * 1000);
      count = fsk_fd_count(w.pid);
    }
    if (count < 0)
      break; /* the process went away between checks */
    if (count != last || c == w.warmup - 1 || c == 0) {
      if (fsk_fd_snapshot(w.pid, fds, WATCH_MAX_FDS, &nfds) != 0)
        break;
      memset(cls, 0, sizeof(cls));
      for (i = 0; i < nfds; i++)
        cls[fds[i].cls]++;
      if (c == (w.warmup > 0 ? w.warmup - 1 : 0))
        fsk_tracker_baseline(tracker, fds, nfds, c);
      else if (c >= w.warmup)
        fsk_tracker_feed(tracker, fds, nfds, c);
      last = count;
    }
    fsk_scenario_push(&sc, count, cls);
    c++;
  }
  /* A last look at the table, so survivors are judged at the end. */
  if (alive(w.pid, child) && fsk_fd_snapshot(w.pid, fds, WATCH_MAX_FDS, &nfds) == 0 &&
      c > w.warmup)
    fsk_tracker_feed(tracker, fds, nfds, c);

  sc.cycles = c > w.warmup ? c - w.warmup : 0;
  {
    size_t n = fsk_tracker_survivors(tracker, NULL, 0);
    if (n > 0 && (sc.leaked = calloc(n, sizeof(*sc.leaked))) != NULL) {
      sc.nleaked = fsk_tracker_survivors(tracker, sc.leaked, n);
      for (i = 0; i < sc.nleaked; i++) {
        snprintf(sc.leaked[i].origin, sizeof(sc.leaked[i].origin), "%s, cycle %ld", label,
                 sc.leaked[i].opened_cycle);
        if (child)
          fsk__origin_from_shim(stats, w.pid, sc.leaked[i].fd, sc.leaked[i].origin,
                          sizeof(sc.leaked[i].origin));
      }
    }
  }
  sc.verdict = fsk_verdict_stat(sc.counts, sc.nsamples, (size_t)w.warmup, sc.nleaked, &sc.stats);
  sc.seconds = now_s() - t0;

  run.mode = "watch";
  fsk__utc_now(run.started_utc, sizeof(run.started_utc), ts, sizeof(ts));
  run.scen = &sc;
  run.nscen = 1;
  if (prlimit(w.pid, RLIMIT_NOFILE, NULL, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
    run.rlimit_nofile = (int)rl.rlim_cur;
  else
    run.rlimit_nofile = 1024;
  run.cycle_period_s = 300;
  fsk_run_finish(&run);

  if (!w.out_given)
    snprintf(w.out, sizeof(w.out), "results/runs/%s-watch", ts);
  if ((rc = fsk_results_write(w.out, &run)) != 0) {
    code = werr("cannot write results to %s: %s", w.out, strerror(-rc));
    goto out;
  }
  if (!w.out_given)
    fsk_results_link_latest("results", w.out);
  if (w.json) {
    fsk__print_summary(w.out);
  } else if (!w.quiet) {
    fsk_print_table(stdout, &run);
    printf("%s\nresults: %s\n", sc.stats.why, w.out);
  } else {
    printf("%s\n", fsk_verdict_name(run.verdict));
  }
  code = run.verdict == FSK_VERDICT_LEAK   ? FSK_EXIT_LEAK
         : run.verdict == FSK_VERDICT_FLAT ? FSK_EXIT_FLAT
                                           : FSK_EXIT_INCONCLUSIVE;

out:
  if (have_view)
    inj_stats_close(&view);
  if (child)
    stop_target(w.pid);
  if (stats[0] != '\0')
    unlink(stats);
  fsk_scenario_free(&sc);
  fsk_tracker_free(tracker);
  free(fds);
  return code;
}
