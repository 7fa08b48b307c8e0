/* run.c - `fdsoak run`: soak the reference gateway core in-process.
 *
 * `run` is two processes: the parent checks the flags, finds the shim, and
 * starts the worker -- fdsoak itself, or fdsoak-regress for --regress --
 * with the shim preloaded, so a user never types LD_PRELOAD (a library can
 * only be preloaded at exec).  The worker soaks the gateway core (soak.c)
 * and writes the results; its exit code is the verdict.  Under --valgrind
 * the worker runs under valgrind and the parent reads its report.
 * Exit codes: 0 flat, 1 leak, 2 usage/environment, 3 inconclusive.
 */
#include "args.h"
#include "driver.h"
#include "proc.h"
#include "results_internal.h"

#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#include "gw.h"
#include "inj.h"

extern char **environ;

#define DEFAULT_CYCLES 1000
#define DEFAULT_WARMUP 50
#define VALGRIND_CYCLES 30
#define VALGRIND_WARMUP 5

/* The worker's settings, from the parent through a pipe on this fd: the
 * public parser accepts only the flags a user may give, and the worker
 * parses nothing. */
#define WORKER_FD 3

typedef struct {
  fsk__run_opts_t o;
  int valgrind;
  const char *link_latest; /* results root whose `latest` to update */
} run_args_t;

/* The settings as they cross the exec: fsk__run_opts_t's strings are
 * pointers into the parent, so they travel as copies. */
typedef struct {
  fsk__run_opts_t o;
  char regress[32];
  char sarif[PATH_MAX];
  char link_latest[PATH_MAX];
} worker_cfg_t;

static int mask_of(const char *v, const char *const *names, int n, unsigned *mask) {
  int j;

  *mask = strcmp(v, "all") == 0 ? (1u << n) - 1 : 0;
  for (j = 0; j < n && *mask == 0; j++)
    if (strcmp(v, names[j]) == 0)
      *mask = 1u << j;
  return *mask != 0 ? 0 : -1;
}

static int set_path(void *opts, const char *v, char *why, size_t len) {
  if (mask_of(v, fsk__path_names, FSK_PATHS, &((run_args_t *)opts)->o.path_mask) == 0)
    return 0;
  snprintf(why, len, "--path: unknown value '%s' (fatal, retryable, exception or all)", v);
  return -1;
}

static int set_adapter(void *opts, const char *v, char *why, size_t len) {
  if (mask_of(v, fsk__adapter_names, FSK_ADAPTERS, &((run_args_t *)opts)->o.adapter_mask) == 0)
    return 0;
  snprintf(why, len, "--adapter: unknown value '%s' (api, platform or all)", v);
  return -1;
}

static int set_regress(void *opts, const char *v, char *why, size_t len) {
  static const char *const known[] = {"fatal", "retryable", "exception", "store-close"};
  size_t i;

  for (i = 0; i < sizeof known / sizeof known[0]; i++) {
    if (strcmp(v, known[i]) == 0) {
      ((run_args_t *)opts)->o.regress = known[i];
      return 0;
    }
  }
  snprintf(why, len, "--regress: unknown path '%s' (fatal, retryable, exception, store-close)", v);
  return -1;
}

#define RO(field) offsetof(run_args_t, field)
static const fsk__flag_t run_flags[] = {
  {"--path", NULL, FSK_ARG_CALL, "fatal|retryable|exception|all", 0, 0, 0, set_path,
   "the failure paths to soak (default all)", 0},
  {"--adapter", NULL, FSK_ARG_CALL, "api|platform|all", 0, 0, 0, set_adapter,
   "the adapters to soak (default all)", 0},
  {"--cycles", NULL, FSK_ARG_LONG, "N", RO(o.cycles), 1, 100000000, NULL,
   "reconnect cycles after warm-up per scenario (default 1000)", 0},
  {"--warmup", NULL, FSK_ARG_LONG, "N", RO(o.warmup), 0, 100000000, NULL,
   "cycles before judging starts (default 50)", 0},
  {"--regress", NULL, FSK_ARG_CALL, "fatal|retryable|exception|store-close", 0, 0, 0, set_regress,
   "the regress core: fatal, retryable, exception or store-close", 0},
  {"--out", NULL, FSK_ARG_PATH, "DIR", RO(o.out), 0, 0, NULL,
   "the results directory (default results/runs/TIME-PID)", 0},
  {"--json", NULL, FSK_ARG_BOOL, NULL, RO(o.json), 0, 0, NULL, "summary.json on stdout", 0},
  {"--quiet", "-q", FSK_ARG_BOOL, NULL, RO(o.quiet), 0, 0, NULL, "the verdict only", 0},
  {"--matrix", NULL, FSK_ARG_BOOL, NULL, RO(o.matrix), 0, 0, NULL,
   "the fault matrix instead of the six scenarios", 0},
  {"--valgrind", NULL, FSK_ARG_BOOL, NULL, RO(valgrind), 0, 0, NULL,
   "a short soak under valgrind --track-fds=yes with memcheck", 0},
  {"--sarif", NULL, FSK_ARG_STR, "FILE", RO(o.sarif), 0, 0, NULL,
   "also write the leak groups as SARIF 2.1.0 (code scanning)", 0},
  {NULL, NULL, 0, NULL, 0, 0, 0, NULL, NULL, 0},
};

