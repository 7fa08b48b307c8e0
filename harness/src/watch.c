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
#include "args.h"
#include "driver.h"
#include "results_internal.h"
#include "grow.h"
#include "lang.h"
#include "proc.h"
#include "sampler.h"
#include "speed.h"
#include "supervise.h"
#include "unreachd.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
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
  double speed;   /* --speed: the target's clocks run this many times faster; 0 off */
  int origins;    /* fsk__origins_t */
  int engine;     /* fsk__engine_t */
  pid_t pid;
  long pid_arg; /* --pid as parsed */
  char **cmd;
  char out[PATH_MAX];
  int out_given;
  int json;
  int quiet;
  const char *sarif; /* --sarif FILE */
} watch_opts_t;

/* The one error printer (args.c), under the name this file always used. */
#define werr(...) fsk__error("watch", __VA_ARGS__)

static int set_origins(void *opts, const char *v, char *why, size_t len) {
  if ((((watch_opts_t *)opts)->origins = fsk__origins_parse(v)) >= 0)
    return 0;
  snprintf(why, len, "--origins: '%s' is not native, lang or off", v);
  return -1;
}

static int set_speed(void *opts, const char *v, char *why, size_t len) {
  return fsk__speed_parse(v, &((watch_opts_t *)opts)->speed, why, len) == 0 ? 0 : -1;
}

static int set_engine(void *opts, const char *v, char *why, size_t len) {
  if ((((watch_opts_t *)opts)->engine = fsk__engine_parse(v)) >= 0)
    return 0;
  snprintf(why, len, "--engine: '%s' is not auto, preload or seccomp", v);
  return -1;
}

#define WO(field) offsetof(watch_opts_t, field)
static const fsk__flag_t watch_flags[] = {
  {"--inject", NULL, FSK_ARG_STR, "SPEC", WO(inject), 0, 0, NULL,
   "shim rules; each injected fault or do=pass call is an attempt", 0},
  {"--cycles", NULL, FSK_ARG_REAL_LONG, "N", WO(cycles), 2, 1e8, NULL,
   "attempts after warm-up (interval mode: samples); default 200", 0},
  {"--duration", NULL, FSK_ARG_REAL, "S", WO(duration_s), 0.1, 7 * 86400, NULL,
   "bound the run by time instead of --cycles", 0},
  {"--warmup", NULL, FSK_ARG_REAL_LONG, "N", WO(warmup), 0, 1e8, NULL,
   "attempts (samples) before judging starts; default cycles/10, <= 50", 0},
  {"--interval", NULL, FSK_ARG_REAL_LONG, "MS", WO(interval_ms), 1, 3600000, NULL,
   "interval mode: one sample every MS (default 100; --pid implies it)", 0},
  {"--settle", NULL, FSK_ARG_REAL_LONG, "MS", WO(settle_ms), 0, 60000, NULL,
   "a sample is the floor of the count over this window (default 20)", 0},
  {"--period", NULL, FSK_ARG_REAL, "S", WO(period_s), 0.001, 365 * 86400.0, NULL,
   "production cadence of attempts for the projection (default 300)", 0},
  {"--timeout", NULL, FSK_ARG_REAL, "S", WO(timeout_s), 0.1, 30 * 86400.0, NULL,
   "bound on the whole run (default 3600)", 0},
  {"--stall", NULL, FSK_ARG_REAL, "S", WO(stall_s), 0.1, 86400.0, NULL,
   "warn, with the rules' counters, after S s without an attempt (10)", 0},
  {"--origins", NULL, FSK_ARG_CALL, "lang|native|off", 0, 0, 0, set_origins,
   "where leaked fds were opened: lang (CPython 3.11/Node stacks and\n"
   "native frames, the default), native, or off",
   0},
  {"--speed", NULL, FSK_ARG_CALL, "N", 0, 0, 0, set_speed,
   "run the target's clocks and timed waits N times faster (1 < N <= 1e6,\n"
   "libfaketime and the shim); reports are in its own (virtual) hours",
   0},
  {"--engine", NULL, FSK_ARG_CALL, "auto|preload|seccomp", 0, 0, 0, set_engine,
   "who applies --inject: preload (the shim), seccomp (a supervisor in\n"
   "fdsoak, for static and Go programs), auto (the default: seccomp\n"
   "for a static or Go program, the shim otherwise)",
   0},
  {"--out", NULL, FSK_ARG_PATH, "DIR", WO(out), 0, 0, NULL,
   "the results directory (default results/runs/TIME-watch-PID)", 0},
  {"--sarif", NULL, FSK_ARG_STR, "FILE", WO(sarif), 0, 0, NULL,
   "also write the leak groups as SARIF 2.1.0 (code scanning)", 0},
  {"--json", NULL, FSK_ARG_BOOL, NULL, WO(json), 0, 0, NULL, "summary.json on stdout", 0},
  {"--quiet", "-q", FSK_ARG_BOOL, NULL, WO(quiet), 0, 0, NULL, "the verdict only", 0},
  {"--pid", NULL, FSK_ARG_REAL_LONG, "PID", WO(pid_arg), 1, 4194304, NULL,
   "watch a running process and its descendants (interval mode)", 1},
  {NULL, NULL, 0, NULL, 0, 0, 0, NULL, NULL, 0},
};

const fsk__verb_t fsk__watch_verb = {
  "watch",
  watch_flags,
  "(--pid PID | -- CMD [ARG...])",
  1,
  "  soak any program from the outside: CMD started with the shim preloaded,\n"
  "  or a running process\n",
  "exit: 0 flat, 1 leak, 2 usage/environment or the target failed early, 3 inconclusive\n"};

/* What no single flag can check: the target, and flags that exclude each
 * other. */
static int check_watch(watch_opts_t *w) {
  char why[200];

  if ((w->pid != 0) == (w->cmd != NULL))
    return werr("give exactly one target: --pid PID or -- CMD [ARG...]");
  if (w->pid != 0 && w->speed > 0)
    return werr("--speed cannot be used with --pid: a running process's clock cannot be changed; "
                "start it under fdsoak (-- CMD)");
  if (w->pid != 0 && w->inject != NULL)
    return werr("--inject needs a command to start (-- CMD): a running process has no shim");
  if (w->pid != 0 && w->engine == FSK_ENGINE_SECCOMP)
    return werr("--engine seccomp needs a command to start (-- CMD): a filter is installed "
                "before the program runs");
  if (w->cycles > 0 && w->duration_s > 0)
    return werr("give --cycles or --duration, not both");
  if (fsk__sup_bpf_env(why, sizeof why) < 0)
    return werr("%s", why);
  if (w->cycles < 0 && w->duration_s <= 0)
    w->cycles = 200;
  if (w->warmup < 0)
    w->warmup = w->cycles > 0 ? (w->cycles / 10 < 50 ? w->cycles / 10 : 50) : 10;
  return 0;
}

/* 0: parsed; -1: the help was printed; else the exit code. */
static int parse_watch(int argc, char **argv, watch_opts_t *w) {
  fsk__args_t a;
  int rc;

  memset(w, 0, sizeof(*w));
  w->cycles = -1;
  w->interval_ms = 100;
  w->settle_ms = 20;
  w->warmup = -1;
  w->period_s = 300;
  w->timeout_s = 3600;
  w->stall_s = 10;
  w->origins = FSK_ORIGINS_LANG;
  if ((rc = fsk__args_parse(&fsk__watch_verb, argc, argv, w, &a)) != 0)
    return rc == 1 ? -1 : rc;
  if (a.cmd != NULL && a.ncmd == 0)
    return werr("'--' must be followed by a command");
  w->cmd = a.cmd;
  w->pid = (pid_t)w->pid_arg;
  w->interval_given = fsk__args_seen(&fsk__watch_verb, &a, "--interval");
  w->out_given = fsk__args_seen(&fsk__watch_verb, &a, "--out");
  return check_watch(w);
}

/* ------------------------------------------------------------------ */

