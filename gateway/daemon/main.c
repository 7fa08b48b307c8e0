/*
 * fdsoak-gateway - the reference gateway daemon.
 *
 *   fdsoak-gateway [--config FILE] [--log-level LEVEL] [--check]
 *   fdsoak-gateway --version | --help
 *
 * Runs the gateway core on the real clock with the platform adapter and
 * (when built with it) the api adapter.  Exit codes: 0 after SIGINT or
 * SIGTERM with everything closed; 1 when the runner stops because nothing
 * is connected and nothing is queued (or the loop could not be closed);
 * 2 for usage and configuration errors.  SIGHUP is logged and ignored (the
 * config is read only at start).  Started with fds 0-2 closed, it puts
 * /dev/null there first.  One log line per event on stderr:
 *   2026-01-02T03:04:05.678Z INFO  platform chat: attempt 2 (retry)
 */
#include <errno.h>
#include <stdarg.h>
#include <unistd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>

#include <uv.h>

#include <sys/stat.h>

/* The adapters through gw.h alone, like any other program built on gw;
 * util.h for the two helpers every daemon's main() needs. */
#include "config_yaml.h"
#include "gw.h"
#include "util.h"

#ifndef FDSOAK_VERSION
#define FDSOAK_VERSION "0.0.0" /* set by the build (daemon.cmake) */
#endif

typedef struct {
  uv_loop_t loop;
  gw_clock_t clock;
  gw_runner_t *runner;
  uv_signal_t sig_int, sig_term, sig_hup;
  uv_timer_t stop_timer; /* defers a stop out of the runner's callback */
  gw_log_level_t log_level;
  int stopping;
  int exit_code;
  int runner_closed;
  int clock_closed;
} daemon_t;

static const char *const kinds[] = {"platform", "api", NULL};

static void log_line(gw_log_level_t level, const char *fmt, ...)
  __attribute__((format(printf, 2, 3)));

static daemon_t *the_daemon; /* for log_line's level filter only */

static void log_emit(gw_log_level_t level, const char *msg) {
  static const char *names[] = {"DEBUG", "INFO ", "WARN ", "ERROR"};
  struct timeval tv;
  struct tm tm;
  char ts[32];

  if (the_daemon != NULL && level < the_daemon->log_level)
    return;
  gettimeofday(&tv, NULL);
  gmtime_r(&tv.tv_sec, &tm);
  strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
  /* One fprintf per line: stderr is unbuffered, and a line written in
   * pieces could interleave with another writer to the same file. */
  fprintf(stderr, "%s.%03dZ %s %s\n", ts, (int)(tv.tv_usec / 1000),
          names[level <= GW_LOG_ERROR ? level : GW_LOG_ERROR], msg);
}

static void log_line(gw_log_level_t level, const char *fmt, ...) {
  char msg[1024];
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  log_emit(level, msg);
}

static void runner_log_cb(void *data, gw_log_level_t level, const char *msg) {
  log_emit(level, msg);
}

static void begin_stop(daemon_t *d, int exit_code);

static void stop_timer_cb(uv_timer_t *t) {
  daemon_t *d = t->data;

  begin_stop(d, d->exit_code);
}