const fsk__verb_t fsk__run_verb = {
  "run",
  run_flags,
  NULL,
  0,
  "  soak the reference gateway core in-process, with the fault-injection shim\n",
  "exit: 0 flat, 1 leak, 2 usage or environment error, 3 inconclusive\n"};

static int parse_run(int argc, char **argv, run_args_t *ra) {
  fsk__run_opts_t *o = &ra->o;
  fsk__args_t a;
  int rc;

  memset(ra, 0, sizeof(*ra));
  o->cycles = DEFAULT_CYCLES;
  o->warmup = DEFAULT_WARMUP;
  o->path_mask = 7;
  o->adapter_mask = 3;
  o->quiet_ms = 20;
  o->hang_ms = 2000;
  o->cycle_period_s = 300;
  if ((rc = fsk__args_parse(&fsk__run_verb, argc, argv, ra, &a)) != 0)
    return rc;
  o->out_given = fsk__args_seen(&fsk__run_verb, &a, "--out");
  if (o->cycles < 2)
    return fsk__error("run", "--cycles must be at least 2");
  /* A short soak under valgrind unless asked otherwise: valgrind is ~50x
   * slower, and the exit report is the point. */
  if (ra->valgrind) {
    if (!fsk__args_seen(&fsk__run_verb, &a, "--cycles") && o->cycles > VALGRIND_CYCLES)
      o->cycles = VALGRIND_CYCLES;
    if (o->warmup > VALGRIND_WARMUP)
      o->warmup = VALGRIND_WARMUP;
    o->quiet_ms = 200;     /* everything is slower under valgrind */
    o->under_valgrind = 1; /* valgrind's own memory is in the RSS */
  }
  return 0;
}

static void close_inherited_fds(void) {
  fsk_fd_t fds[256];
  size_t n = 0, i;

  if (fsk_fd_snapshot(0, fds, 256, &n) != 0)
    return;
  for (i = 0; i < n; i++) {
    if (fds[i].fd > 2)
      close(fds[i].fd); /* under valgrind its own fds refuse: EBADF, harmless */
  }
}

/* The result on stdout: summary.json, the table, or the verdict alone. */
static void show(const fsk__run_opts_t *o, const fsk_run_t *run) {
  if (o->json) {
    fsk__print_summary(o->out);
  } else if (!o->quiet) {
    fsk_print_table(stdout, run);
    printf("results: %s\n", o->out);
  } else {
    printf("%s\n", fsk_verdict_name(run->verdict));
  }
}

