/* watch.c - `fdsoak watch`: soak any program from the outside.
 *
 *   -- CMD ARGS    start CMD with the shim preloaded.  With --inject, a cycle
 *                  is an attempt: a fault the shim injected or a call it
 *                  observed (do=pass), read from its counter page; rates are
 *                  fds per attempt against the cumulative attempt count.
 *                  Without --inject (or with --interval), a cycle is a time
 *                  interval and rates are fds per hour.
 *   --pid PID      sample a running process and its descendants every
 *                  --interval ms (interval mode).
 *
 * The target is the started process and every descendant (proc.c); each
 * sample is the floor of the tree's count over a short window, taken at a
 * quiescent point between attempts (sampler.c).  The statistical rule
 * judges (verdict.c) through the same fsk_scenario_judge as `run`; the
 * target's life -- its exit, an fd-exhaustion death -- is part of the
 * result.  Exit codes as for `run`.
 */
#include "driver.h"
#include "lang.h"
#include "proc.h"
#include "sampler.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "inj.h"

/* How long the target gets to stop after SIGTERM before SIGKILL. */
#define STOP_GRACE_S 2.0

typedef struct {
  const char *inject;
  long cycles;
  double duration_s;
  long interval_ms;
  int interval_given;
  long settle_ms;
  long warmup;
  double period_s;
  double timeout_s;
  double stall_s; /* no new attempt for this long: say so */
  int origins;    /* fsk_origins_t */
  pid_t pid;
  char **cmd;
  char out[PATH_MAX];
  int out_given;
  int json;
  int quiet;
} watch_opts_t;