static void event_cb(void *data, const gw_event_t *ev) {
  daemon_t *d = data;
  gw_platform_status_t st;
  const char *name = ev->platform != NULL ? ev->platform : "-";
  int have_st = ev->platform != NULL && gw_runner_status(d->runner, ev->platform, &st) == 0;

  switch (ev->type) {
  case GW_EV_ATTEMPT:
    log_line(GW_LOG_INFO, "platform %s: attempt %u (%s)", name, ev->attempt,
             ev->startup ? "startup" : "retry");
    break;
  case GW_EV_OUTCOME:
    switch (ev->outcome) {
    case GW_OUTCOME_SUCCESS:
      log_line(GW_LOG_INFO, "platform %s: connected (attempt %u)", name, ev->attempt);
      break;
    case GW_OUTCOME_FATAL:
      log_line(GW_LOG_ERROR, "platform %s: fatal, not retried (attempt %u): %s: %s", name,
               ev->attempt, have_st ? st.last_error_code : "?",
               have_st ? st.last_error_message : "?");
      break;
    case GW_OUTCOME_RETRYABLE:
    case GW_OUTCOME_EXCEPTION: {
      char when[64] = "";

      if (have_st && st.has_next_retry && st.next_retry >= ev->now)
        snprintf(when, sizeof(when), "; next attempt in %.0f s",
                 (double)(st.next_retry - ev->now) / 1000.0);
      log_line(GW_LOG_WARN, "platform %s: %s (attempt %u): %s%s%s%s", name,
               ev->outcome == GW_OUTCOME_RETRYABLE ? "retryable failure" : "exception", ev->attempt,
               ev->err != 0 ? uv_err_name(ev->err) : "",
               ev->err != 0 && have_st && st.last_error_code[0] ? " " : "",
               have_st && st.last_error_code[0] ? st.last_error_code : "", when);
      break;
    }
    case GW_OUTCOME_DROPPED:
      log_line(GW_LOG_ERROR, "platform %s: adapter could not be created; dropped", name);
      break;
    default:
      break;
    }
    break;
  case GW_EV_DISPOSED:
    log_line(GW_LOG_DEBUG, "platform %s: failed attempt %u disposed of", name, ev->attempt);
    break;
  case GW_EV_RUNTIME_ERROR:
    log_line(ev->outcome == GW_OUTCOME_FATAL ? GW_LOG_ERROR : GW_LOG_WARN,
             "platform %s: runtime error%s: %s: %s", name,
             ev->outcome == GW_OUTCOME_FATAL ? " (fatal)" : ", reconnecting",
             have_st ? st.last_error_code : "?", have_st ? st.last_error_message : "?");
    break;
  case GW_EV_STOPPED:
    /* The runner's rule, upstream's: nothing connected, nothing queued or
     * about to be queued -- after a runtime fatal error or a startup where
     * every platform failed fatally. */
    log_line(GW_LOG_ERROR, "nothing connected and nothing queued: stopping");
    if (!d->stopping) {
      /* Not from inside the runner's own call stack. */
      d->exit_code = 1;
      uv_timer_start(&d->stop_timer, stop_timer_cb, 0, 0);
    }
    break;
  }
}

static void clock_closed_cb(void *obj) {
  daemon_t *d = ((gw_clock_t *)obj)->data;

  d->clock_closed = 1;
}

static void runner_closed_cb(gw_runner_t *r) {
  daemon_t *d = gw_runner_data(r);

  d->runner_closed = 1;
  d->runner = NULL;
  log_line(GW_LOG_INFO, "all platforms closed");
  uv_close((uv_handle_t *)&d->sig_int, NULL);
  uv_close((uv_handle_t *)&d->sig_term, NULL);
  uv_close((uv_handle_t *)&d->sig_hup, NULL);
  uv_close((uv_handle_t *)&d->stop_timer, NULL);
  d->clock.data = d;
  gw_clock_close(&d->clock, clock_closed_cb);
}

static void begin_stop(daemon_t *d, int exit_code) {
  if (d->stopping)
    return;
  d->stopping = 1;
  d->exit_code = exit_code;
  log_line(GW_LOG_INFO, "shutting down");
  gw_runner_close(d->runner, runner_closed_cb);
}

static void signal_cb(uv_signal_t *s, int signum) {
  daemon_t *d = s->data;

  if (d->stopping) {
    log_line(GW_LOG_WARN, "signal %d: already shutting down", signum);
    return;
  }
  log_line(GW_LOG_INFO, "signal %d (%s)", signum, signum == SIGINT ? "SIGINT" : "SIGTERM");
  begin_stop(d, 0);
}

/* SIGHUP's default action kills the process without a shutdown, and a
 * terminal closing or a supervisor's "reload" sends it.  The daemon has no
 * file of its own to reopen (it logs to stderr) and reads its config only at
 * start, so it says so and keeps running. */
static void sighup_cb(uv_signal_t *s, int signum) {
  log_line(GW_LOG_WARN,
           "signal %d (SIGHUP): ignored; the configuration is read only at start, "
           "restart to apply changes",
           signum);
}

static void walk_cb(uv_handle_t *h, void *arg) {
  log_line(GW_LOG_ERROR, "handle left open at exit: %s%s", uv_handle_type_name(h->type),
           uv_is_closing(h) ? " (closing)" : "");
}

static const char *env_get(const char *name) { return getenv(name); }

