/* soak.c - the in-process soak of the reference gateway (`fdsoak run`).
 *
 * Each scenario (failure path x adapter) runs the real gateway core on a
 * real libuv loop with a virtual clock: the watcher's next retry deadline is
 * jumped to, the attempt's I/O is real, and the shim (preloaded into this
 * process by the CLI) makes it fail the way the scenario asks.  At the
 * quiescent point of each cycle -- attempt finished, adapter disposed, loop
 * idle -- the fd table is sampled: the count always, the classified set
 * when the count moved.
 */
#include "driver.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#include "gw.h"
#include "inj.h"

extern char **environ;

const char *const fsk__path_names[FSK_PATHS] = {"fatal", "retryable", "exception"};
const char *const fsk__adapter_names[FSK_ADAPTERS] = {"api", "platform"};

/*
 * Ports named in the fault spec.  Nothing ever listens on or binds to them:
 * the shim fails every bind/connect there before the kernel sees it (a
 * faithful refusal goes to a closed loopback port of the shim's choosing).
 */
#define PORT_API_FATAL 47101
#define PORT_API_RETRYABLE 47102
#define PORT_API_EXCEPTION 47103
#define PORT_PLAT_RETRYABLE 47111
#define PORT_PLAT_EXCEPTION 47112

/* How each scenario is forced (design.md, "The three failure paths"):
 *   api/fatal         bind fails EADDRNOTAVAIL: a configuration error
 *   api/retryable     bind fails EADDRINUSE: the port is taken
 *   api/exception     bind fails ENOBUFS: neither retryable nor configuration,
 *                     so the attempt aborts with the store already open
 *   platform/fatal    the peer (fdsoak-platformd --mode reject) refuses the token
 *   platform/retryable connect refused, asynchronously, as a real network does
 *   platform/exception connect fails ENETUNREACH synchronously: libuv returns it
 */
static const char soak_spec[] =
    "bind:addr=127.0.0.1,port=47101:do=errno(EADDRNOTAVAIL);"
    "bind:addr=127.0.0.1,port=47102:do=errno(EADDRINUSE);"
    "bind:addr=127.0.0.1,port=47103:do=errno(ENOBUFS);"
    "connect:addr=127.0.0.1,port=47111:do=refuse;"
    "connect:addr=127.0.0.1,port=47112:do=errno(ENETUNREACH)";

const char *fsk__soak_spec(void) { return soak_spec; }

#define MAX_FDS 65536

typedef struct {
  const fsk_run_opts_t *o;
  int path;    /* index into fsk__path_names */
  int adapter; /* index into fsk__adapter_names */
  char name[GW_NAME_MAX];
  uint64_t outcomes;
  gw_outcome_t last_outcome;
  int last_err;
  uv_loop_t loop;
  gw_clock_t clock;
  gw_runner_t *runner;
  int runner_closed;
} scen_t;

typedef struct {
  char dir[256]; /* short: store paths must fit gw_platform_config_t */
  pid_t peer_pid;
  int peer_port;
  fsk_fd_t *fds;
  fsk_fd_t *before; /* the table as a scenario starts */
  size_t nbefore;
} soak_env_t;

static const gw_outcome_t path_outcome[FSK_PATHS] = {GW_OUTCOME_FATAL, GW_OUTCOME_RETRYABLE,
                                                     GW_OUTCOME_EXCEPTION};

static void scen_event(void *data, const gw_event_t *ev) {
  scen_t *s = data;
  if (ev->type == GW_EV_OUTCOME) {
    s->outcomes++;
    s->last_outcome = ev->outcome;
    s->last_err = ev->err;
  }
}

static void scen_log(void *data, gw_log_level_t level, const char *msg) {
  if (level >= GW_LOG_ERROR && getenv("FDSOAK_VERBOSE") != NULL)
    fprintf(stderr, "fdsoak: gateway: %s\n", msg);
  else if (getenv("FDSOAK_VERBOSE") != NULL)
    fprintf(stderr, "fdsoak: gateway[%d]: %s\n", (int)level, msg);
}