/* The worker: the shim is preloaded, the gateway core runs here. */
static int run_worker(run_args_t *ra) {
  fsk__run_opts_t *o = &ra->o;
  inj_stats_view_t v;
  fsk_run_t run;
  char platformd[PATH_MAX + 32];
  int rc, code;

  /* Start from a clean table -- stdin, stdout, stderr -- so the steady-state
   * counts the gate compares do not depend on what the caller (a terminal,
   * ctest, a CI runner) happened to leave open. */
  close_inherited_fds();
  fsk__signals_catch();
  o->stats_path = getenv("FDSOAK_INJECT_STATS");
  if (o->stats_path == NULL || (rc = inj_stats_open(o->stats_path, &v)) != 0) {
    fprintf(stderr, "fdsoak: the fault-injection shim is not loaded in the worker "
                    "(LD_PRELOAD failed?): cannot force the failure paths\n");
    return FSK_EXIT_USAGE;
  }
  inj_stats_close(&v);
#ifdef GW_REGRESS
  if (o->regress == NULL || gw_regress_set(o->regress) != 0) {
    fprintf(stderr, "fdsoak: the regress worker needs --regress P\n");
    return FSK_EXIT_USAGE;
  }
#else
  if (o->regress != NULL) {
    fprintf(stderr, "fdsoak: --regress needs the regress worker (fdsoak-regress)\n");
    return FSK_EXIT_USAGE;
  }
#endif
  /* From libexec/fdsoak/ (the regress worker) as from bin/. */
  fsk__sibling_path("fdsoak-platformd", platformd, sizeof(platformd));
  o->platformd = platformd;
  o->progress = !o->quiet && !o->json && isatty(2);
  o->color = o->progress && getenv("NO_COLOR") == NULL;

  memset(&run, 0, sizeof(run));
  run.mode = "run";
  fsk__utc_now(run.started_utc, sizeof(run.started_utc), NULL, 0);
  rc = fsk__soak_run(o, &run);
  if (rc != 0) {
    fsk__run_free(&run);
    return FSK_EXIT_USAGE;
  }
  if ((rc = fsk_results_write(o->out, &run)) != 0) {
    /* The verdict stands (a leak found is a leak, exit 1); only the files
     * are missing. */
    fprintf(stderr, "fdsoak: cannot write results to %s: %s (verdict: %s)\n", o->out, strerror(-rc),
            fsk_verdict_name(run.verdict));
    code = run.verdict == FSK_VERDICT_LEAK ? FSK_EXIT_LEAK : FSK_EXIT_USAGE;
    fsk__run_free(&run);
    return code;
  }
  if (ra->link_latest != NULL)
    fsk_results_link_latest(ra->link_latest, o->out);
  if (o->sarif != NULL && (rc = fsk__write_sarif_here(o->sarif, &run)) != 0) {
    fprintf(stderr, "fdsoak: cannot write %s: %s\n", o->sarif, strerror(-rc));
    fsk__run_free(&run);
    return FSK_EXIT_USAGE;
  }
  show(o, &run);
  code = fsk_exit_code(run.verdict);
  /* Stopped before the end with no leak found: not a pass. */
  if (run.interrupted && code == FSK_EXIT_FLAT) {
    fprintf(stderr, "fdsoak: interrupted: partial results in %s\n", o->out);
    code = FSK_EXIT_INCONCLUSIVE;
  }
  fsk__run_free(&run);
  fsk__origin_release();
  /* libuv keeps a process-wide signal pipe; release it so valgrind's fd
   * report at exit shows only what the soak itself left open. */
  uv_library_shutdown();
  return code;
}

/* valgrind 3.19 exits 0 with fds open at exit, so the report is the result:
 * any fd beyond the standard three is a failure, shown with its stack. */
static int check_valgrind_log(const char *log) {
  FILE *f = fopen(log, "r");
  char line[1024];
  int open_fds = -1, bad = 0, in_fd = 0;
  long errors = -1, lost = 0;

  if (f == NULL) {
    fprintf(stderr, "fdsoak: valgrind wrote no log at %s\n", log);
    return FSK_EXIT_USAGE;
  }
  while (fgets(line, sizeof(line), f) != NULL) {
    char *p = strstr(line, "FILE DESCRIPTORS: ");
    char *es = strstr(line, "ERROR SUMMARY: ");
    char *dl = strstr(line, "definitely lost: ");
    if (es != NULL)
      errors = strtol(es + 15, NULL, 10);
    if (dl != NULL) {
      /* "definitely lost: 1,234 bytes in 5 blocks" */
      long b = 0;
      for (dl += 17; *dl != ' ' && *dl != '\0'; dl++)
        if (*dl >= '0' && *dl <= '9')
          b = b * 10 + (*dl - '0');
      lost = b;
    }
    char *body = strstr(line, "== ");
    body = body != NULL ? body + 3 : line;
    if (p != NULL) {
      open_fds = (int)strtol(p + 18, NULL, 10);
      continue;
    }
    if (strstr(line, "Open file descriptor ") != NULL || strstr(line, "Open AF_") != NULL) {
      int fd = -1;
      char *q = strstr(line, "descriptor ");
      if (q != NULL)
        fd = (int)strtol(q + 11, NULL, 10);
      in_fd = fd > 2 || q == NULL;
      if (in_fd) {
        /* The first few with their stacks; the log has them all. */
        if (++bad > 3)
          in_fd = 0;
        else
          fprintf(stderr, "fdsoak: valgrind: %s", body);
      }
      continue;
    }
    if (in_fd) {
      if (strstr(line, " at 0x") != NULL || strstr(line, " by 0x") != NULL)
        fprintf(stderr, "fdsoak: valgrind:   %s", body);
      else
        in_fd = 0;
    }
  }
  fclose(f);
  if (open_fds < 0) {
    fprintf(stderr, "fdsoak: valgrind's log has no fd report (--track-fds=yes?): %s\n", log);
    return FSK_EXIT_USAGE;
  }
  if (errors < 0) {
    fprintf(stderr, "fdsoak: valgrind's log has no ERROR SUMMARY: %s\n", log);
    return FSK_EXIT_USAGE;
  }
  if (bad > 0 || errors > 0 || lost > 0) {
    if (bad > 0)
      fprintf(stderr,
              "fdsoak: valgrind: %d fd(s) beyond the standard three open at exit "
              "(all listed in %s)\n",
              bad, log);
    if (errors > 0 || lost > 0)
      fprintf(stderr,
              "fdsoak: valgrind: memcheck: %ld error(s), %ld bytes definitely lost "
              "(stacks in %s)\n",
              errors, lost, log);
    return FSK_EXIT_LEAK;
  }
  fprintf(stderr,
          "fdsoak: valgrind: %d fds open at exit, the standard three only; memcheck "
          "clean (0 errors, 0 bytes definitely lost)\n",
          open_fds);
  return FSK_EXIT_FLAT;
}