static const char *auth_state(const gw__daemon_config_t *cfg) {
  const char *env = getenv("API_SERVER_KEY");

  if (cfg->api.key[0] == '\0')
    return "off: no key is set, every endpoint is open to whoever reaches the port";
  return env != NULL && env[0] != '\0' ? "on (key from API_SERVER_KEY)"
                                       : "on (key from the config file)";
}

/* The directory a store file goes in must exist and take new files (the
 * store creates the db, -wal and -shm there). */
static int check_store_dir(const char *path, char *err, size_t errlen) {
  char dir[GW_PATH_MAX];
  struct stat st;
  char *slash;

  gw__strlcpy(dir, path, sizeof(dir));
  slash = strrchr(dir, '/');
  if (slash == NULL)
    gw__strlcpy(dir, ".", sizeof(dir));
  else if (slash == dir)
    dir[1] = '\0';
  else
    *slash = '\0';
  if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
    snprintf(err, errlen, "store_path '%s': directory '%s' does not exist", path, dir);
    return GW_ECONFIG;
  }
  if (access(dir, W_OK | X_OK) != 0) {
    snprintf(err, errlen, "store_path '%s': directory '%s' is not writable: %s", path, dir,
             strerror(errno));
    return GW_ECONFIG;
  }
  return 0;
}

/*
 * --check: what the adapters would find wrong once running, said now.  The
 * api's host and key checks are the very ones its connect makes (fatal
 * there); a store directory that is missing would fail every attempt.
 */
static int preflight(const gw__daemon_config_t *cfg, const char *name) {
  char err[2 * GW_PATH_MAX + 128];
  size_t i;

  if (cfg->has_api && (gw_api_adapter_preflight(&cfg->api, err, sizeof(err)) != 0 ||
                       check_store_dir(cfg->api.store_path, err, sizeof(err)) != 0)) {
    fprintf(stderr, "fdsoak-gateway: %s: api: %s\n", name, err);
    return GW_ECONFIG;
  }
  for (i = 0; i < cfg->nplatforms; i++) {
    if (cfg->platforms[i].store_path[0] != '\0' &&
        check_store_dir(cfg->platforms[i].store_path, err, sizeof(err)) != 0) {
      fprintf(stderr, "fdsoak-gateway: %s: platforms[%zu]: %s\n", name, i, err);
      return GW_ECONFIG;
    }
  }
  return 0;
}

static void usage(FILE *f) {
  fprintf(f, "usage: fdsoak-gateway [--config FILE] [--log-level debug|info|warn|error] "
             "[--check]\n"
             "       fdsoak-gateway --version | --help\n"
             "  --config FILE   YAML configuration (default: $FDSOAK_GATEWAY_CONFIG, else an\n"
             "                  api on 127.0.0.1:8642 and no platforms)\n"
             "  --log-level L   overrides the config's log_level\n"
             "  --check         validate the configuration and exit\n"
             "  --version       print the version and exit\n"
             "  -h, --help      print this help and exit\n");
}

static int parse_level(const char *s, gw_log_level_t *out) {
  static const gw_log_level_t levels[] = {GW_LOG_DEBUG, GW_LOG_INFO, GW_LOG_WARN, GW_LOG_ERROR};
  size_t i;

  for (i = 0; i < 4; i++) {
    if (strcasecmp(s, gw__log_level_name(levels[i])) == 0) {
      *out = levels[i];
      return 0;
    }
  }
  return -1;
}

/* The command line. */
typedef struct {
  const char *config_path;
  gw_log_level_t level;
  int have_level, check_only;
} cli_t;

/* -1 to go on, else the exit code (help, version, a bad argument). */
static int parse_cli(int argc, char **argv, cli_t *c) {
  int i;

  for (i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
      c->config_path = argv[++i];
    } else if (strcmp(argv[i], "--log-level") == 0 && i + 1 < argc) {
      if (parse_level(argv[++i], &c->level) != 0) {
        fprintf(stderr, "fdsoak-gateway: --log-level: unknown level '%s'\n", argv[i]);
        return 2;
      }
      c->have_level = 1;
    } else if (strcmp(argv[i], "--check") == 0) {
      c->check_only = 1;
    } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
      usage(stdout);
      return 0;
    } else if (strcmp(argv[i], "--version") == 0) {
      printf("fdsoak-gateway %s\n", FDSOAK_VERSION);
      return 0;
    } else {
      fprintf(stderr, "fdsoak-gateway: unknown or incomplete argument '%s'\n", argv[i]);
      usage(stderr);
      return 2;
    }
  }
  if (c->config_path == NULL)
    c->config_path = getenv("FDSOAK_GATEWAY_CONFIG");
  return -1;
}