/* ------------------------------------------------------------------ */
/* The peer for platform/fatal                                        */
/* ------------------------------------------------------------------ */

/* The peer must not inherit the shim: it is the healthy side of the wire. */
static char **clean_env(void) {
  size_t n = 0, i, k = 0;
  char **env;

  while (environ[n] != NULL)
    n++;
  env = calloc(n + 1, sizeof(*env));
  if (env == NULL)
    return NULL;
  for (i = 0; i < n; i++) {
    if (strncmp(environ[i], "LD_PRELOAD=", 11) == 0 || strncmp(environ[i], "FDSOAK_", 7) == 0)
      continue;
    env[k++] = environ[i];
  }
  return env;
}

static int peer_start(soak_env_t *e, const char *platformd) {
  char portfile[300], buf[32];
  char *argv[] = {(char *)platformd, "--host", "127.0.0.1", "--port", "0", "--mode",
                  "reject", "--port-file", portfile, NULL};
  posix_spawn_file_actions_t fa;
  char **env;
  int rc, i;

  snprintf(portfile, sizeof(portfile), "%s/peer.port", e->dir);
  env = clean_env();
  if (env == NULL)
    return -ENOMEM;
  /* The peer's chatter would interleave with the table on stdout. */
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  rc = posix_spawn(&e->peer_pid, platformd, &fa, NULL, argv, env);
  posix_spawn_file_actions_destroy(&fa);
  free(env);
  if (rc != 0) {
    fprintf(stderr, "fdsoak: cannot start the peer %s: %s\n", platformd, strerror(rc));
    return -rc;
  }
  /* Bounded wait for the peer to publish its ephemeral port. */
  for (i = 0; i < 500; i++) {
    FILE *f = fopen(portfile, "r");
    if (f != NULL) {
      int ok = fgets(buf, sizeof(buf), f) != NULL;
      fclose(f);
      if (ok && (e->peer_port = atoi(buf)) > 0)
        return 0;
    }
    if (waitpid(e->peer_pid, NULL, WNOHANG) == e->peer_pid) {
      e->peer_pid = 0;
      break;
    }
    usleep(10000);
  }
  fprintf(stderr, "fdsoak: the peer %s did not report its port\n", platformd);
  return -ETIMEDOUT;
}

static void peer_stop(soak_env_t *e) {
  int i;

  if (e->peer_pid <= 0)
    return;
  kill(e->peer_pid, SIGTERM);
  for (i = 0; i < 200; i++) {
    if (waitpid(e->peer_pid, NULL, WNOHANG) == e->peer_pid) {
      e->peer_pid = 0;
      return;
    }
    usleep(10000);
  }
  kill(e->peer_pid, SIGKILL);
  waitpid(e->peer_pid, NULL, 0);
  e->peer_pid = 0;
}

/* ------------------------------------------------------------------ */
/* One scenario                                                       */
/* ------------------------------------------------------------------ */

static void scen_config(const soak_env_t *e, const scen_t *s, gw_platform_config_t *cfg) {
  memset(cfg, 0, sizeof(*cfg));
  snprintf(cfg->name, sizeof(cfg->name), "%s", s->name);
  snprintf(cfg->kind, sizeof(cfg->kind), "%s", fsk__adapter_names[s->adapter]);
  snprintf(cfg->host, sizeof(cfg->host), "127.0.0.1");
  snprintf(cfg->store_path, sizeof(cfg->store_path), "%s/%s.db", e->dir, s->name);
  snprintf(cfg->token, sizeof(cfg->token), "fdsoak-token");
  if (s->adapter == 0) {
    static const int ports[FSK_PATHS] = {PORT_API_FATAL, PORT_API_RETRYABLE,
                                         PORT_API_EXCEPTION};
    cfg->port = ports[s->path];
  } else {
    cfg->port = s->path == 0 ? e->peer_port
                             : (s->path == 1 ? PORT_PLAT_RETRYABLE : PORT_PLAT_EXCEPTION);
  }
}

