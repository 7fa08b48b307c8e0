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
#include "driver.h"
#include "proc.h"
#include "results_internal.h"

#include <errno.h>
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

#define die_usage fsk__usage_error

static void run_usage(FILE *f) {
  fprintf(f,
          "usage: fdsoak run [--path fatal|retryable|exception|all] [--adapter api|platform|all]\n"
          "                  [--cycles N] [--warmup N] [--regress PATH] [--out DIR] [--json] [-q]\n"
          "                  [--matrix] [--valgrind] [--sarif FILE]\n"
          "  --cycles N        reconnect cycles after warm-up per scenario (default 1000)\n"
          "  --warmup N        cycles before judging starts (default 50)\n"
          "  --regress PATH    the regress core: fatal, retryable, exception or store-close\n"
          "  --matrix          the fault matrix instead of the six scenarios\n"
          "  --valgrind        a short soak under valgrind --track-fds=yes with memcheck\n"
          "  --sarif FILE      also write the leak groups as SARIF 2.1.0 (code scanning)\n"
          "exit: 0 flat, 1 leak, 2 usage or environment error, 3 inconclusive\n");
}

static int parse_long(const char *flag, const char *v, long lo, long hi, long *out) {
  char *end;
  long x;

  if (v == NULL)
    return fsk__usage_error("%s needs a value", flag);
  errno = 0;
  x = strtol(v, &end, 10);
  if (errno != 0 || end == v || *end != '\0' || x < lo || x > hi)
    return fsk__usage_error("%s: '%s' is not a whole number in %ld..%ld", flag, v, lo, hi);
  *out = x;
  return 0;
}

typedef struct {
  fsk_run_opts_t o;
  int valgrind;
  int cycles_given;
  int worker;
  const char *link_latest; /* results root whose `latest` to update */
} run_args_t;

static int parse_run(int argc, char **argv, run_args_t *ra) {
  fsk_run_opts_t *o = &ra->o;
  int i, j, rc;

  memset(ra, 0, sizeof(*ra));
  o->cycles = DEFAULT_CYCLES;
  o->warmup = DEFAULT_WARMUP;
  o->path_mask = 7;
  o->adapter_mask = 3;
  o->quiet_ms = 20;
  o->hang_ms = 2000;
  o->cycle_period_s = 300;
  for (i = 0; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "--path") == 0 || strcmp(a, "--adapter") == 0) {
      int is_path = a[2] == 'p';
      const char *const *names = is_path ? fsk__path_names : fsk__adapter_names;
      int n = is_path ? FSK_PATHS : FSK_ADAPTERS;
      unsigned mask = 0;
      if (v == NULL)
        return fsk__usage_error("%s needs a value", a);
      if (strcmp(v, "all") == 0)
        mask = (1u << n) - 1;
      for (j = 0; j < n && mask == 0; j++) {
        if (strcmp(v, names[j]) == 0)
          mask = 1u << j;
      }
      if (mask == 0)
        return fsk__usage_error("%s: unknown value '%s' (%s)", a, v,
                                is_path ? "fatal, retryable, exception or all"
                                        : "api, platform or all");
      if (is_path)
        o->path_mask = mask;
      else
        o->adapter_mask = mask;
      i++;
    } else if (strcmp(a, "--cycles") == 0) {
      if ((rc = parse_long(a, v, 1, 100000000, &o->cycles)) != 0)
        return rc;
      ra->cycles_given = 1;
      i++;
    } else if (strcmp(a, "--warmup") == 0) {
      if ((rc = parse_long(a, v, 0, 100000000, &o->warmup)) != 0)
        return rc;
      i++;
    } else if (strcmp(a, "--regress") == 0) {
      if (v == NULL)
        return fsk__usage_error("--regress needs a path");
      if (strcmp(v, "fatal") != 0 && strcmp(v, "retryable") != 0 && strcmp(v, "exception") != 0 &&
          strcmp(v, "store-close") != 0)
        return fsk__usage_error(
          "--regress: unknown path '%s' (fatal, retryable, exception, store-close)", v);
      o->regress = v;
      i++;
    } else if (strcmp(a, "--out") == 0) {
      if (v == NULL || v[0] == '\0')
        return fsk__usage_error("--out needs a directory");
      if (strlen(v) >= sizeof(o->out) - 64)
        return fsk__usage_error("--out: path too long");
      snprintf(o->out, sizeof(o->out), "%s", v);
      o->out_given = 1;
      i++;
    } else if (strcmp(a, "--sarif") == 0) {
      if (v == NULL || v[0] == '\0')
        return fsk__usage_error("--sarif needs a file");
      o->sarif = v;
      i++;
    } else if (strcmp(a, "--under-valgrind") == 0) {
      o->under_valgrind = 1; /* internal: set by the parent for a worker under valgrind */
    } else if (strcmp(a, "--matrix") == 0) {
      o->matrix = 1;
    } else if (strcmp(a, "--json") == 0) {
      o->json = 1;
    } else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
      o->quiet = 1;
    } else if (strcmp(a, "--valgrind") == 0) {
      ra->valgrind = 1;
    } else if (strcmp(a, "--quiet-ms") == 0) {
      long x = 0;
      if ((rc = parse_long(a, v, 1, 10000, &x)) != 0)
        return rc;
      o->quiet_ms = (unsigned)x;
      i++;
    } else if (strcmp(a, "--link-latest") == 0 && v != NULL) {
      ra->link_latest = v; /* internal: set by the parent for its worker */
      i++;
    } else {
      return fsk__usage_error("run: unknown flag '%s'", a);
    }
  }
  if (o->warmup >= o->cycles + o->warmup || o->cycles < 2)
    return fsk__usage_error("--cycles must be at least 2");
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