/* The configuration: the file, else the built-in one; then the
 * environment.  0, or -1 with the message on stderr. */
static int load_config(gw__daemon_config_t *cfg, const char *config_path) {
  /* No file: what upstream does with no platforms configured, an API. */
  static const char deflt[] = "api:\n  store_path: fdsoak-responses.db\n";
  char err[512];
  int rc;

  gw__daemon_config_init(cfg);
  if (config_path != NULL)
    rc = gw__daemon_config_load(config_path, kinds, cfg, err, sizeof(err));
  else
    rc =
      gw__daemon_config_parse(deflt, sizeof(deflt) - 1, "(built-in)", kinds, cfg, err, sizeof(err));
  if (rc == 0)
    rc = gw__daemon_config_env(cfg, env_get, err, sizeof(err));
  if (rc != 0) {
    fprintf(stderr, "fdsoak-gateway: %s\n", err);
    return -1;
  }
  if (!cfg->has_api && cfg->nplatforms == 0) {
    fprintf(stderr, "fdsoak-gateway: %s: nothing to run (no api section and no platforms)\n",
            config_path != NULL ? config_path : "(no config)");
    return -1;
  }
  return 0;
}

/* The loop, the clock, the signal handles and the runner.  0; 1 when the
 * loop or the clock failed (nothing to close); 2 when the runner failed,
 * with everything already closing (the loop still runs). */
static int daemon_init(daemon_t *d) {
  gw_runner_options_t opts;
  int rc;

  if ((rc = uv_loop_init(&d->loop)) != 0) {
    fprintf(stderr, "fdsoak-gateway: uv_loop_init: %s\n", uv_strerror(rc));
    return 1;
  }
  if ((rc = gw_clock_init(&d->loop, &d->clock, GW_CLOCK_REAL)) != 0) {
    fprintf(stderr, "fdsoak-gateway: clock: %s\n", uv_strerror(rc));
    uv_loop_close(&d->loop);
    return 1;
  }
  /* Initialised before the runner so that every later exit can close them
   * the same way (runner_closed_cb). */
  uv_signal_init(&d->loop, &d->sig_int);
  uv_signal_init(&d->loop, &d->sig_term);
  uv_signal_init(&d->loop, &d->sig_hup);
  uv_timer_init(&d->loop, &d->stop_timer);
  d->sig_int.data = d->sig_term.data = d->sig_hup.data = d->stop_timer.data = d;
  memset(&opts, 0, sizeof(opts));
  opts.log = runner_log_cb;
  opts.log_level = d->log_level;
  opts.event = event_cb;
  opts.data = d;
  if ((rc = gw_runner_init(&d->loop, &d->clock, &opts, &d->runner)) != 0) {
    fprintf(stderr, "fdsoak-gateway: runner: %s\n", uv_strerror(rc));
    d->runner = NULL;
    d->runner_closed = 1;
    uv_close((uv_handle_t *)&d->sig_int, NULL);
    uv_close((uv_handle_t *)&d->sig_term, NULL);
    uv_close((uv_handle_t *)&d->sig_hup, NULL);
    uv_close((uv_handle_t *)&d->stop_timer, NULL);
    d->clock.data = d;
    gw_clock_close(&d->clock, clock_closed_cb);
    d->exit_code = 1;
    return 2;
  }
  return 0;
}

/* The adapter kinds and every configured platform on the runner: 0, or
 * the exit code. */
static int add_platforms(daemon_t *d, const gw__daemon_config_t *cfg, const char *name) {
  char err[512];
  size_t i;
  int rc;

  rc = gw_runner_register_kind(d->runner, &gw_platform_adapter_vtable);
  if (rc == 0)
    rc = gw_runner_register_kind(d->runner, &gw_api_adapter_vtable);
  if (rc != 0) {
    fprintf(stderr, "fdsoak-gateway: register kinds: %s\n", uv_strerror(rc));
    return 1;
  }
  if (cfg->has_api && gw_runner_add_platform(d->runner, &cfg->api, err, sizeof(err)) != 0) {
    fprintf(stderr, "fdsoak-gateway: %s: api: %s\n", name, err);
    return 2;
  }
  for (i = 0; i < cfg->nplatforms; i++) {
    if (gw_runner_add_platform(d->runner, &cfg->platforms[i], err, sizeof(err)) != 0) {
      fprintf(stderr, "fdsoak-gateway: %s: platforms[%zu]: %s\n", name, i, err);
      return 2;
    }
  }
  return 0;
}