static gw_platform_status_t scen_status(scen_t *s) {
  gw_platform_status_t st;
  memset(&st, 0, sizeof(st));
  gw_runner_status(s->runner, s->name, &st);
  return st;
}

/*
 * One reconnect cycle: bring the next attempt due (jump to the retry
 * deadline; for the fatal path, which leaves the queue, an operator retry),
 * run its I/O to the outcome and the adapter's disposal, and stop at the
 * quiescent point.  Returns 0, or -ETIMEDOUT when no outcome came.
 */
static int scen_cycle(scen_t *s) {
  uint64_t want = s->outcomes + 1;
  int steps;

  for (steps = 0; s->outcomes < want && steps < 16; steps++) {
    gw_platform_status_t st = scen_status(s);
    if (st.in_flight)
      gw_clock_settle(&s->clock, s->o->hang_ms); /* see below */
    st = scen_status(s);
    if (!st.queued && !st.in_flight)
      gw_runner_retry(s->runner, s->name);
    else
      gw_clock_jump(&s->clock); /* the retry deadline, or a hang's timeout */
    gw_clock_settle(&s->clock, s->o->quiet_ms);
    /* Still connecting after a quiet spell: a slow peer on a busy machine
     * or a real hang.  Give real I/O a longer, bounded chance before virtual
     * time declares a connect timeout, so a loaded CI box cannot turn the
     * fatal path into the exception path. */
    if (s->outcomes < want && scen_status(s).in_flight)
      gw_clock_settle(&s->clock, s->o->hang_ms);
  }
  /* The disposal may still be closing handles: finish it before sampling. */
  gw_clock_settle(&s->clock, s->o->quiet_ms);
  return s->outcomes >= want ? 0 : -ETIMEDOUT;
}

/*
 * Counts leave out fds 0-2: what stdin, stdout and stderr are (a terminal, a
 * pipe, /dev/null) depends on who started fdsoak, and a baseline compared
 * across machines must not.  Everything else the worker holds is its own.
 */
static int stdio_open(const fsk_fd_t *fds, size_t n) {
  size_t i;
  int k = 0;
  for (i = 0; i < n && fds[i].fd <= 2; i++)
    k++;
  return k;
}

static void count_classes(const fsk_fd_t *fds, size_t n, int *cls) {
  size_t i;
  memset(cls, 0, sizeof(int) * FSK_FD_CLASS_COUNT);
  for (i = 0; i < n; i++) {
    if (fds[i].fd > 2)
      cls[fds[i].cls]++;
  }
}

static const char *step_of(const fsk_fd_t *f) {
  size_t n = strlen(f->target);
  if (f->cls == FSK_FD_FILE && n > 4 && strcmp(f->target + n - 4, "-wal") == 0)
    return "adapter open: SQLite store, write-ahead log";
  if (f->cls == FSK_FD_FILE && n > 4 && strcmp(f->target + n - 4, "-shm") == 0)
    return "adapter open: SQLite store, shared-memory index";
  if (f->cls == FSK_FD_FILE && n > 3 && strcmp(f->target + n - 3, ".db") == 0)
    return "adapter open: SQLite store, database file";
  if (f->cls == FSK_FD_SOCKET)
    return "adapter connect: socket";
  return "unknown step";
}

static void scen_close_cb(gw_runner_t *r) {
  scen_t *s = gw_runner_data(r);
  s->runner_closed = 1;
}

static void close_walk_cb(uv_handle_t *h, void *arg) {
  if (!uv_is_closing(h))
    uv_close(h, NULL);
}

/* Tear the scenario down.  Under the regress core the leaked adapters still
 * own handles on this loop; they are closed here so the next scenario starts
 * from a clean loop, but their fds (the point of the exercise) stay open. */