/* The parent's preparation: the shim, the worker, the results directory, the counter
 * page, and the environment the worker starts in.  0, or an exit code
 * with its message on stderr. */
static int prepare(run_args_t *ra, char *worker, size_t wlen, char *stats, size_t len) {
  fsk__run_opts_t *o = &ra->o;
  char shim[PATH_MAX], ts[32];
  int rc;

  if ((rc = fsk__shim_path(shim, sizeof(shim))) != 0)
    return fsk__error(NULL,
                      "the fault-injection shim is missing (%s: %s); build it or set "
                      "FDSOAK_INJECT_LIB",
                      shim, strerror(-rc));
  if ((rc = fsk__sibling_path(o->regress != NULL ? "fdsoak-regress" : "fdsoak", worker, wlen)) != 0)
    return fsk__error(NULL, "worker %s is missing: %s", worker, strerror(-rc));
  if (!o->out_given) {
    fsk__utc_now(NULL, 0, ts, sizeof(ts));
    /* The pid makes runs started in the same second distinct. */
    snprintf(o->out, sizeof(o->out), "results/runs/%s-%d%s%s", ts, (int)getpid(),
             o->regress ? "-regress-" : "", o->regress ? o->regress : "");
    ra->link_latest = "results";
  }
  if ((rc = fsk__out_probe(o->out)) != 0)
    return fsk__error(NULL, "cannot write results to %s: %s", o->out, strerror(-rc));
  if ((rc = fsk__stats_create(stats, len, "fdsoak-inject")) != 0)
    return fsk__error(NULL, "cannot create the shim's counter page in %s: %s",
                      getenv("TMPDIR") != NULL && getenv("TMPDIR")[0] ? getenv("TMPDIR") : "/tmp",
                      strerror(-rc));
  if ((rc = fsk__set_preload(shim, 1)) != 0) {
    unlink(stats);
    return fsk__error(NULL, "cannot preload the shim %s: %s", shim, strerror(-rc));
  }
  if (o->regress != NULL) {
    /* The regress core leaks adapters by design; under ASan, LeakSanitizer
     * would turn the worker's exit code into its own.  The soak's verdict
     * is the result here. */
    const char *old = getenv("ASAN_OPTIONS");
    char opts[1024];
    snprintf(opts, sizeof(opts), "%s%sdetect_leaks=0", old != NULL ? old : "",
             old != NULL && old[0] != '\0' ? ":" : "");
    setenv("ASAN_OPTIONS", opts, 1);
  }
  setenv("FDSOAK_INJECT", fsk__soak_spec(), 1);
  setenv("FDSOAK_INJECT_STATS", stats, 1);
  setenv("FDSOAK_INJECT_TRACK", "1", 1);
  return 0;
}

/* A pipe holding the worker's settings, its read end above the standard
 * descriptors (so the spawn's dup2 to WORKER_FD clears close-on-exec).
 * The read end, or -errno. */
static int settings_pipe(const run_args_t *ra) {
  worker_cfg_t cfg;
  int p[2], r, rc = 0;

  memset(&cfg, 0, sizeof cfg);
  cfg.o = ra->o;
  snprintf(cfg.regress, sizeof cfg.regress, "%s", ra->o.regress ? ra->o.regress : "");
  snprintf(cfg.sarif, sizeof cfg.sarif, "%s", ra->o.sarif ? ra->o.sarif : "");
  snprintf(cfg.link_latest, sizeof cfg.link_latest, "%s", ra->link_latest ? ra->link_latest : "");
  if (pipe2(p, O_CLOEXEC) != 0)
    return -errno;
  r = fcntl(p[0], F_DUPFD_CLOEXEC, WORKER_FD + 1);
  if (r < 0)
    rc = -errno;
  /* Far less than a pipe holds: the write completes before the worker runs. */
  else if (write(p[1], &cfg, sizeof cfg) != (ssize_t)sizeof cfg)
    rc = -EIO;
  close(p[0]);
  close(p[1]);
  if (rc != 0 && r >= 0)
    close(r);
  return rc != 0 ? rc : r;
}