/* --check's answer, or the signals armed and the runner started. */
static void daemon_start(daemon_t *d, const gw__daemon_config_t *cfg, const char *name,
                         int check_only) {
  int rc;

  if (check_only) {
    printf("%s: ok (%s%zu platform%s)\n", name, cfg->has_api ? "api and " : "", cfg->nplatforms,
           cfg->nplatforms == 1 ? "" : "s");
    if (cfg->has_api)
      printf("api: authentication %s\n", auth_state(cfg));
    begin_stop(d, 0);
    return;
  }
  uv_signal_start(&d->sig_int, signal_cb, SIGINT);
  uv_signal_start(&d->sig_term, signal_cb, SIGTERM);
  uv_signal_start(&d->sig_hup, sighup_cb, SIGHUP);
  log_line(GW_LOG_INFO, "fdsoak-gateway starting: %s%zu platform%s, pid %d",
           cfg->has_api ? "api and " : "", cfg->nplatforms, cfg->nplatforms == 1 ? "" : "s",
           (int)getpid());
  /* Whether the API asks for a key is the first thing an operator (or an
   * auditor reading the log) needs to know, whatever decided it. */
  if (cfg->has_api)
    log_line(cfg->api.key[0] != '\0' ? GW_LOG_INFO : GW_LOG_WARN, "api: authentication %s",
             auth_state(cfg));
  if ((rc = gw_runner_start(d->runner)) != 0) {
    log_line(GW_LOG_ERROR, "start: %s", uv_strerror(rc));
    begin_stop(d, 1);
  }
}

/* Run the loop to its end: the exit code. */
static int daemon_run(daemon_t *d, int check_only) {
  int exit_code, rc;

  uv_run(&d->loop, UV_RUN_DEFAULT);
  exit_code = d->exit_code;
  if (!d->runner_closed || !d->clock_closed) {
    log_line(GW_LOG_ERROR, "loop ended before shutdown completed");
    exit_code = 1;
  }
  rc = uv_loop_close(&d->loop);
  if (rc != 0) {
    uv_walk(&d->loop, walk_cb, NULL);
    log_line(GW_LOG_ERROR, "uv_loop_close: %s", uv_strerror(rc));
    exit_code = 1;
  } else if (exit_code == 0 && !check_only) {
    log_line(GW_LOG_INFO, "clean exit");
  }
  return exit_code;
}

int main(int argc, char **argv) {
  static daemon_t d; /* static: the loop and handles outlive any frame */
  gw__daemon_config_t *cfg = NULL;
  cli_t c = {NULL, GW_LOG_INFO, 0, 0};
  const char *name;
  int rc, exit_code = 2;

  /* Before any fd is opened: see gw__process_guard. */
  rc = gw__process_guard();
  if (rc != 0) {
    fprintf(stderr, "fdsoak-gateway: stdio or SIGPIPE set-up: %s\n", uv_strerror(rc));
    return 2;
  }
  if ((rc = parse_cli(argc, argv, &c)) >= 0)
    return rc;
  name = c.config_path != NULL ? c.config_path : "(config)";
  cfg = malloc(sizeof(*cfg));
  if (cfg == NULL) {
    fprintf(stderr, "fdsoak-gateway: out of memory\n");
    return 1;
  }
  if (load_config(cfg, c.config_path) != 0)
    goto out;
  d.log_level = c.have_level ? c.level : cfg->log_level;
  the_daemon = &d;
  exit_code = 1;
  if ((rc = daemon_init(&d)) == 1)
    goto out;
  /* From here on every exit goes through the runner's close, so whatever
   * was created is released the same way a signal would release it. */
  if (rc == 0) {
    exit_code = add_platforms(&d, cfg, name);
    if (exit_code == 0 && c.check_only && preflight(cfg, name) != 0)
      exit_code = 2;
    if (exit_code != 0)
      begin_stop(&d, exit_code);
    else
      daemon_start(&d, cfg, name, c.check_only);
  }
  exit_code = daemon_run(&d, c.check_only);
out:
  free(cfg);
  return exit_code;
}