typedef struct {
  watch_opts_t w;
  int attempts_mode; /* cycles are attempts (the shim's page) */
  int has_faults, has_pass;
  inj_stats_view_t view;
  int have_view;
  double view_tried; /* when view_late last tried to map the page */
  char stats[PATH_MAX];
  char lang_log[PATH_MAX]; /* FDSOAK_LANG_LOG, or "" */
  char lang_err[200];      /* why the language hooks are off, or "" */
  fsk__target_t tgt;
  int child;
  fsk__sampler_t smp;
  fsk_scenario_t sc;
  long warm_idx; /* first post-warm-up sample, -1 until reached */
  int lang_note_set;
  char lang_note[256];
  double x0; /* attempts (seconds) at the start of judging */
  double t0;
  char stop_reason[160];
  /* --speed: the program's virtual age at each sample, and when it ran out
   * of fds (virtual seconds, -1 not yet) after how many attempts. */
  double *vts;
  size_t nvts, capvts;
  double exh_vt, exh_attempts;
  fsk__sup_t *sup;       /* the seccomp engine, or NULL (the shim's, or none) */
  fsk__sup_t *hand;      /* auto under the shim: the supervisor of what it hands over */
  int prog_kind;         /* fsk__elf_kind of the command, or a negative errno */
  char origin_note[256]; /* why some leaked fds have no origin, or "" */
  /* Members of the tree seen without the shim while the rules waited for
   * an attempt (look_for_bare): each (pid, program) looked at once. */
  struct {
    pid_t pid;
    char exe[96];
    int served; /* under the supervisor's filter (handed over through exec) */
  } looked[64];
  size_t nlooked, nbare;
  /* With hand-overs: whether each process of the tree was under the
   * supervisor's filter, looked at when the sampler first listed it (and
   * again while it was not), so that one which exited before the report
   * keeps its engine (a dynamic child below a supervised program has the
   * shim mapped, standing down: seccomp, not shim). */
  struct {
    pid_t pid;
    int served;
  } eng[512];
  size_t neng;
  double eng_next;
  pid_t bare_pid;
  char bare_comm[32];
  fsk__unreachd_t unreach; /* the namespace helper, fdsoak's child (unreachd.c) */
} watch_t;

/* The program's own age in virtual seconds: libfaketime's clock starts at
 * its start and runs `speed` times faster than ours. */
static double vt_now(const watch_t *wt) { return (fsk__now() - wt->tgt.t_start) * wt->w.speed; }

static int vts_push(watch_t *wt, double v) {
  int rc = fsk__grow(&wt->vts, &wt->capvts, wt->nvts + 1, sizeof *wt->vts, 256);

  if (rc != 0)
    return rc;
  wt->vts[wt->nvts++] = v;
  return 0;
}

static double attempts_now(const watch_t *wt) {
  if (!wt->have_view)
    return 0.0;
  /* Connects decided in the kernel reach the page through a copy made
   * every 20 ms: read it fresh (a few map lookups). */
  fsk__sup_sync(wt->sup);
  return (double)(inj_stats_load(&wt->view.page->injected_total) +
                  inj_stats_load(&wt->view.page->observed_total));
}

/* Without rules the start does not wait for the shim's page (a static
 * program never makes one), but the page still holds the shim's count of
 * calls that really failed with EMFILE/ENFILE, the only evidence of
 * exhaustion besides a process at its limit: map it once it is there
 * (tried at most twice a second). */
static void view_late(watch_t *wt) {
  if (wt->have_view || !wt->child || wt->sup != NULL || wt->stats[0] == '\0' ||
      fsk__now() - wt->view_tried < 0.5)
    return;
  wt->view_tried = fsk__now();
  if (inj_stats_open(wt->stats, &wt->view) == 0)
    wt->have_view = 1;
}

/* Calls that really failed with EMFILE or ENFILE, as the shim counted them. */
static int real_exhaustion(const watch_t *wt) {
  return wt->have_view &&
         inj_stats_load(&wt->view.page->real_emfile) + inj_stats_load(&wt->view.page->real_enfile) >
           0;
}

/* x of a sample: cumulative attempts, or seconds since the start. */
static double x_now(const watch_t *wt) {
  if (wt->attempts_mode)
    return attempts_now(wt);
  return (fsk__now() - wt->t0) * (wt->w.speed > 0 ? wt->w.speed : 1.0);
}