static void scen_teardown(scen_t *s) {
  int i;

  gw_runner_close(s->runner, scen_close_cb);
  for (i = 0; i < 100000 && !s->runner_closed; i++) {
    if (uv_run(&s->loop, UV_RUN_ONCE) == 0 && !s->runner_closed)
      gw_clock_jump(&s->clock);
  }
  gw_clock_close(&s->clock, NULL);
  uv_walk(&s->loop, close_walk_cb, NULL);
  uv_run(&s->loop, UV_RUN_DEFAULT);
  if (uv_loop_close(&s->loop) != 0)
    fprintf(stderr, "fdsoak: warning: scenario %s left its loop busy\n", s->name);
}

/*
 * Isolation between scenarios: whatever a scenario left open (the regress
 * core's leaked stores and sockets, by design) is closed once its samples
 * are taken, so the next scenario starts from the same table.  Only fds
 * that were not open before the scenario are touched, and nothing uses
 * them again: their owners were abandoned by the leak itself.
 */
static void close_leftovers(const fsk_fd_t *before, size_t nbefore, fsk_fd_t *now) {
  size_t n = 0, i, j;

  if (fsk_fd_snapshot(0, now, MAX_FDS, &n) != 0)
    return;
  for (i = 0; i < n; i++) {
    int kept = 0;
    for (j = 0; j < nbefore && !kept; j++)
      kept = before[j].fd == now[i].fd && before[j].ino == now[i].ino;
    if (!kept)
      close(now[i].fd);
  }
}