static int werr(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int werr(const char *fmt, ...) {
  va_list ap;
  fputs("fdsoak watch: ", stderr);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  return FSK_EXIT_USAGE;
}

static int num(const char *flag, const char *v, double lo, double hi, double *out) {
  char *end;
  double x = 0;

  if (v == NULL)
    return werr("%s needs a value", flag);
  errno = 0;
  x = strtod(v, &end);
  if (errno != 0 || end == v || *end != '\0' || !(x >= lo && x <= hi))
    return werr("%s: '%s' is not a number in %.15g..%.15g", flag, v, lo, hi);
  *out = x;
  return 0;
}

static void watch_usage(FILE *f) {
  fprintf(
    f, "usage: fdsoak watch [--inject SPEC] [--cycles N | --duration S] [--warmup N]\n"
       "                    [--interval MS] [--settle MS] [--period S] [--timeout S] [--stall S]\n"
       "                    [--origins lang|native|off]\n"
       "                    [--out DIR] [--json] [-q] (--pid PID | -- CMD [ARG...])\n"
       "  --inject SPEC   shim rules; each injected fault or do=pass call is an attempt\n"
       "  --cycles N      attempts after warm-up (interval mode: samples); default 200\n"
       "  --warmup N      attempts (samples) before judging starts; default cycles/10, <= 50\n"
       "  --interval MS   interval mode: one sample every MS (default 100; --pid implies it)\n"
       "  --settle MS     a sample is the floor of the count over this window (default 20)\n"
       "  --period S      production cadence of attempts for the projection (default 300)\n"
       "  --timeout S     bound on the whole run (default 3600)\n"
       "  --stall S       warn, with the rules' counters, after S s without an attempt (10)\n"
       "  --origins M     where leaked fds were opened: lang (Python/Node stacks and native\n"
       "                  frames, the default), native, or off\n"
       "exit: 0 flat, 1 leak, 2 usage/environment or the target failed early, 3 inconclusive\n");
}

static int parse_watch(int argc, char **argv, watch_opts_t *w) {
  int i, rc;
  double x = 0;

  memset(w, 0, sizeof(*w));
  w->cycles = -1;
  w->interval_ms = 100;
  w->settle_ms = 20;
  w->warmup = -1;
  w->period_s = 300;
  w->timeout_s = 3600;
  w->stall_s = 10;
  w->origins = FSK_ORIGINS_LANG;
  for (i = 0; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "--") == 0) {
      if (i + 1 >= argc)
        return werr("'--' must be followed by a command");
      w->cmd = argv + i + 1;
      break;
    } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      watch_usage(stdout);
      return -1;
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
      w->interval_given = 1;
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
    } else if (strcmp(a, "--period") == 0) {
      if ((rc = num(a, v, 0.001, 365 * 86400.0, &x)) != 0)
        return rc;
      w->period_s = x;
      i++;
    } else if (strcmp(a, "--timeout") == 0) {
      if ((rc = num(a, v, 0.1, 30 * 86400.0, &x)) != 0)
        return rc;
      w->timeout_s = x;
      i++;
    } else if (strcmp(a, "--stall") == 0) {
      if ((rc = num(a, v, 0.1, 86400.0, &x)) != 0)
        return rc;
      w->stall_s = x;
      i++;
    } else if (strcmp(a, "--origins") == 0) {
      if ((w->origins = fsk__origins_parse(v)) < 0)
        return werr("--origins: '%s' is not native, lang or off", v != NULL ? v : "");
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
      return werr("unknown flag '%s' (see fdsoak watch --help)", a);
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

typedef struct {
  watch_opts_t w;
  int attempts_mode; /* cycles are attempts (the shim's page) */
  int has_faults, has_pass;
  inj_stats_view_t view;
  int have_view;
  char stats[PATH_MAX];
  char lang_log[PATH_MAX]; /* FDSOAK_LANG_LOG, or "" */
  char lang_err[200];      /* why the language hooks are off, or "" */
  fsk_target_t tgt;
  int child;
  fsk_sampler_t smp;
  fsk_scenario_t sc;
  long warm_idx; /* first post-warm-up sample, -1 until reached */
  int lang_note_set;
  char lang_note[256];
  double x0; /* attempts (seconds) at the start of judging */
  double t0;
  char stop_reason[160];
} watch_t;

static double attempts_now(const watch_t *wt) {
  if (!wt->have_view)
    return 0.0;
  return (double)(inj_stats_load(&wt->view.page->injected_total) +
                  inj_stats_load(&wt->view.page->observed_total));
}

/* x of a sample: cumulative attempts, or seconds since the start. */
static double x_now(const watch_t *wt) {
  return wt->attempts_mode ? attempts_now(wt) : fsk__now() - wt->t0;
}

static void rules_line(const watch_t *wt, char *buf, size_t len) {
  const inj_stats_page_t *p = wt->view.page;
  size_t used = 0;
  uint32_t i;

  buf[0] = '\0';
  for (i = 0; p != NULL && i < p->nrules && i < INJ_MAX_RULES && used < len; i++)
    used += (size_t)snprintf(buf + used, len - used,
                             "%srule %u '%s': %llu calls seen, %llu matched, %llu injected, "
                             "%llu observed",
                             i ? "; " : "", i + 1, p->rules[i].text,
                             (unsigned long long)inj_stats_load(&p->rules[i].calls_seen),
                             (unsigned long long)inj_stats_load(&p->rules[i].matched),
                             (unsigned long long)inj_stats_load(&p->rules[i].injected),
                             (unsigned long long)inj_stats_load(&p->rules[i].observed));
}

static int target_alive(watch_t *wt) {
  if (wt->child && fsk__target_poll(&wt->tgt))
    return 1;
  /* The root is gone (or not ours): the tree lives while any member does.
   * Relist it now, not from the cache, so a dead tree is seen at once. */
  return fsk__sampler_tree(&wt->smp, wt->child) > 0;
}

/* Wait for ms, watching for a signal and for the target's end.  Returns 0
 * when the time passed, 1 when something ended the wait. */
static int wait_ms(watch_t *wt, long ms) {
  double until = fsk__now() + (double)ms / 1000.0;

  while (fsk__now() < until) {
    if (fsk__signal_caught() || !target_alive(wt))
      return 1;
    usleep(ms > 2 ? 1000 : 250);
  }
  return 0;
}

/* One sample: the floor of the tree's count over the settle window, and
 * x when it was seen.  -1 when the tree is gone. */
static int sample_floor(watch_t *wt, double *x_at) {
  double until = fsk__now() + (double)wt->w.settle_ms / 1000.0;
  int floor_c = INT_MAX;

  do {
    double x = x_now(wt);
    int c = fsk__sampler_count(&wt->smp);

    if (c < 0)
      break;
    /* Ties move x forward: the floor held at least until this attempt. */
    if (c <= floor_c) {
      floor_c = c;
      *x_at = x;
    }
    if (fsk__now() >= until)
      break;
    usleep(250);
  } while (!fsk__signal_caught());
  return floor_c == INT_MAX ? -1 : floor_c;
}

/* Take a snapshot at a moment the count is at its floor, so in-flight fds
 * stay out of the identity record as far as the target allows.  0, or a
 * negative errno when the tree is gone (then nothing may be fed: an empty
 * table would close every fd in the identity record). */
static int snapshot_at(watch_t *wt, int floor_c) {
  int i;

  for (i = 0; i < 20; i++) {
    int c = fsk__sampler_count(&wt->smp);

    if (c <= floor_c || c < 0)
      break;
    usleep(250);
  }
  return fsk__sampler_snapshot(&wt->smp);
}

/* The sampling loop.  Returns 0, or an exit code for a usage error. */
static int watch_loop(watch_t *wt) {
  const watch_opts_t *w = &wt->w;
  double last_attempts = 0.0, last_progress, next_warn, deadline, end_x;
  long nsamples = 0;

  wt->t0 = fsk__now();
  last_progress = wt->t0;
  next_warn = wt->t0 + w->stall_s;
  deadline =
    wt->t0 + (w->duration_s > 0 && w->duration_s < w->timeout_s ? w->duration_s : w->timeout_s);
  /* Attempts mode: warm-up and cycles count attempts; interval mode: samples. */
  end_x = (double)(w->warmup + (w->cycles > 0 ? w->cycles : 0));
  wt->warm_idx = -1;

  for (;;) {
    double x = 0.0;
    int count, sig;

    if ((sig = fsk__signal_caught()) != 0) {
      snprintf(wt->stop_reason, sizeof wt->stop_reason, "interrupted by %s",
               sig == SIGINT ? "SIGINT" : "SIGTERM");
      break;
    }
    if (fsk__now() >= deadline) {
      if (w->duration_s > 0 && w->duration_s <= w->timeout_s)
        snprintf(wt->stop_reason, sizeof wt->stop_reason, "--duration %.1f s reached",
                 w->duration_s);
      else
        snprintf(wt->stop_reason, sizeof wt->stop_reason, "--timeout %.1f s reached", w->timeout_s);
      break;
    }
    if (!target_alive(wt)) {
      snprintf(wt->stop_reason, sizeof wt->stop_reason, "the target ended");
      break;
    }
    if (wt->attempts_mode) {
      double a = attempts_now(wt);

      if (a == last_attempts) {
        if (fsk__now() >= next_warn) {
          char rules[1024];

          rules_line(wt, rules, sizeof rules);
          fprintf(stderr, "fdsoak watch: no attempt for %.0f s (%.0f so far); %s\n",
                  fsk__now() - last_progress, a, rules);
          next_warn = fsk__now() + w->stall_s;
        }
        usleep(1000);
        continue;
      }
      last_attempts = a;
      last_progress = fsk__now();
      next_warn = last_progress + w->stall_s;
    } else if (nsamples > 0 && wait_ms(wt, w->interval_ms)) {
      continue; /* the loop head says why */
    }

    count = sample_floor(wt, &x);
    /* A sample that straddles the target's end is no sample: the kernel
     * closed its fds, the program did not. */
    if (count < 0 || !target_alive(wt))
      continue;
    if (!wt->attempts_mode)
      x = fsk__now() - wt->t0;

    if (wt->warm_idx < 0 && (wt->attempts_mode ? x >= (double)w->warmup : nsamples >= w->warmup)) {
      if (snapshot_at(wt, count) != 0)
        continue; /* the tree went away: the loop head says so */
      wt->warm_idx = nsamples;
      wt->x0 = x;
      fsk__sampler_baseline(&wt->smp, x);
    } else if (count != wt->smp.snap_count || nsamples % 50 == 0) {
      if (snapshot_at(wt, count) != 0)
        continue;
      if (wt->warm_idx >= 0)
        fsk__sampler_feed(&wt->smp, x);
    }
    if (fsk_scenario_push_x(&wt->sc, count, wt->smp.cls, x) != 0)
      return werr("out of memory");
    nsamples++;
    /* A fast program fits several attempts in one sample: the run goes on
     * past --cycles until the rule has the samples it needs. */
    if (w->cycles > 0 && (wt->attempts_mode ? x >= end_x : nsamples >= (long)end_x) &&
        wt->warm_idx >= 0 && nsamples - wt->warm_idx >= FSK_STAT_MIN_SAMPLES) {
      snprintf(wt->stop_reason, sizeof wt->stop_reason, "%ld %s after warm-up", w->cycles,
               wt->attempts_mode ? "attempts" : "samples");
      break;
    }
  }
  /* The last look is the last sample: feed it, so survivors are judged
   * against it, and it is not a cycle of its own. */
  if (wt->warm_idx >= 0 && nsamples > wt->warm_idx && wt->smp.nfds > 0 &&
      snapshot_at(wt, wt->sc.counts[nsamples - 1]) == 0 && target_alive(wt))
    fsk__sampler_feed(&wt->smp, wt->sc.xs[nsamples - 1]);
  return 0;
}

/* ------------------------------------------------------------------ */

static int start_target(watch_t *wt) {
  char shim[PATH_MAX];
  int rc, fd;

  if ((rc = fsk__shim_path(shim, sizeof(shim))) != 0)
    return werr("the fault-injection shim is missing (%s: %s)", shim, strerror(-rc));
  if ((rc = fsk__stats_create(wt->stats, sizeof wt->stats, "fdsoak-watch")) != 0)
    return werr("cannot create the shim's counter page in %s: %s",
                getenv("TMPDIR") != NULL && getenv("TMPDIR")[0] ? getenv("TMPDIR") : "/tmp",
                strerror(-rc));
  if ((rc = fsk__set_preload(shim, 0)) != 0)
    return werr("cannot preload the shim %s: %s", shim, strerror(-rc));
  setenv("FDSOAK_INJECT", wt->w.inject != NULL ? wt->w.inject : "", 1);
  setenv("FDSOAK_INJECT_STATS", wt->stats, 1);
  if (wt->w.origins != FSK_ORIGINS_OFF)
    setenv("FDSOAK_INJECT_TRACK", "1", 1);
  else
    unsetenv("FDSOAK_INJECT_TRACK");
  if (wt->w.origins == FSK_ORIGINS_LANG) {
    snprintf(wt->lang_log, sizeof wt->lang_log, "%s/fdsoak-lang-XXXXXX",
             getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
    if ((fd = mkstemp(wt->lang_log)) < 0) {
      wt->lang_log[0] = '\0';
      snprintf(wt->lang_err, sizeof wt->lang_err, "cannot create the language log: %s",
               strerror(errno));
    } else {
      close(fd);
      if (fsk__lang_setup(wt->lang_log, wt->lang_err, sizeof wt->lang_err) != 0) {
        unlink(wt->lang_log);
        wt->lang_log[0] = '\0';
      }
    }
    if (wt->lang_err[0])
      fprintf(stderr, "fdsoak watch: no language frames: %s\n", wt->lang_err);
  }
  fsk__subreaper();
  rc = fsk__target_spawn(&wt->tgt, wt->w.cmd);
  unsetenv("LD_PRELOAD"); /* this process itself never runs with the shim */
  if (rc != 0)
    return werr("cannot start '%s': %s", wt->w.cmd[0], strerror(rc));
  wt->child = 1;
  /* The shim initialises the page in its constructor: if that never
   * happens the target is static, or LD_PRELOAD was refused. */
  {
    double t0 = fsk__now();

    while ((rc = inj_stats_open(wt->stats, &wt->view)) == -EAGAIN && fsk__now() - t0 < 5.0 &&
           fsk__target_poll(&wt->tgt) && !fsk__signal_caught())
      usleep(2000);
  }
  if (rc != 0) {
    char life[160];

    fsk__target_poll(&wt->tgt);
    fsk__target_describe(&wt->tgt, life, sizeof life);
    /* 127 is the shell's and posix_spawnp's "could not run it". */
    if (wt->tgt.exited && WIFEXITED(wt->tgt.status) && WEXITSTATUS(wt->tgt.status) == 127)
      return werr("'%s' %s: nothing was watched", wt->w.cmd[0], life);
    return werr("the shim never loaded in '%s' (a statically linked program, or one that "
                "clears LD_PRELOAD?): no fault can be injected or counted; it %s",
                wt->w.cmd[0], life);
  }
  wt->have_view = 1;
  return 0;
}

/* Leaked fds get their origin: the process and attempt, and the shim's
 * record of the call that made them. */
/* Why a leaked fd of process comm has no language frames. */
static void lang_reason(watch_t *wt, const char *comm, pid_t pid) {
  if (wt->lang_note_set)
    return;
  wt->lang_note_set = 1;
  if (wt->lang_err[0])
    snprintf(wt->lang_note, sizeof wt->lang_note, "%s", wt->lang_err);
  else if (strncmp(comm, "python", 6) == 0)
    snprintf(wt->lang_note, sizeof wt->lang_note,
             "process %d (%s) gave no Python frames: it ran without site customisation "
             "(python -S or -I), ignored PYTHONPATH, or opened the fd outside Python code",
             (int)pid, comm);
  else if (strncmp(comm, "node", 4) == 0)
    snprintf(wt->lang_note, sizeof wt->lang_note,
             "process %d (%s) gave no JavaScript frames: NODE_OPTIONS was not honoured, or the "
             "fd was opened by a call fdsoak does not wrap",
             (int)pid, comm);
  else
    snprintf(wt->lang_note, sizeof wt->lang_note,
             "no language frames for process %d (%s): it is not a Python or Node process "
             "(native frames only)",
             (int)pid, comm);
}

static void name_origins(watch_t *wt, const char *label) {
  fsk_scenario_t *sc = &wt->sc;
  fsk_lang_log_t *lang = wt->lang_log[0] ? fsk__lang_load(wt->lang_log) : NULL;
  size_t i;

  for (i = 0; i < sc->nleaked; i++) {
    fsk_leak_t *l = &sc->leaked[i];
    const char *comm = label;
    char stack[1024];
    size_t k;
    int n;

    for (k = 0; k < wt->smp.nprocs; k++)
      if (wt->smp.procs[k].pid == l->pid)
        comm = wt->smp.procs[k].comm;
    n = snprintf(l->origin, sizeof l->origin, "process %d (%s), %s %ld", (int)l->pid, comm,
                 wt->attempts_mode ? "attempt" : "second", l->opened_cycle);
    /* The program's own frames first: they are what its author reads. */
    if (wt->w.origins == FSK_ORIGINS_LANG) {
      if (fsk__lang_stack(lang, l->pid, l->fd, fsk__origin_born(wt->stats, l->pid, l->fd), stack,
                          sizeof stack))
        snprintf(l->origin + n, sizeof l->origin - (size_t)n, "; by %s", stack);
      else
        lang_reason(wt, comm, l->pid);
    }
    if (wt->w.origins == FSK_ORIGINS_OFF)
      continue;
    if (!wt->child ||
        !fsk__origin_from_shim(wt->stats, l->pid, l->fd, fsk__sampler_maps(&wt->smp, l->pid),
                               l->origin, sizeof l->origin))
      sc->no_origin++;
  }
  /* A hook that stopped itself says so, whatever else is missing. */
  if (fsk__lang_note(lang) != NULL)
    snprintf(wt->lang_note, sizeof wt->lang_note, "%s", fsk__lang_note(lang));
  fsk__lang_free(lang);
}

/* The process that grew most: its limit and count project the run out. */
static const fsk_proc_info_t *grower(const fsk_sampler_t *s) {
  const fsk_proc_info_t *best = NULL;
  size_t i;

  for (i = 0; i < s->nprocs; i++) {
    const fsk_proc_info_t *p = &s->procs[i];

    if (p->fd_first < 0)
      continue;
    if (best == NULL || p->fd_last - p->fd_first > best->fd_last - best->fd_first)
      best = p;
  }
  return best;
}

static void fill_target(watch_t *wt, fsk_run_t *run) {
  fsk_target_info_t *ti = &run->target;
  size_t i, used = 0;

  ti->has = 1;
  ti->pid = wt->child ? wt->tgt.pid : wt->w.pid;
  for (i = 0; wt->w.cmd != NULL && wt->w.cmd[i] != NULL && used < sizeof ti->cmd; i++)
    used +=
      (size_t)snprintf(ti->cmd + used, sizeof ti->cmd - used, "%s%s", i ? " " : "", wt->w.cmd[i]);
  if (wt->w.cmd == NULL)
    snprintf(ti->cmd, sizeof ti->cmd, "pid %d", (int)wt->w.pid);
  snprintf(ti->source, sizeof ti->source, "%s",
           !wt->attempts_mode               ? "interval"
           : wt->has_faults && wt->has_pass ? "faults+observed"
           : wt->has_pass                   ? "observed"
                                            : "faults");
  ti->exit_code = -1;
  if (wt->child) {
    fsk__target_poll(&wt->tgt);
    ti->ended = wt->tgt.exited;
    if (wt->tgt.exited && WIFEXITED(wt->tgt.status))
      ti->exit_code = WEXITSTATUS(wt->tgt.status);
    if (wt->tgt.exited && WIFSIGNALED(wt->tgt.status))
      ti->signal = WTERMSIG(wt->tgt.status);
    ti->seconds = (wt->tgt.exited ? wt->tgt.t_exit : fsk__now()) - wt->tgt.t_start;
    if (wt->tgt.exited)
      fsk__target_describe(&wt->tgt, ti->end, sizeof ti->end);
    else
      snprintf(ti->end, sizeof ti->end, "stopped by fdsoak after %.2f s (%s)", ti->seconds,
               wt->stop_reason);
    snprintf(ti->death, sizeof ti->death, "%s", wt->tgt.death);
  } else {
    ti->seconds = fsk__now() - wt->t0;
    snprintf(ti->end, sizeof ti->end, "%s after %.2f s",
             target_alive(wt) ? "still running (not ours to stop)" : "ended", ti->seconds);
  }
  if (wt->smp.at_limit && ti->death[0] == '\0')
    snprintf(ti->death, sizeof ti->death, "%s", wt->smp.limit_note);
  else if (wt->smp.at_limit)
    snprintf(ti->death + strlen(ti->death), sizeof ti->death - strlen(ti->death), "; %s",
             wt->smp.limit_note);
  snprintf(ti->origins, sizeof ti->origins, "%s",
           wt->w.origins == FSK_ORIGINS_LANG     ? "lang"
           : wt->w.origins == FSK_ORIGINS_NATIVE ? "native"
                                                 : "off");
  ti->attempts = wt->attempts_mode ? attempts_now(wt) : 0.0;
  if (wt->sc.nsamples > 0 && wt->attempts_mode)
    ti->attempts_per_sample =
      (wt->sc.xs[wt->sc.nsamples - 1] - wt->sc.xs[0]) / (double)wt->sc.nsamples;
  ti->procs = wt->smp.procs;
  ti->nprocs = wt->smp.nprocs;
  ti->nprocs_folded = wt->smp.nfolded;
  ti->folded_fd_max = wt->smp.folded_fd_max;
}

static void print_target(const fsk_run_t *run) {
  const fsk_target_info_t *ti = &run->target;

  printf("target: %s (pid %d): %s\n", ti->cmd, (int)ti->pid, ti->end);
  if (strcmp(ti->source, "interval") != 0)
    printf("attempts: %.0f (%s), %.2f per sample\n", ti->attempts, ti->source,
           ti->attempts_per_sample);
  if (ti->nprocs_folded > 0)
    printf("processes: %zu in the tree (%zu listed; %zu that ended earlier are counted, not "
           "listed: at most %d fds each)\n",
           ti->nprocs + ti->nprocs_folded, ti->nprocs, ti->nprocs_folded, ti->folded_fd_max);
  else if (ti->nprocs > 1)
    printf("processes: %zu in the tree\n", ti->nprocs);
  if (ti->death[0])
    printf("fd exhaustion: %s\n", ti->death);
  if (ti->lang_note[0])
    printf("origins: %s\n", ti->lang_note);
  if (run->interrupted)
    printf("interrupted: partial results\n");
}

int fsk__watch_main(int argc, char **argv) {
  static watch_t wt; /* large (the sampler's tree): not on the stack */
  watch_opts_t *w = &wt.w;
  fsk_run_t run;
  char err[256], ts[32], label[64];
  int rc, code = FSK_EXIT_USAGE;
  size_t post;
  const fsk_proc_info_t *g;

  memset(&wt, 0, sizeof wt);
  if ((rc = parse_watch(argc, argv, w)) != 0)
    return rc < 0 ? 0 : rc;
  memset(&run, 0, sizeof(run));

  if (w->inject != NULL) {
    /* A spec the shim would reject kills the target with exit 2; say what
     * is wrong here first, before anything starts. */
    inj_spec_t *spec = malloc(sizeof(*spec));
    uint32_t i;

    if (spec == NULL)
      return werr("out of memory");
    rc = inj_spec_parse(w->inject, spec, err, sizeof(err));
    for (i = 0; rc == 0 && i < spec->nrules; i++) {
      if (spec->rules[i].action == INJ_DO_PASS)
        wt.has_pass = 1;
      else
        wt.has_faults = 1;
    }
    free(spec);
    if (rc != 0)
      return werr("--inject: %s", err);
  }
  wt.attempts_mode = w->cmd != NULL && (wt.has_faults || wt.has_pass) && !w->interval_given;
  if (w->duration_s > 0 && wt.attempts_mode)
    w->cycles = -1; /* --duration bounds the run; attempts still make the x axis */

  /* Where the results go is checked before the soak, not after it. */
  {
    char ts0[32];

    if (!w->out_given) {
      fsk__utc_now(NULL, 0, ts0, sizeof ts0);
      snprintf(w->out, sizeof(w->out), "results/runs/%s-watch-%d", ts0, (int)getpid());
      w->out_given = 2; /* named here: results/latest still follows it */
    }
    if ((rc = fsk__out_probe(w->out)) != 0)
      return werr("cannot write results to %s: %s", w->out, strerror(-rc));
  }
  fsk__signals_catch();
  fsk_scenario_init(&wt.sc, "watch", "", w->warmup);
  wt.stats[0] = '\0';
  if (w->cmd != NULL) {
    if ((rc = start_target(&wt)) != 0) {
      code = rc;
      goto out;
    }
  } else {
    char dir[64];
    snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)w->pid);
    if (access(dir, R_OK | X_OK) != 0) {
      code = werr("cannot read %s: %s (no such process, or not yours?)", dir, strerror(errno));
      goto out;
    }
  }
  if (fsk__sampler_init(&wt.smp, wt.child ? wt.tgt.pid : w->pid, wt.child) != 0) {
    code = werr("out of memory");
    goto out;
  }

  if (w->cmd != NULL)
    snprintf(label, sizeof(label), "%s", basename(w->cmd[0]));
  else
    snprintf(label, sizeof(label), "pid-%d", (int)w->pid);
  snprintf(wt.sc.adapter, sizeof wt.sc.adapter, "%.31s", label);
  wt.sc.unit = wt.attempts_mode ? "attempt" : "hour";

  if ((rc = watch_loop(&wt)) != 0) {
    code = rc;
    goto out;
  }
  run.interrupted = fsk__signal_caught() != 0;
  if (wt.smp.denied != 0) {
    size_t got = wt.warm_idx >= 0 && wt.sc.nsamples > (size_t)wt.warm_idx
                   ? wt.sc.nsamples - (size_t)wt.warm_idx
                   : 0;
    char d[64];

    snprintf(d, sizeof d, "/proc/%d/fd", (int)wt.smp.denied);
    /* Not "too early to judge": fdsoak was not allowed to look. */
    if (got < FSK_STAT_MIN_SAMPLES) {
      code = werr("cannot read %s of process %d (%s): permission denied (a setuid or "
                  "non-dumpable program, or another user's): its fds cannot be counted; run "
                  "fdsoak as its user or as root",
                  d, (int)wt.smp.denied, wt.smp.denied_comm);
      goto out;
    }
    fprintf(stderr,
            "fdsoak watch: warning: cannot read %s of process %d (%s): permission denied; "
            "its fds are not counted\n",
            d, (int)wt.smp.denied, wt.smp.denied_comm);
  }
  if (wt.have_view && inj_stats_load(&wt.view.page->undecided) > 0)
    /* The shim saw calls it could not decide (a thread still inside the
     * shim's own work): some faults or observations may be missing. */
    fprintf(stderr,
            "fdsoak watch: warning: the shim let %llu matching call%s through "
            "undecided (a thread's re-entry guard was held); the attempt count may "
            "be short\n",
            (unsigned long long)inj_stats_load(&wt.view.page->undecided),
            inj_stats_load(&wt.view.page->undecided) == 1 ? "" : "s");

  /* Nothing to judge: say why in the user's terms, never as advice about
   * warm-up. */
  post = wt.warm_idx >= 0 && wt.sc.nsamples > (size_t)wt.warm_idx
           ? wt.sc.nsamples - (size_t)wt.warm_idx
           : 0;
  if (wt.child)
    fsk__target_poll(&wt.tgt);
  if (wt.attempts_mode && attempts_now(&wt) == 0 && !run.interrupted &&
      !(wt.child && wt.tgt.death[0])) {
    char rules[1024], life[160];

    rules_line(&wt, rules, sizeof rules);
    if (wt.child)
      fsk__target_describe(&wt.tgt, life, sizeof life);
    code = werr("no attempt happened: the rule never fired (%s); the target %s", rules,
                wt.child ? life : "ran");
    goto out;
  }
  if (post < FSK_STAT_MIN_SAMPLES && wt.child && wt.tgt.exited && !wt.tgt.death[0] &&
      !wt.smp.at_limit && !run.interrupted) {
    char life[160];

    fsk__target_describe(&wt.tgt, life, sizeof life);
    code = werr("'%s' %s, after %.0f attempts and %zu samples: too early to judge", label, life,
                attempts_now(&wt), post);
    goto out;
  }

  /* --timeout is a bound, not the end the user asked for: a soak of
   * --cycles N that it cut short is as partial as a cancelled one. */
  if (w->cycles > 0 && strncmp(wt.stop_reason, "--timeout", 9) == 0)
    run.interrupted = 1;
  /* Judge: the one path `run` uses too. */
  wt.sc.warmup = wt.warm_idx >= 0 ? wt.warm_idx : (long)wt.sc.nsamples;
  wt.sc.warmup_x = (double)w->warmup;
  wt.sc.cycles = wt.attempts_mode ? (long)(attempts_now(&wt) - wt.x0) : (long)post;
  wt.sc.attempts = wt.attempts_mode ? attempts_now(&wt) - wt.x0 : 0.0;
  if (post > 0) {
    fsk_leak_t *l = NULL;
    const fsk_leak_t *peak = NULL;
    size_t n = fsk__sampler_survivors(&wt.smp, wt.sc.xs[wt.sc.nsamples - 1], &l);
    size_t np = fsk__sampler_peak_survivors(&wt.smp, &peak);

    /* A program that ended by itself may have closed what it leaked on its
     * way out (an interpreter's shutdown closes every file object): its
     * survivors are those of its fullest table. */
    if (wt.child && wt.tgt.exited && np > n)
      fsk_scenario_set_leaked(&wt.sc, peak, np);
    else
      fsk_scenario_set_leaked(&wt.sc, l, n);
    free(l);
  }
  /* Everything is gathered: stop the target now, not after the report
   * (symbolizing hundreds of fds takes a while, and the program's end
   * must not wait for it); its maps were kept for the report. */
  fill_target(&wt, &run);
  if (wt.child)
    fsk__target_stop(&wt.tgt, STOP_GRACE_S);
  fsk_scenario_judge(&wt.sc, 0);
  if (run.target.death[0]) {
    /* Death by fd exhaustion is the leak, proven by the program itself. */
    wt.sc.verdict = FSK_VERDICT_LEAK;
    snprintf(wt.sc.stats.why, sizeof wt.sc.stats.why, "the program ran out of fds: %.200s.",
             run.target.death);
  } else if (run.interrupted && wt.sc.verdict == FSK_VERDICT_FLAT) {
    wt.sc.verdict = FSK_VERDICT_INCONCLUSIVE;
    snprintf(err, sizeof err, "%s", wt.sc.stats.why);
    snprintf(wt.sc.stats.why, sizeof wt.sc.stats.why, "%.40s before the end; so far: %.180s",
             wt.stop_reason, err);
  }
  if (wt.sc.verdict == FSK_VERDICT_LEAK)
    name_origins(&wt, label);
  snprintf(run.target.lang_note, sizeof run.target.lang_note, "%s", wt.lang_note);
  wt.sc.seconds = fsk__now() - wt.t0;

  run.mode = "watch";
  fsk__utc_now(run.started_utc, sizeof(run.started_utc), ts, sizeof(ts));
  run.scen = &wt.sc;
  run.nscen = 1;
  g = grower(&wt.smp);
  run.rlimit_nofile = g != NULL && g->rlimit_nofile > 0 ? g->rlimit_nofile : 1024;
  run.cycle_period_s = w->period_s;
  fsk_run_finish(&run);

  if ((rc = fsk_results_write(w->out, &run)) != 0) {
    /* The verdict stands (a leak found is a leak, exit 1); only the files
     * are missing. */
    code = werr("cannot write results to %s: %s (verdict: %s)", w->out, strerror(-rc),
                fsk_verdict_name(run.verdict));
    if (run.verdict == FSK_VERDICT_LEAK)
      code = FSK_EXIT_LEAK;
    goto out;
  }
  if (w->out_given == 2)
    fsk_results_link_latest("results", w->out);
  if (w->json) {
    fsk__print_summary(w->out);
  } else if (!w->quiet) {
    fsk_print_table(stdout, &run);
    print_target(&run);
    if (wt.sc.no_origin > 0)
      printf("%zu leaked fd%s without an origin: the shim's record of %s was overwritten "
             "(its ring holds %d)\n",
             wt.sc.no_origin, wt.sc.no_origin == 1 ? "" : "s", wt.sc.no_origin == 1 ? "it" : "them",
             INJ_FD_SLOTS);
    /* The table already gave the why of a verdict that is not flat. */
    if (run.verdict == FSK_VERDICT_FLAT)
      printf("%s\n", wt.sc.stats.why);
    printf("results: %s\n", w->out);
  } else {
    printf("%s\n", fsk_verdict_name(run.verdict));
  }
  code = fsk_exit_code(run.verdict);

out:
  fsk__origin_release();
  /* Nothing the target started outlives the run. */
  if (wt.child)
    fsk__target_stop(&wt.tgt, STOP_GRACE_S);
  if (wt.have_view)
    inj_stats_close(&wt.view);
  if (wt.stats[0] != '\0')
    unlink(wt.stats);
  if (wt.lang_log[0] != '\0')
    unlink(wt.lang_log);
  /* A default results directory made for a run that wrote nothing goes
   * (rmdir removes it only when empty). */
  if (w->out_given == 2)
    rmdir(w->out);
  fsk__sampler_free(&wt.smp);
  fsk_scenario_free(&wt.sc);
  return code;
}