static void rules_line(const watch_t *wt, char *buf, size_t len) {
  const inj_stats_page_t *p = wt->view.page;
  size_t used = 0;
  uint32_t i;

  buf[0] = '\0';
  fsk__sup_sync(wt->sup);
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

/* While no attempt comes, note the members of the tree the shim is not
 * loaded in (a static or Go program behind a shell), so a run that ends
 * without attempts can say which process the rules did not reach.  The
 * samples are left alone: they, and each process's limit, start with the
 * first attempt. */
/* Is the shim mapped in process pid: 1, 0, or -1 to ask again later (no
 * maps, or caught while the loader maps it: just exec'd, a posix_spawn
 * trampoline or any dynamic program; the shim comes before libc, so a
 * process with the loader and no libc yet is not judged). */
static int shim_mapped(pid_t pid) {
  char path[64], line[512];
  int shim = 0, loader = 0, libc = 0;
  FILE *f;

  snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
  if ((f = fopen(path, "re")) == NULL)
    return -1;
  while (!shim && fgets(line, sizeof line, f) != NULL) {
    shim = strstr(line, "libfdsoak-inject") != NULL;
    loader |= strstr(line, "/ld-linux") != NULL;
    libc |= strstr(line, "/libc.so") != NULL;
  }
  fclose(f);
  return shim ? 1 : loader && !libc ? -1 : 0;
}

/* The seccomp filters over process pid (0: self), or -1. */
static int filters_of(pid_t pid) {
  char path[64], line[128];
  int v = -1;
  FILE *f;

  if (pid > 0)
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
  else
    snprintf(path, sizeof path, "/proc/self/status");
  if ((f = fopen(path, "re")) == NULL)
    return -1;
  while (v < 0 && fgets(line, sizeof line, f) != NULL)
    if (sscanf(line, "Seccomp_filters: %d", &v) != 1)
      v = -1;
  fclose(f);
  return v;
}

/* Is process pid under a seccomp filter that fdsoak is not under (ours,
 * in a tree fdsoak started with hand-overs on: the shim installed it
 * before an exec)?  A container's own profile is over fdsoak too. */
static int under_filter(pid_t pid) {
  int n = filters_of(pid), mine = filters_of(0);

  return n > 0 && mine >= 0 && n > mine;
}

static void look_for_bare(watch_t *wt) {
  size_t n, i, k;

  if (wt->sup != NULL || !wt->child || wt->w.inject == NULL)
    return;
  /* The plain listing: the sampler's would take each process's limit now,
   * before the program set its own. */
  if (fsk__tree_list(&wt->tgt.tree) < 0)
    return;
  n = wt->tgt.tree.n;
  for (i = 0; i < n && wt->nlooked < sizeof wt->looked / sizeof *wt->looked; i++) {
    pid_t pid = wt->tgt.tree.pids[i], pp;
    char path[64], exe[96] = "";
    ssize_t len;
    int shim;

    snprintf(path, sizeof path, "/proc/%d/exe", (int)pid);
    if ((len = readlink(path, exe, sizeof exe - 1)) <= 0)
      continue;
    exe[len] = '\0';
    for (k = 0; k < wt->nlooked; k++)
      if (wt->looked[k].pid == pid && strcmp(wt->looked[k].exe, exe) == 0)
        break;
    if (k < wt->nlooked)
      continue;
    if ((shim = shim_mapped(pid)) < 0)
      continue;
    wt->looked[wt->nlooked].pid = pid;
    snprintf(wt->looked[wt->nlooked].exe, sizeof wt->looked[0].exe, "%s", exe);
    wt->looked[wt->nlooked].served = !shim && wt->hand != NULL && under_filter(pid);
    wt->nlooked++;
    if (!shim && !wt->looked[wt->nlooked - 1].served && wt->nbare++ == 0) {
      wt->bare_pid = pid;
      if (fsk__proc_info(pid, wt->bare_comm, sizeof wt->bare_comm, &pp) != 0)
        snprintf(wt->bare_comm, sizeof wt->bare_comm, "?");
    }
  }
}

/* Note which of the sampled processes are under the filter (wt->eng):
 * new ones at once, the others not yet under it (a child that will exec a
 * handed-over program) every 100 ms.  Served stays served. */
static void note_engines(watch_t *wt) {
  size_t i, k;
  int again;

  if (wt->hand == NULL)
    return;
  again = fsk__now() >= wt->eng_next;
  for (i = 0; i < wt->smp.nprocs; i++) {
    pid_t pid = wt->smp.procs[i].pid;

    for (k = 0; k < wt->neng && wt->eng[k].pid != pid; k++)
      ;
    if (k == wt->neng) {
      if (wt->neng == sizeof wt->eng / sizeof *wt->eng)
        continue;
      wt->eng[wt->neng].pid = pid;
      wt->eng[wt->neng++].served = 0;
    } else if (wt->eng[k].served || !again) {
      continue;
    }
    wt->eng[k].served = fsk__sup_served(wt->hand, pid) || under_filter(pid);
  }
  if (again)
    wt->eng_next = fsk__now() + 0.1;
}

/* The sampling loop.  Returns 0, or an exit code for a usage error. */
static int watch_loop(watch_t *wt) {
  const watch_opts_t *w = &wt->w;
  double last_attempts = 0.0, last_progress, next_warn, deadline, end_x, next_look = 0.0;
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
               sig == SIGINT   ? "SIGINT"
               : sig == SIGHUP ? "SIGHUP"
                               : "SIGTERM");
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
    /* Under --speed, running out of fds is the production incident
     * reproduced: note its virtual hour, and the run has its answer. */
    view_late(wt);
    if (w->speed > 0 && (real_exhaustion(wt) || wt->smp.at_limit)) {
      wt->exh_vt = vt_now(wt);
      wt->exh_attempts = attempts_now(wt);
      snprintf(wt->stop_reason, sizeof wt->stop_reason, "the program ran out of fds");
      break;
    }
    if (wt->attempts_mode) {
      double a = attempts_now(wt);

      if (a == last_attempts) {
        /* Know the tree while nothing happens, so a run without attempts
         * can still say which process the rules did not reach. */
        if (fsk__now() >= next_look) {
          look_for_bare(wt);
          next_look = fsk__now() + 0.1;
        }
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
    note_engines(wt);
    /* A sample that straddles the target's end is no sample: the kernel
     * closed its fds, the program did not. */
    if (count < 0 || !target_alive(wt))
      continue;
    if (!wt->attempts_mode)
      x = x_now(wt);

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
    if (fsk_scenario_push_x(&wt->sc, count, wt->smp.cls, x) != 0 ||
        (w->speed > 0 && vts_push(wt, vt_now(wt)) != 0))
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

/* The seccomp engine serves a static or Go program (auto), or any program
 * (--engine seccomp), when there are rules to apply, or origins to record
 * (counting alone needs no engine: without rules and with --origins off,
 * nothing is installed).  0, or an exit code. */
static int choose_engine(watch_t *wt) {
  char prog[PATH_MAX], why[512];
  inj_spec_t *spec;
  int rc, bad;

  wt->prog_kind = fsk__elf_kind(wt->w.cmd[0], prog, sizeof prog);
  if (wt->w.engine == FSK_ENGINE_PRELOAD ||
      (wt->w.inject == NULL && wt->w.origins == FSK_ORIGINS_OFF))
    return 0;
  if (wt->w.engine == FSK_ENGINE_AUTO &&
      !(wt->prog_kind > 0 && (wt->prog_kind & (FSK_ELF_STATIC | FSK_ELF_GO))))
    return 0;
  if (wt->prog_kind < 0)
    return werr("cannot start '%s': %s", wt->w.cmd[0], strerror(-wt->prog_kind));
  if ((spec = malloc(sizeof *spec)) == NULL)
    return werr("out of memory");
  rc = inj_spec_parse(wt->w.inject != NULL ? wt->w.inject : "", spec, why, sizeof why);
  if (rc == 0 && (bad = fsk__sup_unsupported(spec, why, sizeof why)) != 0) {
    free(spec);
    return werr("--inject: rule %d: %s (engine seccomp%s)", bad, why,
                wt->w.engine == FSK_ENGINE_AUTO ? ", chosen for a static or Go program" : "");
  }
  if (rc == 0 && (rc = fsk__sup_new(&wt->sup, spec, wt->stats)) != 0) {
    free(spec);
    return werr("cannot set up the seccomp engine: %s", strerror(-rc));
  }
  if (wt->sup != NULL && wt->w.origins != FSK_ORIGINS_OFF)
    fsk__sup_track(wt->sup);
  free(spec);
  return 0;
}

/* --engine auto under the shim: a supervisor that takes the static and Go
 * programs the shim hands over when they are exec'd (exec.c), with the
 * same rules (or none: then for their Go origins), and with getaddrinfo
 * rules the DNS stub their port-53 sockets are pointed at.  0, or an exit
 * code. */
static int hand_setup(watch_t *wt) {
  inj_spec_t *spec;
  char why[200], env[160];
  int rc;

  if (wt->w.engine != FSK_ENGINE_AUTO || (wt->w.inject == NULL && wt->w.origins == FSK_ORIGINS_OFF))
    return 0;
  if ((spec = malloc(sizeof *spec)) == NULL)
    return werr("out of memory");
  rc = inj_spec_parse(wt->w.inject != NULL ? wt->w.inject : "", spec, why, sizeof why);
  if (rc == 0 && (rc = fsk__sup_new_lazy(&wt->hand, spec, wt->stats)) != 0)
    fprintf(stderr, "fdsoak watch: static or Go programs below '%s' get no rules: %s\n",
            wt->w.cmd[0], strerror(-rc));
  if (rc == 0) {
    if (wt->w.origins != FSK_ORIGINS_OFF)
      fsk__sup_track(wt->hand);
    if ((rc = fsk__sup_listen(wt->hand, env, sizeof env)) == 0)
      setenv(INJ_SEC_ENV, env, 1);
    else
      fprintf(stderr, "fdsoak watch: static or Go programs below '%s' get no rules: %s\n",
              wt->w.cmd[0], strerror(-rc));
  }
  free(spec);
  return 0;
}

/* A rule that can give unreachable: the helper whose namespace makes the
 * real event for IPv4 connects (unreachd.c; the shim's non-blocking ones,
 * the seccomp engine's and hand-overs' blocking ones too), started as our
 * child before the target, so it is never in the target's tree and its
 * fds are never counted.  Without it the shim approximates the event; say
 * why, once. */
static int spec_unreach(const char *text) {
  inj_spec_t *spec = malloc(sizeof *spec);
  char why[200];
  int found = 0;

  if (spec != NULL && inj_spec_parse(text, spec, why, sizeof why) == 0)
    for (uint32_t i = 0; i < spec->nrules && !found; i++)
      found = spec->rules[i].action == INJ_DO_UNREACH;
  free(spec);
  return found;
}

static void unreach_setup(watch_t *wt) {
  char err[256];

  /* From the parsed rules: the word in a path glob is not a rule. */
  if (wt->w.inject == NULL || !spec_unreach(wt->w.inject))
    return;
  if (fsk__unreachd_start(&wt->unreach, err, sizeof err) == 0)
    setenv(FSK_UNREACH_ENV, wt->unreach.name, 1);
  else
    fprintf(stderr,
            "fdsoak watch: note: unreachable over IPv4, non-blocking, is approximated "
            "(poll gives POLLOUT|POLLERR|POLLHUP at once, not the real POLLERR alone): %s\n",
            err);
}

/* The shim's count of unreachable faults it had to approximate, and why. */
static void unreach_report(watch_t *wt) {
  static const char *const why[] = {
    "",
    "no namespace helper",
    "the namespace helper did not answer",
    "the program had bound the socket",
    "the socket was in an epoll set or had O_ASYNC",
  };
  uint32_t n, w;

  if (!wt->have_view ||
      (n = __atomic_load_n(&wt->view.page->unreach_approx, __ATOMIC_RELAXED)) == 0)
    return;
  w = __atomic_load_n(&wt->view.page->unreach_why, __ATOMIC_RELAXED);
  fprintf(stderr,
          "fdsoak watch: note: %u unreachable fault%s over IPv4 non-blocking %s approximated "
          "(POLLOUT|POLLERR|POLLHUP at once, not the real POLLERR alone); the last because %s\n",
          n, n == 1 ? "" : "s", n == 1 ? "was" : "were",
          w < sizeof why / sizeof why[0] && w ? why[w] : "of an unknown reason");
}

static int start_target(watch_t *wt) {
  char shim[PATH_MAX];
  int rc, fd;

  /* The guard first: should fdsoak be killed from here on, it removes the
   * scratch files and what is left of the target. */
  if ((rc = fsk__target_init(&wt->tgt)) != 0)
    return werr("cannot start the guard process: %s", strerror(-rc));
  if ((rc = fsk__stats_create(wt->stats, sizeof wt->stats, "fdsoak-watch")) != 0)
    return werr("cannot create the shim's counter page in %s: %s",
                getenv("TMPDIR") != NULL && getenv("TMPDIR")[0] ? getenv("TMPDIR") : "/tmp",
                strerror(-rc));
  fsk__target_scratch(&wt->tgt, wt->stats);
  {
    char mark[PATH_MAX + 32];

    /* The /proc fallback knows an orphan of the tree by this variable in
     * its environment, under either engine (a program without the shim
     * ignores it). */
    setenv("FDSOAK_INJECT_STATS", wt->stats, 1);
    snprintf(mark, sizeof mark, "FDSOAK_INJECT_STATS=%s", wt->stats);
    fsk__target_mark(&wt->tgt, mark);
  }
  /* Before the supervisor and hand_setup, which may start threads: the
   * helper is forked.  Both engines use it. */
  unreach_setup(wt);
  if ((rc = choose_engine(wt)) != 0)
    return rc;
  if (wt->prog_kind == -ENOENT || wt->prog_kind == -EACCES)
    return werr("cannot start '%s': %s: nothing was watched", wt->w.cmd[0],
                strerror(-wt->prog_kind));
  if (wt->sup != NULL) {
    char err[256];

    /* No shim: every call of the tree goes through the supervisor, never
     * through both. */
    if (getenv(FSK_UNREACH_ENV) != NULL)
      fsk__sup_unreach(wt->sup, wt->unreach.name);
    rc = fsk__sup_spawn(wt->sup, &wt->tgt, wt->w.cmd, err, sizeof err);
    unsetenv(FSK_UNREACH_ENV);
    if (rc != 0) {
      if (wt->tgt.pid > 0)
        wt->child = 1; /* stopped at out: */
      return werr("cannot start '%s' under the seccomp engine: %s", wt->w.cmd[0], err);
    }
    wt->child = 1;
    if ((rc = inj_stats_open(wt->stats, &wt->view)) != 0)
      return werr("cannot read the supervisor's counter page: %s", strerror(-rc));
    wt->have_view = 1;
    return 0;
  }
  if ((rc = fsk__shim_path(shim, sizeof(shim))) != 0)
    return werr("the fault-injection shim is missing (%s: %s)", shim, strerror(-rc));
  if ((rc = fsk__set_preload(shim, 0)) != 0)
    return werr("cannot preload the shim %s: %s", shim, strerror(-rc));
  setenv("FDSOAK_INJECT", wt->w.inject != NULL ? wt->w.inject : "", 1);
  if ((rc = hand_setup(wt)) != 0)
    return rc;
  /* The static and Go programs handed over get the real event too. */
  if (wt->hand != NULL && getenv(FSK_UNREACH_ENV) != NULL)
    fsk__sup_unreach(wt->hand, wt->unreach.name);
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
      fsk__target_scratch(&wt->tgt, wt->lang_log);
      if (fsk__lang_setup(wt->lang_log, wt->lang_err, sizeof wt->lang_err) != 0) {
        unlink(wt->lang_log);
        wt->lang_log[0] = '\0';
      }
    }
    if (wt->lang_err[0])
      fprintf(stderr, "fdsoak watch: no language frames: %s\n", wt->lang_err);
  }
  if (wt->w.speed > 0) {
    /* The clock goes into the child's environment only (speed.c). */
    char ft[PATH_MAX];
    char **envp;

    if (fsk__speed_faketime_path(ft, sizeof ft) != 0)
      return werr("--speed needs libfaketime (%s is missing: apt-get install libfaketime, or set "
                  "FDSOAK_FAKETIME_LIB)",
                  ft);
    if ((envp = fsk__speed_envp(wt->w.speed, ft)) == NULL)
      return werr("out of memory");
    rc = fsk__target_spawn(&wt->tgt, wt->w.cmd, envp);
    fsk__speed_envp_free(envp);
  } else {
    rc = fsk__target_spawn(&wt->tgt, wt->w.cmd, NULL);
  }
  unsetenv("LD_PRELOAD"); /* this process itself never runs with the shim */
  unsetenv(FSK_UNREACH_ENV);
  unsetenv(INJ_SEC_ENV);
  if (rc != 0)
    return werr("cannot start '%s': %s", wt->w.cmd[0], strerror(rc));
  wt->child = 1;
  /* Counting needs no shim: without rules, a program it never loads into
   * (static, Go) is watched all the same, from /proc. */
  if (wt->w.inject == NULL)
    return 0;
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
    return werr("the shim never loaded in '%s' (%s): no fault can be injected or counted "
                "by it (--engine seccomp can); it %s",
                wt->w.cmd[0],
                wt->prog_kind > 0 && (wt->prog_kind & FSK_ELF_GO)       ? "a Go program"
                : wt->prog_kind > 0 && (wt->prog_kind & FSK_ELF_STATIC) ? "a static program"
                                                                        : "it clears LD_PRELOAD?",
                life);
  }
  wt->have_view = 1;
  return 0;
}