/* The worker: the shim is preloaded, the gateway core runs here. */
static int run_worker(run_args_t *ra) {
  fsk_run_opts_t *o = &ra->o;
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
    fprintf(stderr, "fdsoak: the regress worker needs --regress PATH\n");
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
  if (o->json) {
    fsk__print_summary(o->out);
  } else if (!o->quiet) {
    fsk_print_table(stdout, &run);
    printf("results: %s\n", o->out);
  } else {
    printf("%s\n", fsk_verdict_name(run.verdict));
  }
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

static int run_parent(int argc, char **argv, run_args_t *ra) {
  fsk_run_opts_t *o = &ra->o;
  char shim[PATH_MAX], worker[PATH_MAX + 32], stats[PATH_MAX];
  char ts[32], vlog[PATH_MAX + 32], vlogarg[PATH_MAX + 48], cycles[32], warmup[32];
  char **wargv;
  int i, n = 0, rc, status;
  pid_t pid;

  if ((rc = fsk__shim_path(shim, sizeof(shim))) != 0) {
    fprintf(stderr,
            "fdsoak: the fault-injection shim is missing (%s: %s); build it or set "
            "FDSOAK_INJECT_LIB\n",
            shim, strerror(-rc));
    return FSK_EXIT_USAGE;
  }
  if ((rc = fsk__sibling_path(o->regress != NULL ? "fdsoak-regress" : "fdsoak", worker,
                              sizeof(worker))) != 0) {
    fprintf(stderr, "fdsoak: worker %s is missing: %s\n", worker, strerror(-rc));
    return FSK_EXIT_USAGE;
  }
  if (!o->out_given) {
    fsk__utc_now(NULL, 0, ts, sizeof(ts));
    /* The pid makes runs started in the same second distinct. */
    snprintf(o->out, sizeof(o->out), "results/runs/%s-%d%s%s", ts, (int)getpid(),
             o->regress ? "-regress-" : "", o->regress ? o->regress : "");
    ra->link_latest = "results";
  }
  if ((rc = fsk__out_probe(o->out)) != 0) {
    fprintf(stderr, "fdsoak: cannot write results to %s: %s\n", o->out, strerror(-rc));
    return FSK_EXIT_USAGE;
  }
  if ((rc = fsk__stats_create(stats, sizeof stats, "fdsoak-inject")) != 0) {
    fprintf(stderr, "fdsoak: cannot create the shim's counter page in %s: %s\n",
            getenv("TMPDIR") != NULL && getenv("TMPDIR")[0] ? getenv("TMPDIR") : "/tmp",
            strerror(-rc));
    return FSK_EXIT_USAGE;
  }

  if ((rc = fsk__set_preload(shim, 1)) != 0) {
    fprintf(stderr, "fdsoak: cannot preload the shim %s: %s\n", shim, strerror(-rc));
    unlink(stats);
    return FSK_EXIT_USAGE;
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

  wargv = calloc((size_t)argc + 24, sizeof(*wargv));
  if (wargv == NULL)
    return FSK_EXIT_USAGE;
  if (ra->valgrind) {
    snprintf(vlog, sizeof(vlog), "%s/valgrind.log", o->out);
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
  wargv[n++] = worker;
  wargv[n++] = "__worker";
  for (i = 0; i < argc; i++) {
    if (strcmp(argv[i], "--valgrind") == 0)
      continue;
    wargv[n++] = argv[i];
  }
  if (ra->valgrind) {
    /* A short soak unless asked otherwise: valgrind is ~50x slower, and the
     * exit report is the point. */
    snprintf(cycles, sizeof(cycles), "%ld",
             ra->cycles_given || o->cycles < VALGRIND_CYCLES ? o->cycles : VALGRIND_CYCLES);
    snprintf(warmup, sizeof(warmup), "%ld",
             o->warmup < VALGRIND_WARMUP ? o->warmup : VALGRIND_WARMUP);
    wargv[n++] = "--cycles";
    wargv[n++] = cycles;
    wargv[n++] = "--warmup";
    wargv[n++] = warmup;
    wargv[n++] = "--quiet-ms";
    wargv[n++] = "200";              /* everything is slower under valgrind */
    wargv[n++] = "--under-valgrind"; /* valgrind's own memory is in the RSS */
  }
  if (!o->out_given) {
    wargv[n++] = "--out";
    wargv[n++] = o->out;
  }
  if (ra->link_latest != NULL) {
    wargv[n++] = "--link-latest";
    wargv[n++] = (char *)ra->link_latest;
  }
  wargv[n] = NULL;

  rc = posix_spawnp(&pid, wargv[0], NULL, NULL, wargv, environ);
  free(wargv);
  if (rc != 0) {
    fprintf(stderr, "fdsoak: cannot start the worker: %s\n", strerror(rc));
    unlink(stats);
    return FSK_EXIT_USAGE;
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
  if (!WIFEXITED(status)) {
    fprintf(stderr, "fdsoak: the worker died (signal %d)\n",
            WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    return FSK_EXIT_USAGE;
  }
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
  int i, rc;

  for (i = 0; i < argc; i++)
    if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
      run_usage(stdout);
      return 0;
    }
  if ((rc = parse_run(argc, argv, &ra)) != 0)
    return rc;
  /* run_parent passes its arguments on to the worker after "run". */
  return run_parent(argc + 1, argv - 1, &ra);
}

int fsk__run_worker_main(int argc, char **argv) {
  run_args_t ra;
  int rc;

  if (argc < 1 || strcmp(argv[0], "run") != 0)
    return fsk__usage_error("internal worker invoked without 'run'");
  if ((rc = parse_run(argc - 1, argv + 1, &ra)) != 0)
    return rc;
  ra.worker = 1;
  return run_worker(&ra);
}