static int run_scenario(const fsk_run_opts_t *o, soak_env_t *e, int path, int adapter,
                        fsk_scenario_t *out) {
  gw_runner_options_t ropts;
  gw_platform_config_t cfg;
  fsk_tracker_t *tracker = NULL;
  scen_t s;
  char err[256], label[64];
  int cls[FSK_FD_CLASS_COUNT];
  long total = o->warmup + o->cycles, c;
  int last_count = -1, count, nstdio = 0, rc;
  size_t nfds = 0, nleak, i;
  uint64_t t0 = uv_hrtime();

  if ((rc = fsk_fd_snapshot(0, e->before, MAX_FDS, &e->nbefore)) != 0)
    return rc;
  memset(&s, 0, sizeof(s));
  s.o = o;
  s.path = path;
  s.adapter = adapter;
  snprintf(s.name, sizeof(s.name), "%s-%s", fsk__adapter_names[adapter], fsk__path_names[path]);
  snprintf(label, sizeof(label), "%s/%s", fsk__path_names[path], fsk__adapter_names[adapter]);
  fsk_scenario_init(out, fsk__path_names[path], fsk__adapter_names[adapter], o->warmup);
  memset(cls, 0, sizeof(cls));

  if ((rc = uv_loop_init(&s.loop)) != 0 ||
      (rc = gw_clock_init(&s.loop, &s.clock, GW_CLOCK_VIRTUAL)) != 0) {
    fprintf(stderr, "fdsoak: %s: loop: %s\n", label, uv_strerror(rc));
    return rc;
  }
  memset(&ropts, 0, sizeof(ropts));
  ropts.event = scen_event;
  ropts.log = scen_log;
  ropts.data = &s;
  if ((rc = gw_runner_init(&s.loop, &s.clock, &ropts, &s.runner)) != 0) {
    fprintf(stderr, "fdsoak: %s: runner: %s\n", label, uv_strerror(rc));
    return rc;
  }
  gw_runner_register_kind(s.runner, &gw_api_adapter_vtable);
  gw_runner_register_kind(s.runner, &gw_platform_adapter_vtable);
  scen_config(e, &s, &cfg);
  if ((rc = gw_runner_add_platform(s.runner, &cfg, err, sizeof(err))) != 0) {
    fprintf(stderr, "fdsoak: %s: %s\n", label, err);
    goto out;
  }
  if ((rc = fsk_tracker_new(&tracker)) != 0)
    goto out;

  /* The first connect is the startup path, not a reconnect: it runs before
   * cycle 0 and is not sampled. */
  gw_runner_start(s.runner);
  gw_clock_settle(&s.clock, o->quiet_ms);
  if (scen_status(&s).in_flight)
    gw_clock_settle(&s.clock, o->hang_ms);

  for (c = 0; c < total; c++) {
    if ((rc = scen_cycle(&s)) != 0) {
      fprintf(stderr, "fdsoak: %s: cycle %ld: the attempt never finished\n", label, c);
      rc = -EIO;
      goto out;
    }
    if (s.last_outcome != path_outcome[path]) {
      fprintf(stderr,
              "fdsoak: %s: cycle %ld ended on the %s path, not %s (%s): the fault was not "
              "injected as planned -- is the shim preloaded?\n",
              label, c, gw_outcome_name(s.last_outcome), fsk__path_names[path],
              s.last_err != 0 ? uv_strerror(s.last_err) : "no error");
      rc = -EPROTO;
      goto out;
    }
    /* The quiescent point: sample. */
    count = fsk_fd_count(0);
    if (count != last_count || c == o->warmup - 1 || c == total - 1 || c == 0) {
      rc = fsk_fd_snapshot(0, e->fds, MAX_FDS, &nfds);
      if (rc != 0)
        goto out;
      count_classes(e->fds, nfds, cls);
      nstdio = stdio_open(e->fds, nfds);
      if (c == (o->warmup > 0 ? o->warmup - 1 : 0))
        fsk_tracker_baseline(tracker, e->fds, nfds, c);
      else if (c >= o->warmup)
        fsk_tracker_feed(tracker, e->fds, nfds, c);
      last_count = count;
    }
    if ((rc = fsk_scenario_push(out, count - nstdio, cls)) != 0)
      goto out;
    if ((c & 15) == 0 || c == total - 1)
      fsk__progress(o, label, c + 1, total);
  }
  out->cycles = o->cycles;

  /* Every fd opened after warm-up and still open: a leak, with its origin. */
  nleak = fsk_tracker_survivors(tracker, NULL, 0);
  if (nleak > 0) {
    out->leaked = calloc(nleak, sizeof(*out->leaked));
    if (out->leaked == NULL) {
      rc = -ENOMEM;
      goto out;
    }
    out->nleaked = fsk_tracker_survivors(tracker, out->leaked, nleak);
    for (i = 0; i < out->nleaked; i++) {
      fsk_leak_t *l = &out->leaked[i];
      fsk_fd_t f;

      memset(&f, 0, sizeof(f));
      f.cls = l->cls;
      memcpy(f.target, l->target, sizeof(f.target));
      snprintf(l->origin, sizeof(l->origin), "scenario %s, %s", label, step_of(&f));
      fsk__origin_from_shim(o->stats_path, l->fd, l->origin, sizeof(l->origin));
    }
  }
  out->verdict = fsk_verdict_strict(out->counts, out->nsamples, (size_t)o->warmup, out->nleaked,
                                    &out->stats);
  rc = 0;

out:
  out->seconds = (double)(uv_hrtime() - t0) / 1e9;
  fsk_tracker_free(tracker);
  scen_teardown(&s);
  close_leftovers(e->before, e->nbefore, e->fds);
  return rc;
}

/* ------------------------------------------------------------------ */

void fsk__run_free(fsk_run_t *run) {
  size_t i;
  for (i = 0; i < run->nscen; i++)
    fsk_scenario_free(&run->scen[i]);
  free(run->scen);
  run->scen = NULL;
  run->nscen = 0;
}

static void rm_tree(const char *dir) {
  char cmd[PATH_MAX + 16];
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
  if (system(cmd) != 0)
    fprintf(stderr, "fdsoak: warning: could not remove %s\n", dir);
}