/* Leaked fds get their origin: the process and attempt, and the shim's
 * record of the call that made them. */
/* The language log's file system has no room left (issue 24: a full disk
 * was blamed on the program). */
static int log_disk_full(const watch_t *wt) {
  struct statvfs v;

  return wt->lang_log[0] != '\0' && statvfs(wt->lang_log, &v) == 0 &&
         (unsigned long long)v.f_bavail * v.f_bsize < 8192;
}

/* Why a leaked fd of process comm has no language frames. */
static void lang_reason(watch_t *wt, const char *comm, pid_t pid) {
  if (wt->lang_note_set)
    return;
  wt->lang_note_set = 1;
  if (wt->lang_err[0])
    snprintf(wt->lang_note, sizeof wt->lang_note, "%s", wt->lang_err);
  else if (strncmp(comm, "python", 6) == 0)
    snprintf(wt->lang_note, sizeof wt->lang_note,
             "process %d (%s) gave no Python frames for this fd: it was opened outside Python "
             "code (before the interpreter ran, at exit, or on a thread of a native library)",
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

/* Why a leaked fd of process pid has no origin: the first reason found is
 * the one reported, and it must be true of that process. */
static void origin_reason(watch_t *wt, pid_t pid, const char *comm) {
  const char *maps = fsk__sampler_maps(&wt->smp, pid);
  int shim = maps != NULL && strstr(maps, "libfdsoak-inject") != NULL;
  inj_stats_view_t v;
  uint64_t records = 0;

  if (wt->origin_note[0])
    return;
  if (!wt->child && shim)
    snprintf(wt->origin_note, sizeof wt->origin_note,
             "no origins: process %d (%s) has the shim, but fdsoak did not start it and cannot "
             "read its records",
             (int)pid, comm);
  else if (!wt->child)
    snprintf(wt->origin_note, sizeof wt->origin_note,
             "no origins: process %d (%s) has no shim and was not started by fdsoak", (int)pid,
             comm);
  else if (wt->sup != NULL)
    snprintf(wt->origin_note, sizeof wt->origin_note,
             "no origins: process %d (%s) ran under the seccomp engine, which names only fds "
             "made by open and socket calls whose stack it could read (Go: .gopclntab, static "
             "programs: DWARF CFI)",
             (int)pid, comm);
  else if (maps != NULL && !shim)
    snprintf(wt->origin_note, sizeof wt->origin_note,
             "no origins: process %d (%s) has no shim (%s)", (int)pid, comm,
             wt->prog_kind > 0 && (wt->prog_kind & (FSK_ELF_STATIC | FSK_ELF_GO)) &&
                 pid == wt->tgt.pid
               ? "a static or Go program: LD_PRELOAD cannot reach it"
               : "a static or Go program, or one that cleared LD_PRELOAD");
  else {
    if (wt->stats[0] && inj_stats_open(wt->stats, &v) == 0) {
      records = inj_stats_load(&v.page->fd_records);
      inj_stats_close(&v);
    }
    if (records > INJ_FD_SLOTS)
      snprintf(wt->origin_note, sizeof wt->origin_note,
               "the shim's record of them was overwritten (its ring holds %d, and %llu fds "
               "were recorded)",
               INJ_FD_SLOTS, (unsigned long long)records);
    else
      snprintf(wt->origin_note, sizeof wt->origin_note,
               "the shim did not see them created in process %d (%s): inherited, or made by a "
               "call it does not wrap",
               (int)pid, comm);
  }
}

/* The Python stack the shim kept beside the fd's native record: the same
 * creation only (the slot may hold a later fd's stack, or an earlier one
 * of the same number that the reader saw and this one's did not). */
static int page_stack(watch_t *wt, pid_t pid, int fd, char *out, size_t len) {
  inj_fd_record_t fr;
  inj_lang_record_t lr;

  if (!wt->have_view || inj_stats_fd_record(&wt->view, (int)pid, fd, &fr) != 0 ||
      inj_stats_lang_record(&wt->view, (int)pid, fd, &lr) != 0 || lr.mono_ns != fr.mono_ns)
    return 0;
  return fsk__lang_stack_json(lr.text, lr.len, out, len);
}

/* The language note, cut to its size (a long log path is): through
 * vsnprintf, where GCC 12's -Wformat-truncation, which flagged these notes
 * once the file around them changed, does not look. */
__attribute__((format(printf, 2, 3))) static void set_lang_note(watch_t *wt, const char *fmt, ...) {
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(wt->lang_note, sizeof wt->lang_note, fmt, ap);
  va_end(ap);
}

static void name_origins(watch_t *wt, const char *label) {
  fsk_scenario_t *sc = &wt->sc;
  fsk__lang_log_t *lang = wt->lang_log[0] ? fsk__lang_load(wt->lang_log) : NULL;
  size_t i;

  for (i = 0; i < sc->nleaked; i++) {
    fsk_leak_t *l = &sc->leaked[i];
    const char *comm = label;
    /* The pid the shim and the hooks wrote: the process's own, in its PID
     * namespace (`unshare --pid`, a container). */
    pid_t in_ns = fsk__sampler_nspid(&wt->smp, l->pid);
    char stack[1024];
    uint64_t born = 0;
    long attempt = 0;
    size_t k;
    int n;

    for (k = 0; k < wt->smp.nprocs; k++)
      if (wt->smp.procs[k].pid == l->pid)
        comm = wt->smp.procs[k].comm;
    /* The attempt (second) it was created in, as the shim saw it; the
     * sample's, where it was first seen, is later on a fast program. */
    if (wt->child && fsk__origin_when(wt->stats, in_ns, l->fd, &born, &attempt)) {
      if (wt->attempts_mode && attempt > 0) {
        l->opened_cycle = attempt;
        l->opened_exact = 1;
      } else if (!wt->attempts_mode && born > 0) {
        double at = (double)born / 1e9 - wt->t0;

        l->opened_cycle = at > 0.0 ? (long)at : 0;
        l->opened_exact = 1;
      }
    }
    n = snprintf(l->origin, sizeof l->origin, "process %d (%s)", (int)l->pid, comm);
    /* Under the seccomp engine (or handed over to it through exec): the attempt the supervisor saw the call in
     * (exact, as the shim's), and the program's own frames, Go's from its
     * .gopclntab or C's unwound from its DWARF CFI. */
    if ((wt->sup != NULL || wt->hand != NULL) && wt->w.origins != FSK_ORIGINS_OFF) {
      fsk__sup_origin_t so;
      int got =
        fsk__sup_origin(wt->sup != NULL ? wt->sup : wt->hand, l->pid, l->fd, l->target, &so);

      if ((got & FSK_SUP_ORIGIN_WHEN) && wt->attempts_mode && so.attempt > 0) {
        l->opened_cycle = (long)so.attempt;
        l->opened_exact = 1;
      } else if ((got & FSK_SUP_ORIGIN_WHEN) && !wt->attempts_mode && so.mono_ns > 0) {
        double at = (double)so.mono_ns / 1e9 - wt->t0;

        l->opened_cycle = at > 0.0 ? (long)at : 0;
        l->opened_exact = 1;
      }
      if (got & FSK_SUP_ORIGIN_FRAMES) {
        snprintf(l->origin + n, sizeof l->origin - (size_t)n, "; %s", so.frames);
        continue;
      }
    }
    /* The program's own frames first: they are what its author reads. */
    if (wt->w.origins == FSK_ORIGINS_LANG) {
      if (page_stack(wt, in_ns, l->fd, stack, sizeof stack) ||
          fsk__lang_stack(lang, in_ns, l->fd, born, stack, sizeof stack))
        snprintf(l->origin + n, sizeof l->origin - (size_t)n, "; by %s", stack);
      else
        lang_reason(wt, comm, l->pid);
    }
    if (wt->w.origins == FSK_ORIGINS_OFF)
      continue;
    if (!wt->child ||
        !fsk__origin_from_shim(wt->stats, l->pid, in_ns, l->fd, fsk__sampler_maps(&wt->smp, l->pid),
                               l->origin, sizeof l->origin)) {
      sc->no_origin++;
      origin_reason(wt, l->pid, comm);
    }
  }
  /* What a process said about itself (an unsupported Python) explains
   * more than a guess from its name; a log that could not be written
   * explains most (issue 24: a full disk was reported as "python -S"). */
  if (fsk__lang_note(lang) != NULL)
    snprintf(wt->lang_note, sizeof wt->lang_note, "%s", fsk__lang_note(lang));
  if (wt->w.origins == FSK_ORIGINS_LANG && wt->have_view &&
      inj_stats_load(&wt->view.page->lang_lost) > 0)
    set_lang_note(wt,
                  "the language log %s could not be written (%s): %llu stacks were lost, so some "
                  "leaked fds have native frames only",
                  wt->lang_log, strerror((int)inj_stats_load(&wt->view.page->lang_errno)),
                  (unsigned long long)inj_stats_load(&wt->view.page->lang_lost));
  else if (wt->lang_note_set && log_disk_full(wt))
    /* Node's hook stops quietly when its log cannot take a line. */
    set_lang_note(wt,
                  "the file system of the language log %s is full: stacks written there were lost, "
                  "so some leaked fds have native frames only",
                  wt->lang_log);
  fsk__lang_free(lang);
}

/* The process that grew most: its limit and count project the run out. */
static const fsk_proc_info_t *grower(const fsk__sampler_t *s) {
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

/* The shim's own record of fd-creating calls that really failed because a
 * table was full (an injected errno is never counted there): the
 * program met its limit.  Never a word in its output. */
static void exhaustion(const watch_t *wt, char *buf, size_t len) {
  const inj_stats_page_t *p = wt->view.page;
  unsigned long long em, en;

  buf[0] = '\0';
  if (!wt->have_view)
    return;
  em = (unsigned long long)inj_stats_load(&p->real_emfile);
  en = (unsigned long long)inj_stats_load(&p->real_enfile);
  if (em + en == 0)
    return;
  snprintf(buf, len, "%llu call%s to open an fd failed with %s (the last in process %u)", em + en,
           em + en == 1 ? "" : "s",
           em > 0 && en > 0 ? "EMFILE or ENFILE"
           : em > 0         ? "EMFILE (Too many open files)"
                            : "ENFILE (Too many open files in system)",
           (unsigned)__atomic_load_n(&p->exhausted_pid, __ATOMIC_RELAXED));
}

/* Which engine applied the rules, to the tree and to each process: the
 * supervisor serves every process under its filter (inherited through fork
 * and exec), the shim those it is loaded in; never both. */
static void engine_info(watch_t *wt, fsk_target_info_t *ti) {
  size_t i, bare = 0;
  const fsk_proc_info_t *first_bare = NULL;

  int handed = wt->hand != NULL && fsk__sup_handoffs(wt->hand) > 0;

  snprintf(ti->engine, sizeof ti->engine, "%s",
           wt->sup != NULL                     ? "seccomp"
           : handed && wt->w.inject != NULL    ? "auto"
           : wt->child && wt->w.inject != NULL ? "preload"
                                               : "none");
  if (wt->sup != NULL)
    fsk__sup_describe(wt->sup, ti->engine_note, sizeof ti->engine_note);
  else if (handed)
    fsk__sup_describe(wt->hand, ti->engine_note, sizeof ti->engine_note);
  for (i = 0; i < wt->smp.nprocs; i++) {
    fsk_proc_info_t *p = &wt->smp.procs[i];
    const char *maps = fsk__sampler_maps(&wt->smp, p->pid);
    size_t k;
    int served = 0;

    /* Handed over through exec: the filter's installer, a process seen
     * under the filter while the rules waited, or one under it now (a
     * dynamic program below a supervised one has the shim, standing down). */
    if (wt->hand != NULL) {
      served = fsk__sup_served(wt->hand, p->pid) || under_filter(p->pid);
      for (k = 0; k < wt->nlooked && !served; k++)
        served = wt->looked[k].pid == p->pid && wt->looked[k].served;
      for (k = 0; k < wt->neng && !served; k++)
        served = wt->eng[k].pid == p->pid && wt->eng[k].served;
    }
    if (wt->sup != NULL || served)
      snprintf(p->engine, sizeof p->engine, "seccomp");
    else if (maps != NULL && strstr(maps, "libfdsoak-inject") != NULL)
      snprintf(p->engine, sizeof p->engine, "shim");
    else if (maps != NULL) {
      snprintf(p->engine, sizeof p->engine, "none");
      if (bare++ == 0)
        first_bare = p;
    } else
      snprintf(p->engine, sizeof p->engine, "unknown");
  }
  if (first_bare == NULL && wt->nbare > 0)
    bare = wt->nbare; /* seen while the rules waited, never sampled */
  if (wt->sup == NULL && wt->child && wt->w.inject != NULL && bare > 0)
    snprintf(ti->engine_note, sizeof ti->engine_note,
             "%zu process%s ran without the shim (process %d, %s: a static or Go program?): the "
             "rules did not reach %s; --engine seccomp serves the whole tree",
             bare, bare == 1 ? "" : "es",
             first_bare != NULL ? (int)first_bare->pid : (int)wt->bare_pid,
             first_bare != NULL ? first_bare->comm : wt->bare_comm, bare == 1 ? "it" : "them");
  snprintf(ti->origin_note, sizeof ti->origin_note, "%s", wt->origin_note);
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
    exhaustion(wt, ti->death, sizeof ti->death);
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
  ti->uninstrumented = wt->smp.uninstrumented;
  snprintf(ti->uninstr_first, sizeof ti->uninstr_first, "%s", wt->smp.uninstr_note);
  if (wt->child)
    snprintf(ti->tree_tracking, sizeof ti->tree_tracking, "%s%.200s",
             wt->tgt.cg_why[0] ? "/proc scanning: " : "cgroup", wt->tgt.cg_why);
  ti->procs = wt->smp.procs;
  ti->nprocs = wt->smp.nprocs;
  engine_info(wt, ti);
  ti->nprocs_folded = wt->smp.nfolded;
  ti->folded_fd_max = wt->smp.folded_fd_max;
}

/* What the target's life was.  Its command line and file names are the
 * target's: shown, never obeyed (results_internal.h). */
static void print_target(const fsk_run_t *run) {
  const fsk_target_info_t *ti = &run->target;

  fputs("target: ", stdout);
  fsk__term_put(stdout, ti->cmd);
  printf(" (pid %d): ", (int)ti->pid);
  fsk__term_put(stdout, ti->end);
  putchar('\n');
  if (strcmp(ti->engine, "none") != 0)
    printf("engine: %s%s%s\n", ti->engine, ti->engine_note[0] ? ": " : "", ti->engine_note);
  if (strcmp(ti->source, "interval") != 0)
    printf("attempts: %.0f (%s), %.2f per sample\n", ti->attempts, ti->source,
           ti->attempts_per_sample);
  if (ti->nprocs_folded > 0)
    printf("processes: %zu in the tree (%zu listed; %zu that ended earlier are counted, not "
           "listed: at most %d fds each)\n",
           ti->nprocs + ti->nprocs_folded, ti->nprocs, ti->nprocs_folded, ti->folded_fd_max);
  else if (ti->nprocs > 1)
    printf("processes: %zu in the tree\n", ti->nprocs);
  if (run->vtime.speed > 0) {
    const fsk_vtime_t *v = &run->vtime;

    printf("virtual time (--speed %g): %.2f virtual hours of the program's life", v->speed,
           v->virtual_s / 3600.0);
    if (v->attempt_vs > 0)
      printf(", one attempt every %.0f virtual s", v->attempt_vs);
    if (isfinite(v->per_vhour))
      printf(", %+.1f fds per virtual hour", v->per_vhour);
    printf("\n");
    if (v->exhausted_vh >= 0)
      printf("the program %s\n", v->exhausted_text);
  }
  if (ti->death[0]) {
    fputs("fd exhaustion: ", stdout);
    fsk__term_put(stdout, ti->death);
    putchar('\n');
  }
  if (ti->uninstrumented > 0) {
    printf("uninstrumented: %zu process%s ran without the shim's counters (the first: ",
           ti->uninstrumented, ti->uninstrumented == 1 ? "" : "es");
    fsk__term_put(stdout, ti->uninstr_first);
    printf("): they could not open its page, as after switching to another user; their fds "
           "are counted, but get no fault and no origin\n");
  }
  if (ti->lang_note[0]) {
    fputs("origins: ", stdout);
    fsk__term_put(stdout, ti->lang_note);
    putchar('\n');
  }
  if (run->interrupted)
    printf("interrupted: partial results\n");
}

/* --speed: the run in the program's own time.  The rate per virtual hour
 * is measured against its virtual clock, and in attempts mode the cadence
 * that projects it comes from its own schedule, not from --period. */
static void speed_report(watch_t *wt, fsk_run_t *run) {
  fsk_vtime_t *v = &run->vtime;
  const fsk_scenario_t *sc = &wt->sc;
  size_t n = sc->nsamples < wt->nvts ? sc->nsamples : wt->nvts;
  size_t a = wt->warm_idx >= 0 ? (size_t)wt->warm_idx : 0;

  v->speed = wt->w.speed;
  v->vt = wt->nvts == sc->nsamples ? wt->vts : NULL;
  v->virtual_s = (wt->child && wt->tgt.exited ? wt->tgt.t_exit : fsk__now()) - wt->tgt.t_start;
  v->virtual_s *= wt->w.speed;
  v->per_vhour = NAN;
  v->exhausted_vh = -1.0;
  if (n > a + 1) {
    double r = fsk_realized_rate(sc->counts + a, wt->vts + a, n - a);

    v->per_vhour = isfinite(r) ? r * 3600.0 : NAN;
    if (wt->attempts_mode && sc->xs[n - 1] > sc->xs[a] && wt->vts[n - 1] > wt->vts[a]) {
      v->attempt_vs = (wt->vts[n - 1] - wt->vts[a]) / (sc->xs[n - 1] - sc->xs[a]);
      run->cycle_period_s = v->attempt_vs;
    }
  }
  if (wt->exh_vt >= 0) {
    v->exhausted_vh = wt->exh_vt / 3600.0;
    v->exhausted_attempts = wt->exh_attempts;
    v->exhausted_limit = run->rlimit_nofile;
    snprintf(v->exhausted_text, sizeof v->exhausted_text,
             "ran out of its %d fds at virtual hour %.1f, after %.0f attempts", run->rlimit_nofile,
             v->exhausted_vh, v->exhausted_attempts);
    {
      char why[sizeof wt->sc.stats.why];
      int k = snprintf(why, sizeof why, "the program %s", v->exhausted_text);

      if (k > 0 && (size_t)k < sizeof why)
        snprintf(why + k, sizeof why - (size_t)k, " (%.200s).", run->target.death);
      memcpy(wt->sc.stats.why, why, sizeof why);
    }
  }
}

/* Before anything starts: fdsoak's own clock, the --speed target, the
 * --inject spec, and where the results go.  0, or the exit code. */
static int watch_prepare(watch_t *wt) {
  watch_opts_t *w = &wt->w;
  char err[256], why[PATH_MAX + 200], ts0[32];
  int rc;

  if (fsk__speed_self_faked())
    return werr("fdsoak itself runs under libfaketime (LD_PRELOAD and FAKETIME are set): its "
                "--timeout, --stall and sampling would run in the target's time; unset them and "
                "use --speed N, which speeds up the target only");
  if (w->speed > 0 && fsk__speed_static(w->cmd[0], why, sizeof why))
    return werr("%s", why);
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
        wt->has_pass = 1;
      else
        wt->has_faults = 1;
    }
    free(spec);
    if (rc != 0)
      return werr("--inject: %s", err);
  }
  wt->attempts_mode = w->cmd != NULL && (wt->has_faults || wt->has_pass) && !w->interval_given;
  if (w->duration_s > 0 && wt->attempts_mode)
    w->cycles = -1; /* --duration bounds the run; attempts still make the x axis */
  /* Where the results go is checked before the soak, not after it. */
  if (!w->out_given) {
    fsk__utc_now(NULL, 0, ts0, sizeof ts0);
    snprintf(w->out, sizeof(w->out), "results/runs/%s-watch-%d", ts0, (int)getpid());
    w->out_given = 2; /* named here: results/latest still follows it */
  }
  if ((rc = fsk__out_probe(w->out)) != 0)
    return werr("cannot write results to %s: %s", w->out, strerror(-rc));
  return 0;
}

/* The target started (or the running one found) and its sampler ready;
 * label names it.  0, or the exit code. */
static int watch_begin(watch_t *wt, char *label, size_t len) {
  watch_opts_t *w = &wt->w;
  char dir[64];
  int rc;

  fsk__signals_catch();
  fsk_scenario_init(&wt->sc, "watch", "", w->warmup);
  wt->stats[0] = '\0';
  if (w->cmd != NULL) {
    if ((rc = start_target(wt)) != 0)
      return rc;
  } else {
    snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)w->pid);
    if (access(dir, R_OK | X_OK) != 0)
      return werr("cannot read %s: %s (no such process, or not yours?)", dir, strerror(errno));
  }
  if (fsk__sampler_init(&wt->smp, wt->child ? wt->tgt.pid : w->pid,
                        wt->child ? &wt->tgt.tree : NULL) != 0)
    return werr("out of memory");
  if (wt->child)
    wt->smp.shim_page = wt->stats;
  if (w->cmd != NULL)
    snprintf(label, len, "%s", basename(w->cmd[0]));
  else
    snprintf(label, len, "pid-%d", (int)w->pid);
  snprintf(wt->sc.adapter, sizeof wt->sc.adapter, "%.31s", label);
  wt->sc.unit = wt->attempts_mode ? "attempt" : "hour";
  return 0;
}