/* Start the worker (under valgrind with --valgrind, its log in vlog). */
static int spawn_worker(const run_args_t *ra, const char *worker, const char *vlog, pid_t *pid) {
  char vlogarg[PATH_MAX + 48];
  char *wargv[12];
  posix_spawn_file_actions_t fa;
  int n = 0, fd, rc;

  if (ra->valgrind) {
    wargv[n++] = "valgrind";
    wargv[n++] = "--track-fds=yes";
    /* memcheck too: an adapter dropped undisposed is memory as well as fds */
    wargv[n++] = "--leak-check=full";
    wargv[n++] = "--show-leak-kinds=definite";
    wargv[n++] = "--errors-for-leak-kinds=definite";
    wargv[n++] = "--num-callers=16";
    snprintf(vlogarg, sizeof(vlogarg), "--log-file=%s", vlog);
    wargv[n++] = vlogarg;
  }
  wargv[n++] = (char *)worker;
  wargv[n++] = "__worker";
  wargv[n] = NULL;
  if ((fd = settings_pipe(ra)) < 0)
    return -fd;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fd, WORKER_FD);
  rc = posix_spawnp(pid, wargv[0], &fa, NULL, wargv, environ);
  posix_spawn_file_actions_destroy(&fa);
  close(fd);
  return rc;
}

static int run_parent(run_args_t *ra) {
  fsk__run_opts_t *o = &ra->o;
  char worker[PATH_MAX + 32], stats[PATH_MAX], vlog[PATH_MAX + 32];
  int rc, status;
  pid_t pid;

  if ((rc = prepare(ra, worker, sizeof worker, stats, sizeof stats)) != 0)
    return rc;
  snprintf(vlog, sizeof(vlog), "%s/valgrind.log", o->out);
  if ((rc = spawn_worker(ra, worker, vlog, &pid)) != 0) {
    unlink(stats);
    return fsk__error(NULL, "cannot start the worker: %s", strerror(rc));
  }
  /* Ctrl-C at a terminal reaches the worker too (same process group); a
   * SIGTERM or SIGINT sent to this process alone is passed on, so the
   * worker stops at a cycle boundary and writes its partial results. */
  fsk__signals_catch();
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    if (fsk__signal_caught())
      kill(pid, SIGTERM);
  }
  unlink(stats);
  if (!WIFEXITED(status))
    return fsk__error(NULL, "the worker died (signal %d)",
                      WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  if (ra->valgrind) {
    int soak = WEXITSTATUS(status), vg = check_valgrind_log(vlog);
    if (soak == FSK_EXIT_USAGE)
      return soak;
    return vg != FSK_EXIT_FLAT ? vg : soak;
  }
  return WEXITSTATUS(status);
}

int fsk__run_main(int argc, char **argv) {
  run_args_t ra;
  int rc;

  if ((rc = parse_run(argc, argv, &ra)) != 0)
    return rc == 1 ? 0 : rc;
  return run_parent(&ra);
}

/* `fdsoak __worker`: not a verb a user types.  Its settings are on
 * WORKER_FD, written by run_parent; anything else is refused. */
int fsk__run_worker_main(int argc, char **argv) {
  run_args_t ra;
  static worker_cfg_t cfg;
  size_t got = 0;
  ssize_t n = 1;
  char extra;

  (void)argv;
  while (argc == 0 && got < sizeof cfg && n > 0) {
    n = read(WORKER_FD, (char *)&cfg + got, sizeof cfg - got);
    if (n < 0 && errno == EINTR)
      n = 1;
    else if (n > 0)
      got += (size_t)n;
  }
  if (argc != 0 || got != sizeof cfg || read(WORKER_FD, &extra, 1) != 0)
    return fsk__error(NULL, "__worker is the internal worker of fdsoak run, started by it with "
                            "its settings; run fdsoak run instead");
  close(WORKER_FD);
  memset(&ra, 0, sizeof ra);
  ra.o = cfg.o;
  ra.o.regress = cfg.regress[0] ? cfg.regress : NULL;
  ra.o.sarif = cfg.sarif[0] ? cfg.sarif : NULL;
  ra.o.stats_path = ra.o.platformd = NULL;
  ra.link_latest = cfg.link_latest[0] ? cfg.link_latest : NULL;
  return run_worker(&ra);
}