int fsk__soak_run(const fsk_run_opts_t *o, fsk_run_t *run) {
  soak_env_t e;
  struct rlimit rl;
  int p, a, rc = 0;
  size_t want = 0;

  memset(&e, 0, sizeof(e));
  snprintf(e.dir, sizeof(e.dir), "%s/fdsoak-stores-XXXXXX",
           getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
  if (mkdtemp(e.dir) == NULL) {
    fprintf(stderr, "fdsoak: cannot create a store directory: %s\n", strerror(errno));
    return -errno;
  }
  e.fds = calloc(MAX_FDS, sizeof(*e.fds));
  e.before = calloc(MAX_FDS, sizeof(*e.before));
  if (e.fds == NULL || e.before == NULL) {
    rc = -ENOMEM;
    goto out;
  }
  for (p = 0; p < FSK_PATHS; p++)
    for (a = 0; a < FSK_ADAPTERS; a++)
      want += (o->path_mask >> p & 1) && (o->adapter_mask >> a & 1);
  run->scen = calloc(want, sizeof(*run->scen));
  if (run->scen == NULL) {
    rc = -ENOMEM;
    goto out;
  }
  if ((o->path_mask & 1) && (o->adapter_mask & 2)) {
    if ((rc = peer_start(&e, o->platformd)) != 0)
      goto out;
  }
  {
    /* libuv opens a process-wide signal pipe at its first loop and keeps it:
     * open it now, so it belongs to the table every scenario starts from
     * (and close_leftovers never takes it for a scenario's leftover). */
    uv_loop_t warm;
    if (uv_loop_init(&warm) == 0)
      uv_loop_close(&warm);
  }
  getrlimit(RLIMIT_NOFILE, &rl);
  run->rlimit_nofile = rl.rlim_cur == RLIM_INFINITY ? 1 << 20 : (int)rl.rlim_cur;
  run->cycle_period_s = o->cycle_period_s;

  for (a = 0; a < FSK_ADAPTERS; a++) {
    for (p = 0; p < FSK_PATHS; p++) {
      if (!(o->path_mask >> p & 1) || !(o->adapter_mask >> a & 1))
        continue;
      rc = run_scenario(o, &e, p, a, &run->scen[run->nscen]);
      run->nscen++;
      if (rc != 0)
        goto out;
    }
  }
  fsk_run_finish(run);

out:
  peer_stop(&e);
  free(e.fds);
  free(e.before);
  rm_tree(e.dir);
  return rc;
}

/* ------------------------------------------------------------------ */
/* Origins from the shim's fd records                                  */
/* ------------------------------------------------------------------ */

void fsk__origin_from_shim(const char *stats_path, int fd, char *buf, size_t len) {
  inj_stats_view_t v;
  inj_fd_record_t rec;
  size_t used = strlen(buf);
  unsigned i;

  if (stats_path == NULL || inj_stats_open(stats_path, &v) != 0)
    return;
  if (inj_stats_fd_record(&v, fd, &rec) == 0 && rec.nframes > 0) {
    used += snprintf(buf + used, used < len ? len - used : 0, "; opened by %s() at",
                     inj_op_name(rec.op));
    /* In-process, the frames are our own addresses: name them with dladdr.
     * The binary is linked with -rdynamic so its own functions have names. */
    for (i = 0; i < rec.nframes && i < INJ_BT_FRAMES && used < len; i++) {
      Dl_info info;
      const char *name = NULL, *file = NULL;
      uintptr_t addr = (uintptr_t)rec.frames[i];
      if (dladdr((void *)addr, &info) != 0) {
        name = info.dli_sname;
        file = info.dli_fname;
      }
      if (file != NULL && strstr(file, "libfdsoak-inject") != NULL)
        continue; /* the shim's own frames say nothing about the target */
      if (name != NULL) {
        used += snprintf(buf + used, len - used, " %s", name);
      } else if (file != NULL) {
        /* A static function: the object and offset still find it
         * (addr2line -e OBJECT OFFSET). */
        const char *base = strrchr(file, '/');
        used += snprintf(buf + used, len - used, " %s+0x%lx", base != NULL ? base + 1 : file,
                         (unsigned long)(addr - (uintptr_t)info.dli_fbase));
      } else {
        used += snprintf(buf + used, len - used, " 0x%lx", (unsigned long)addr);
      }
      if (i + 1 < rec.nframes && used < len)
        used += snprintf(buf + used, len - used, " <-");
    }
  }
  inj_stats_close(&v);
}