/* Samples taken after the warm-up. */
static size_t post_warmup(const watch_t *wt) {
  return wt->warm_idx >= 0 && wt->sc.nsamples > (size_t)wt->warm_idx
           ? wt->sc.nsamples - (size_t)wt->warm_idx
           : 0;
}

/* What the loop could not see: an exhaustion under --speed found late,
 * /proc it was denied, calls the shim let through.  0, or the exit code. */
static int watch_caveats(watch_t *wt) {
  char d[64];

  view_late(wt);
  if (wt->w.speed > 0 && wt->exh_vt < 0 && wt->child) {
    fsk__target_poll(&wt->tgt);
    if (real_exhaustion(wt) || wt->smp.at_limit) {
      wt->exh_vt = ((wt->tgt.exited ? wt->tgt.t_exit : fsk__now()) - wt->tgt.t_start) * wt->w.speed;
      wt->exh_attempts = attempts_now(wt);
    }
  }
  if (wt->smp.denied != 0) {
    snprintf(d, sizeof d, "/proc/%d/fd", (int)wt->smp.denied);
    /* Not "too early to judge": fdsoak was not allowed to look. */
    if (post_warmup(wt) < FSK_STAT_MIN_SAMPLES)
      return werr("cannot read %s of process %d (%s): permission denied (a setuid or "
                  "non-dumpable program, or another user's): its fds cannot be counted; run "
                  "fdsoak as its user or as root",
                  d, (int)wt->smp.denied, wt->smp.denied_comm);
    fprintf(stderr,
            "fdsoak watch: warning: cannot read %s of process %d (%s): permission denied; "
            "its fds are not counted\n",
            d, (int)wt->smp.denied, wt->smp.denied_comm);
  }
  unreach_report(wt);
  if (wt->have_view && inj_stats_load(&wt->view.page->undecided) > 0)
    /* The shim saw calls it could not decide (a thread still inside the
     * shim's own work): some faults or observations may be missing. */
    fprintf(stderr,
            "fdsoak watch: warning: the shim let %llu matching call%s through "
            "undecided (a thread's re-entry guard was held); the attempt count may "
            "be short\n",
            (unsigned long long)inj_stats_load(&wt->view.page->undecided),
            inj_stats_load(&wt->view.page->undecided) == 1 ? "" : "s");
  return 0;
}

/* Nothing to judge: say why in the user's terms, never as advice about
 * warm-up.  0 when there is something, else the exit code; death gets
 * the target's death by exhaustion, if any. */
static int watch_judgeable(watch_t *wt, fsk_run_t *run, const char *label, char *death,
                           size_t len) {
  char rules[1024], life[160];

  if (wt->child) {
    fsk__target_poll(&wt->tgt);
    exhaustion(wt, death, len);
  }
  if (wt->attempts_mode && attempts_now(wt) == 0 && !run->interrupted && !death[0]) {
    rules_line(wt, rules, sizeof rules);
    if (wt->child)
      fsk__target_describe(&wt->tgt, life, sizeof life);
    engine_info(wt, &run->target);
    return werr("no attempt happened: the rule never fired (%s); the target %s%s%s", rules,
                wt->child ? life : "ran", run->target.engine_note[0] ? "; " : "",
                run->target.engine_note);
  }
  if (post_warmup(wt) < FSK_STAT_MIN_SAMPLES && wt->child && wt->tgt.exited && !death[0] &&
      !wt->smp.at_limit && !run->interrupted) {
    fsk__target_describe(&wt->tgt, life, sizeof life);
    return werr("'%s' %s, after %.0f attempts and %zu samples: too early to judge", label, life,
                attempts_now(wt), post_warmup(wt));
  }
  return 0;
}

/* The scenario judged (the one path `run` uses too), the target stopped,
 * and the leaks' origins named. */
static void watch_judge(watch_t *wt, fsk_run_t *run, const char *label) {
  size_t post = post_warmup(wt);
  char err[256];

  /* --timeout is a bound, not the end the user asked for: a soak of
   * --cycles N that it cut short is as partial as a cancelled one. */
  if (wt->w.cycles > 0 && strncmp(wt->stop_reason, "--timeout", 9) == 0)
    run->interrupted = 1;
  wt->sc.warmup = wt->warm_idx >= 0 ? wt->warm_idx : (long)wt->sc.nsamples;
  wt->sc.warmup_x = (double)wt->w.warmup;
  wt->sc.cycles = wt->attempts_mode ? (long)(attempts_now(wt) - wt->x0) : (long)post;
  wt->sc.attempts = wt->attempts_mode ? attempts_now(wt) - wt->x0 : 0.0;
  if (post > 0) {
    fsk_leak_t *l = NULL;
    const fsk_leak_t *peak = NULL;
    size_t n = fsk__sampler_survivors(&wt->smp, wt->sc.xs[wt->sc.nsamples - 1], &l);
    size_t np = fsk__sampler_peak_survivors(&wt->smp, &peak);

    /* A program that ended by itself may have closed what it leaked on its
     * way out (an interpreter's shutdown closes every file object): its
     * survivors are those of its fullest table. */
    if (wt->child && wt->tgt.exited && np > n)
      fsk_scenario_set_leaked(&wt->sc, peak, np);
    else
      fsk_scenario_set_leaked(&wt->sc, l, n);
    free(l);
  }
  /* Everything is gathered: stop the target now, not after the report
   * (symbolizing hundreds of fds takes a while, and the program's end
   * must not wait for it); its maps were kept for the report. */
  fill_target(wt, run);
  if (wt->child)
    fsk__target_stop(&wt->tgt, STOP_GRACE_S);
  fsk_scenario_judge(&wt->sc, 0);
  if (run->target.death[0]) {
    /* Death by fd exhaustion is the leak, proven by the program itself. */
    wt->sc.verdict = FSK_VERDICT_LEAK;
    snprintf(wt->sc.stats.why, sizeof wt->sc.stats.why, "the program ran out of fds: %.200s.",
             run->target.death);
  } else if (run->interrupted && wt->sc.verdict == FSK_VERDICT_FLAT) {
    wt->sc.verdict = FSK_VERDICT_INCONCLUSIVE;
    snprintf(err, sizeof err, "%s", wt->sc.stats.why);
    snprintf(wt->sc.stats.why, sizeof wt->sc.stats.why, "%.40s before the end; so far: %.180s",
             wt->stop_reason, err);
  }
  if (wt->sc.verdict == FSK_VERDICT_LEAK)
    name_origins(wt, label);
  snprintf(run->target.lang_note, sizeof run->target.lang_note, "%s", wt->lang_note);
  wt->sc.seconds = fsk__now() - wt->t0;
}

/* The run finished: its projection (or the exhaustion it reached). */
static void watch_finish(watch_t *wt, fsk_run_t *run) {
  const fsk_proc_info_t *g = grower(&wt->smp);
  char ts[32];

  run->mode = "watch";
  fsk__utc_now(run->started_utc, sizeof(run->started_utc), ts, sizeof(ts));
  run->scen = &wt->sc;
  run->nscen = 1;
  run->rlimit_nofile = g != NULL && g->rlimit_nofile > 0 ? g->rlimit_nofile : 1024;
  run->cycle_period_s = wt->w.period_s;
  if (wt->w.speed > 0)
    speed_report(wt, run);
  fsk_run_finish(run);
  /* It already ran out: no projection, the fact. */
  if (wt->w.speed > 0 && run->vtime.exhausted_vh >= 0 && run->verdict == FSK_VERDICT_LEAK) {
    run->projection_hours = run->vtime.exhausted_vh;
    snprintf(run->projection_text, sizeof run->projection_text,
             "%.31s/%.31s leaks %.4f fd per attempt, %.1f per virtual hour: the program %.150s",
             wt->sc.path, wt->sc.adapter, wt->sc.rate, run->vtime.per_vhour,
             run->vtime.exhausted_text);
  }
}

/* The results written and shown: the exit code. */
static int watch_output(watch_t *wt, fsk_run_t *run) {
  watch_opts_t *w = &wt->w;
  int rc;

  if ((rc = fsk_results_write(w->out, run)) != 0) {
    /* The verdict stands (a leak found is a leak, exit 1); only the files
     * are missing. */
    werr("cannot write results to %s: %s (verdict: %s)", w->out, strerror(-rc),
         fsk_verdict_name(run->verdict));
    return run->verdict == FSK_VERDICT_LEAK ? FSK_EXIT_LEAK : FSK_EXIT_USAGE;
  }
  if (w->out_given == 2)
    fsk_results_link_latest("results", w->out);
  if (w->sarif != NULL && (rc = fsk__write_sarif_here(w->sarif, run)) != 0)
    return werr("cannot write %s: %s", w->sarif, strerror(-rc));
  if (w->json) {
    fsk__print_summary(w->out);
  } else if (!w->quiet) {
    fsk_print_table(stdout, run);
    print_target(run);
    if (wt->sc.no_origin > 0)
      printf("%zu leaked fd%s without an origin: %s\n", wt->sc.no_origin,
             wt->sc.no_origin == 1 ? "" : "s", wt->origin_note);
    /* The table already gave the why of a verdict that is not flat. */
    if (run->verdict == FSK_VERDICT_FLAT)
      printf("%s\n", wt->sc.stats.why);
    fputs("results: ", stdout);
    fsk__term_put(stdout, w->out);
    putchar('\n');
  } else {
    printf("%s\n", fsk_verdict_name(run->verdict));
  }
  return fsk_exit_code(run->verdict);
}

/* Nothing the target started outlives the run. */
static void watch_cleanup(watch_t *wt) {
  watch_opts_t *w = &wt->w;

  fsk__origin_release();
  if (wt->child)
    fsk__target_stop(&wt->tgt, STOP_GRACE_S);
  fsk__unreachd_stop(&wt->unreach);
  if (wt->have_view)
    inj_stats_close(&wt->view);
  if (wt->stats[0] != '\0')
    unlink(wt->stats);
  if (wt->lang_log[0] != '\0')
    unlink(wt->lang_log);
  if (wt->child && w->speed > 0)
    fsk__speed_cleanup(wt->tgt.pid);
  free(wt->vts);
  fsk__target_release(&wt->tgt);
  fsk__sup_free(wt->sup); /* after the target: a waiting call is answered by its death */
  fsk__sup_free(wt->hand);
  /* A default results directory made for a run that wrote nothing goes
   * (rmdir removes it only when empty). */
  if (w->out_given == 2)
    rmdir(w->out);
  fsk__sampler_free(&wt->smp);
  fsk_scenario_free(&wt->sc);
}

int fsk__watch_main(int argc, char **argv) {
  static watch_t wt; /* large (the sampler's tree): not on the stack */
  fsk_run_t run;
  char label[64], death[256] = "";
  int code;

  memset(&wt, 0, sizeof wt);
  memset(&run, 0, sizeof(run));
  wt.exh_vt = -1.0;
  if ((code = parse_watch(argc, argv, &wt.w)) != 0)
    return code < 0 ? 0 : code;
  if ((code = watch_prepare(&wt)) != 0)
    return code;
  if ((code = watch_begin(&wt, label, sizeof label)) == 0 && (code = watch_loop(&wt)) == 0) {
    run.interrupted = fsk__signal_caught() != 0;
    wt.view_tried = -1.0;
    if ((code = watch_caveats(&wt)) == 0 &&
        (code = watch_judgeable(&wt, &run, label, death, sizeof death)) == 0) {
      watch_judge(&wt, &run, label);
      watch_finish(&wt, &run);
      code = watch_output(&wt, &run);
    }
  }
  watch_cleanup(&wt);
  return code;
}
