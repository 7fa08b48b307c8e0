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
#include "proc.h"
#include "sampler.h"

#include <dlfcn.h>
#include <errno.h>
#include <math.h>
#include <fcntl.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
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
 * Every scenario is a real fault.  Ports and paths named in the spec are
 * private to their scenario, so one spec, set once for the whole run, serves
 * them all; nothing ever listens on or binds to those ports (the shim fails
 * the call first; a faithful refusal goes to a closed loopback port).
 *
 * The soak's six scenarios (docs/architecture.md, "The three failure paths"):
 *   fatal/api           bind fails EADDRNOTAVAIL: a configuration error
 *   retryable/api       bind fails EADDRINUSE: the port is taken
 *   exception/api       bind fails ENOBUFS: neither retryable nor configuration,
 *                       so the attempt aborts with the store already open
 *   fatal/platform      the peer (fdsoak-platformd --mode reject) refuses the token
 *   retryable/platform  connect refused, asynchronously, as a real network does
 *   exception/platform  connect fails ENETUNREACH synchronously: libuv returns it
 *
 * The fault matrix (--matrix) adds every other fault the shim or the peer
 * can produce, on each adapter it applies to (a bind has no DNS, a listener
 * no token): see matrix[] below.
 */
static const char soak_spec[] =
  /* the soak */
  "bind:addr=127.0.0.1,port=47101:do=errno(EADDRNOTAVAIL);"
  "bind:addr=127.0.0.1,port=47102:do=errno(EADDRINUSE);"
  "bind:addr=127.0.0.1,port=47103:do=errno(ENOBUFS);"
  "connect:addr=127.0.0.1,port=47111:do=refuse;"
  "connect:addr=127.0.0.1,port=47112:do=errno(ENETUNREACH);"
  /* the matrix */
  "connect:addr=127.0.0.1,port=47121:do=refuse;"
  "connect:addr=127.0.0.1,port=47122:do=errno(ENETUNREACH);"
  "connect:addr=127.0.0.1,port=47123:do=async(ETIMEDOUT);"
  "connect:addr=127.0.0.1,port=47124:do=hang;"
  "getaddrinfo:host=*.fdsoak.invalid:do=eai(EAI_AGAIN);"
  /* Only the emfile scenarios make IPv6 stream sockets in this process. */
  "socket:family=inet6,type=stream:do=errno(EMFILE);"
  "open:path=*/matrix-dbfail-*.db:do=errno(EACCES);"
  "open:path=*/matrix-walfail-*.db-wal:do=errno(EMFILE)";

const char *fsk__soak_spec(void) { return soak_spec; }

/* Where a scenario's peer port comes from. */
enum { PORT_FIXED = 0, PORT_PEER_REJECT, PORT_PEER_RESET, PORT_REAL_BUSY };

typedef struct {
  const char *fault; /* NULL for the soak's own six */
  int adapter;       /* 0 api, 1 platform */
  int path;          /* the failure path it must take */
  const char *host;
  int port_kind;
  int port;
  unsigned hang_ms; /* real quiet time before jumping a silent connect */
} scen_def_t;

#define API 0
#define PLAT 1
#define FATAL 0
#define RETRY 1
#define EXC 2

static const scen_def_t soak_defs[] = {
  {NULL, API, FATAL, "127.0.0.1", PORT_FIXED, 47101, 0},
  {NULL, API, RETRY, "127.0.0.1", PORT_FIXED, 47102, 0},
  {NULL, API, EXC, "127.0.0.1", PORT_FIXED, 47103, 0},
  {NULL, PLAT, FATAL, "127.0.0.1", PORT_PEER_REJECT, 0, 0},
  {NULL, PLAT, RETRY, "127.0.0.1", PORT_FIXED, 47111, 0},
  {NULL, PLAT, EXC, "127.0.0.1", PORT_FIXED, 47112, 0},
};

static const scen_def_t matrix_defs[] = {
  {"refused", PLAT, RETRY, "127.0.0.1", PORT_FIXED, 47121, 0},
  {"unreachable", PLAT, EXC, "127.0.0.1", PORT_FIXED, 47122, 0},
  /* A real SYN-SENT socket (the kernel would give ETIMEDOUT after its SYN
     * retries), and hang: the connect stays in progress; after 5 ms of real
     * silence the virtual clock jumps to the runner's 30 s connect timeout,
     * which fires first, as it does against a real blackhole. */
  {"timedout", PLAT, EXC, "127.0.0.1", PORT_FIXED, 47123, 5},
  {"hang", PLAT, EXC, "127.0.0.1", PORT_FIXED, 47124, 5},
  {"reset", PLAT, RETRY, "127.0.0.1", PORT_PEER_RESET, 0, 0},
  {"dns", PLAT, EXC, "peer.fdsoak.invalid", PORT_FIXED, 47125, 0},
  {"emfile", PLAT, EXC, "::1", PORT_FIXED, 47126, 0},
  {"dbfail", PLAT, EXC, "127.0.0.1", PORT_FIXED, 47127, 0},
  {"walfail", PLAT, EXC, "127.0.0.1", PORT_FIXED, 47128, 0},
  {"token", PLAT, FATAL, "127.0.0.1", PORT_PEER_REJECT, 0, 0},
  {"emfile", API, EXC, "::1", PORT_FIXED, 0, 0},
  {"dbfail", API, EXC, "127.0.0.1", PORT_FIXED, 0, 0},
  {"walfail", API, EXC, "127.0.0.1", PORT_FIXED, 0, 0},
  {"inuse", API, RETRY, "127.0.0.1", PORT_REAL_BUSY, 0, 0},
  {"badaddr", API, FATAL, "192.0.2.1", PORT_FIXED, 0, 0}, /* TEST-NET-1: never bound */
};

#define MAX_FDS 65536

typedef struct {
  const fsk__run_opts_t *o;
  const scen_def_t *def;
  int path;    /* index into fsk__path_names */
  int adapter; /* index into fsk__adapter_names */
  unsigned hang_ms;
  unsigned quiet_ms;
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
  char dir[256];                     /* short: store paths must fit gw_platform_config_t */
  fsk__peer_t peers[PORT_REAL_BUSY]; /* by port kind: reject, reset */
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

/* Only with FDSOAK_VERBOSE: scen_open sets the runner's level to off
 * otherwise, so no line is formatted at all (the gateway logs about four a
 * cycle, a few percent of a cycle's instructions). */
static void scen_log(void *data, gw_log_level_t level, const char *msg) {
  if (level >= GW_LOG_ERROR)
    fprintf(stderr, "fdsoak: gateway: %s\n", msg);
  else
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

int fsk__peer_start(const char *platformd, const char *mode, const char *portfile,
                    fsk__peer_t *peer) {
  char *argv[] = {(char *)platformd, "--host",     "127.0.0.1",   "--port",         "0",
                  "--mode",          (char *)mode, "--port-file", (char *)portfile, NULL};
  posix_spawn_file_actions_t fa;
  char buf[32];
  char **env;
  int rc, i;

  peer->pid = 0;
  peer->port = 0;
  env = clean_env();
  if (env == NULL)
    return -ENOMEM;
  /* The peer's chatter would interleave with the table on stdout. */
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  rc = posix_spawn(&peer->pid, platformd, &fa, NULL, argv, env);
  posix_spawn_file_actions_destroy(&fa);
  free(env);
  if (rc != 0) {
    peer->pid = 0;
    fprintf(stderr, "fdsoak: cannot start the peer %s: %s\n", platformd, strerror(rc));
    return -rc;
  }
  /* Bounded wait (5 s) for the peer to publish its ephemeral port.  Polled
   * every millisecond: the peer is up in a few, and this wait is part of
   * the scenario's measured time, where a 10 ms step cost up to 10 ms a run
   * of pure sleep. */
  for (i = 0; i < 5000; i++) {
    FILE *f = fopen(portfile, "r");
    if (f != NULL) {
      int ok = fgets(buf, sizeof(buf), f) != NULL;
      fclose(f);
      if (ok && (peer->port = (int)strtol(buf, NULL, 10)) > 0)
        return 0;
    }
    if (waitpid(peer->pid, NULL, WNOHANG) == peer->pid) {
      peer->pid = 0;
      break;
    }
    usleep(1000);
  }
  fprintf(stderr, "fdsoak: the peer %s did not report its port\n", platformd);
  fsk__peer_stop(peer);
  return -ETIMEDOUT;
}

void fsk__peer_stop(fsk__peer_t *peer) {
  int i;

  if (peer->pid <= 0)
    return;
  kill(peer->pid, SIGTERM);
  for (i = 0; i < 200; i++) {
    if (waitpid(peer->pid, NULL, WNOHANG) == peer->pid) {
      peer->pid = 0;
      return;
    }
    usleep(10000);
  }
  kill(peer->pid, SIGKILL);
  waitpid(peer->pid, NULL, 0);
  peer->pid = 0;
}

/* Start the peer for a port kind (reject or reset mode), once per run. */
static int peer_start(soak_env_t *e, int kind, const char *platformd) {
  char portfile[300];

  if (e->peers[kind].pid > 0)
    return 0;
  snprintf(portfile, sizeof(portfile), "%s/peer-%d.port", e->dir, kind);
  return fsk__peer_start(platformd, kind == PORT_PEER_RESET ? "reset" : "reject", portfile,
                         &e->peers[kind]);
}

/* ------------------------------------------------------------------ */
/* One scenario                                                       */
/* ------------------------------------------------------------------ */

static void scen_config(const soak_env_t *e, const scen_t *s, int busy_port,
                        gw_platform_config_t *cfg) {
  const scen_def_t *d = s->def;

  memset(cfg, 0, sizeof(*cfg));
  snprintf(cfg->name, sizeof(cfg->name), "%s", s->name);
  snprintf(cfg->kind, sizeof(cfg->kind), "%s", fsk__adapter_names[s->adapter]);
  snprintf(cfg->host, sizeof(cfg->host), "%s", d->host);
  /* The store's file name carries the scenario, so open rules can aim at it. */
  snprintf(cfg->store_path, sizeof(cfg->store_path), "%s/%s%s.db", e->dir,
           d->fault != NULL ? "matrix-" : "", s->name);
  snprintf(cfg->token, sizeof(cfg->token), "fdsoak-token");
  switch (d->port_kind) {
  case PORT_PEER_REJECT:
  case PORT_PEER_RESET:
    cfg->port = e->peers[d->port_kind].port;
    break;
  case PORT_REAL_BUSY:
    cfg->port = busy_port;
    break;
  default:
    cfg->port = d->port;
    break;
  }
}

/* A port really in use: a listener of our own on loopback, for the matrix's
 * "port in use" (the soak's retryable/api uses the shim's EADDRINUSE). */
static int busy_listener(int *port) {
  struct sockaddr_in sa;
  socklen_t len = sizeof(sa);
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

  if (fd < 0)
    return -errno;
  memset(&sa, 0, sizeof(sa));
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 1) != 0 ||
      getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
    int e = -errno;
    close(fd);
    return e;
  }
  *port = ntohs(sa.sin_port);
  return fd;
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
      gw_clock_settle(&s->clock, s->hang_ms); /* see below */
    st = scen_status(s);
    if (!st.queued && !st.in_flight)
      gw_runner_retry(s->runner, s->name);
    else
      gw_clock_jump(&s->clock); /* the retry deadline, or a hang's timeout */
    gw_clock_settle(&s->clock, s->quiet_ms);
    /* Still connecting after a quiet spell: a slow peer on a busy machine
     * or a real hang.  Give real I/O a longer, bounded chance before virtual
     * time declares a connect timeout, so a loaded CI box cannot turn the
     * fatal path into the exception path. */
    if (s->outcomes < want && scen_status(s).in_flight)
      gw_clock_settle(&s->clock, s->hang_ms);
  }
  /* The disposal may still be closing handles: finish it before sampling. */
  gw_clock_settle(&s->clock, s->quiet_ms);
  return s->outcomes >= want ? 0 : -ETIMEDOUT;
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

/* AddressSanitizer keeps freed memory in quarantine (up to 256 MiB): under
 * it resident growth says nothing about leaks, and LeakSanitizer checks
 * memory instead. */
#if defined(__SANITIZE_ADDRESS__)
#define FSK_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FSK_UNDER_ASAN 1
#endif
#endif
#ifndef FSK_UNDER_ASAN
#define FSK_UNDER_ASAN 0
#endif

/* Memory at the end of warm-up, KiB (-1: not measured), and the bytes of
 * the scenario's own per-cycle record then. */
typedef struct {
  long rss, heap;
  size_t record;
} scen_mem_t;

/* The heap the harness itself holds for the scenario's samples: one count
 * and one row of class counts a cycle (48 bytes), grown by doubling.  It
 * grows with the cycles of any run, flat or not, so it is taken out of the
 * heap's growth and the resident growth: a flat soak of 30,000 cycles
 * holds 1.4 MiB more at its end than at its warm-up's, over the bound. */
static size_t scen_record_bytes(const fsk_scenario_t *out) {
  return out->cap * (sizeof *out->counts + sizeof *out->class_counts +
                     (out->xs != NULL ? sizeof *out->xs : 0));
}

/* Heap in use by this process, KiB: the bytes malloc has handed out and
 * not had back, in every arena and in mmapped chunks (mallinfo2).  This is
 * what a dropped adapter takes with it, whether or not its pages were
 * ever touched: resident size counts only touched pages, so a leaked block
 * that was never written (malloc, not calloc, of a 64 KiB read buffer)
 * grew it by nothing.  -1 where there is no mallinfo2 (not glibc, or
 * older than 2.33); resident size is then the only judge. */
static long heap_kib(void) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
  struct mallinfo2 mi = mallinfo2();

  return (long)((mi.uordblks + mi.hblkhd) / 1024);
#else
  return -1;
#endif
}

/* Resident set size of this process, KiB. */
static long rss_kib(void) {
  long pages = 0, rss = 0;
  FILE *f = fopen("/proc/self/statm", "r");

  if (f == NULL)
    return -1;
  if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
    rss = -1;
  fclose(f);
  return rss < 0 ? -1 : rss * (sysconf(_SC_PAGESIZE) / 1024);
}

/* The scenario's settings and names: s->name for its log, "path[:fault]"
 * for the results, and "path/adapter" as label for messages. */
static void scen_init(const fsk__run_opts_t *o, const scen_def_t *def, scen_t *s, char *pathname,
                      size_t pathlen, char *label, size_t labellen) {
  int path = def->path, adapter = def->adapter;

  memset(s, 0, sizeof(*s));
  s->o = o;
  s->def = def;
  s->path = path;
  s->adapter = adapter;
  s->hang_ms = def->hang_ms != 0 ? def->hang_ms : o->hang_ms;
  /* A scenario that hangs on purpose has nothing to wait for: its quiet
   * period is no longer than its hang allowance. */
  s->quiet_ms = def->hang_ms != 0 && def->hang_ms < o->quiet_ms ? def->hang_ms : o->quiet_ms;
  if (def->fault != NULL) {
    snprintf(s->name, sizeof(s->name), "%s-%s", def->fault, fsk__adapter_names[adapter]);
    snprintf(pathname, pathlen, "%s:%s", fsk__path_names[path], def->fault);
  } else {
    snprintf(s->name, sizeof(s->name), "%s-%s", fsk__adapter_names[adapter], fsk__path_names[path]);
    snprintf(pathname, pathlen, "%s", fsk__path_names[path]);
  }
  snprintf(label, labellen, "%s/%s", pathname, fsk__adapter_names[adapter]);
}

/* The loop, the virtual clock and the runner with the scenario's one
 * platform.  On failure s->runner is NULL when nothing is left to tear
 * down; otherwise the caller tears the scenario down. */
static int scen_open(const soak_env_t *e, scen_t *s, int busy_port, const char *label) {
  gw_runner_options_t ropts;
  gw_platform_config_t cfg;
  char err[256];
  int rc;

  if ((rc = uv_loop_init(&s->loop)) != 0)
    return rc;
  if ((rc = gw_clock_init(&s->loop, &s->clock, GW_CLOCK_VIRTUAL)) != 0) {
    uv_loop_close(&s->loop);
    return rc;
  }
  memset(&ropts, 0, sizeof(ropts));
  ropts.event = scen_event;
  ropts.log = scen_log;
  ropts.log_level = getenv("FDSOAK_VERBOSE") != NULL ? GW_LOG_DEBUG : GW_LOG_OFF;
  ropts.data = s;
  if ((rc = gw_runner_init(&s->loop, &s->clock, &ropts, &s->runner)) != 0) {
    gw_clock_close(&s->clock, NULL);
    uv_run(&s->loop, UV_RUN_DEFAULT);
    uv_loop_close(&s->loop);
    s->runner = NULL;
    return rc;
  }
  gw_runner_register_kind(s->runner, &gw_api_adapter_vtable);
  gw_runner_register_kind(s->runner, &gw_platform_adapter_vtable);
  scen_config(e, s, busy_port, &cfg);
  if ((rc = gw_runner_add_platform(s->runner, &cfg, err, sizeof(err))) != 0)
    fprintf(stderr, "fdsoak: %s: %s\n", label, err);
  return rc;
}

/* The quiescent point of cycle c: count every cycle, and snapshot the
 * table (baseline at the end of warm-up, a feed after it) when the count
 * moved, at the warm-up's end, and at the first and last cycle. */
static int scen_sample(const fsk__run_opts_t *o, fsk__sampler_t *smp, fsk_scenario_t *out, long c,
                       long total, int *last_count) {
  int count = fsk__sampler_count(smp), rc = 0;

  if (count != *last_count || c == o->warmup - 1 || c == total - 1 || c == 0) {
    if ((rc = fsk__sampler_snapshot(smp)) != 0)
      return rc;
    count = fsk__sampler_count(smp); /* with this snapshot's fds 0-2 */
    if (c == (o->warmup > 0 ? o->warmup - 1 : 0))
      rc = fsk__sampler_baseline(smp, (double)c);
    else if (c >= o->warmup)
      rc = fsk__sampler_feed(smp, (double)c);
    if (rc != 0)
      return rc;
    *last_count = count;
  }
  return fsk_scenario_push(out, count, smp->cls);
}

/* Warm-up and cycles, each checked to have taken the scenario's path and
 * then sampled; out->cycles is what was run after warm-up. */
static int scen_cycles(const fsk__run_opts_t *o, scen_t *s, fsk__sampler_t *smp,
                       fsk_scenario_t *out, const char *label, scen_mem_t *mem_warm) {
  long total = o->warmup + o->cycles, c;
  int last_count = -1, rc;

  for (c = 0; c < total; c++) {
    /* SIGINT/SIGTERM: stop at a cycle boundary and judge what was
     * gathered; the caller marks the run interrupted. */
    if (fsk__signal_caught())
      break;
    if (scen_cycle(s) != 0) {
      fprintf(stderr, "fdsoak: %s: cycle %ld: the attempt never finished\n", label, c);
      return -EIO;
    }
    if (s->last_outcome != path_outcome[s->path]) {
      fprintf(stderr,
              "fdsoak: %s: cycle %ld ended on the %s path, not %s (%s): the fault was not "
              "injected as planned -- is the shim preloaded?\n",
              label, c, gw_outcome_name(s->last_outcome), fsk__path_names[s->path],
              s->last_err != 0 ? uv_strerror(s->last_err) : "no error");
      return -EPROTO;
    }
    if ((rc = scen_sample(o, smp, out, c, total, &last_count)) != 0)
      return rc;
    if (c == (o->warmup > 0 ? o->warmup - 1 : 0)) {
      mem_warm->rss = rss_kib();
      mem_warm->heap = heap_kib();
      mem_warm->record = scen_record_bytes(out);
    }
    if ((c & 15) == 0 || c == total - 1)
      fsk__progress(o, label, c + 1, total);
  }
  out->cycles = c > o->warmup ? c - o->warmup : 0;
  return 0;
}

/* Every fd opened after warm-up and still open: a leak, with its origin. */
static int scen_leaks(const fsk__run_opts_t *o, fsk__sampler_t *smp, fsk_scenario_t *out,
                      const char *label) {
  fsk_leak_t *surv = NULL;
  size_t nleak = fsk__sampler_survivors(smp, INFINITY, &surv), i;
  int rc = 0;

  if (nleak > 0 && (rc = fsk_scenario_set_leaked(out, surv, nleak)) == 0) {
    for (i = 0; i < out->nleaked; i++) {
      fsk_leak_t *l = &out->leaked[i];
      fsk_fd_t f;

      memset(&f, 0, sizeof(f));
      f.cls = l->cls;
      memcpy(f.target, l->target, sizeof(f.target));
      snprintf(l->origin, sizeof(l->origin), "scenario %s, %s", label, step_of(&f));
      fsk__origin_from_shim(o->stats_path, 0, 0, l->fd, NULL, l->origin, sizeof(l->origin));
    }
  }
  free(surv);
  return rc;
}

/* The judging path `watch` uses too, with the strict rule (the gateway
 * core in-process is deterministic), and memory, the other thing a
 * dropped adapter takes with it: heap in use growing after warm-up beyond
 * the bound fails the scenario, and so does resident growth (memory that
 * is not malloc's: a mapping, a leaked thread's stack). */
static void scen_judge(const fsk__run_opts_t *o, fsk_scenario_t *out, const scen_mem_t *warm) {
  long record_kib = (long)((scen_record_bytes(out) - warm->record) / 1024);

  fsk_scenario_judge(out, 1);
  if (o->under_valgrind || FSK_UNDER_ASAN)
    return;
  if (warm->heap >= 0) {
    long now = heap_kib();

    if (now >= 0) {
      out->heap_growth_kib = now - warm->heap - record_kib;
      out->has_heap = 1;
    }
  }
  /* The record is written every cycle, so resident too: without it taken
   * out, a flat soak of 30,000 cycles read 1.4-1.7 MiB of resident growth
   * and failed. */
  if (warm->rss > 0) {
    out->rss_growth_kib = rss_kib() - warm->rss - record_kib;
    out->has_rss = 1;
  }
  if (out->verdict != FSK_VERDICT_FLAT)
    return;
  if (out->has_heap && out->heap_growth_kib > FSK_HEAP_GROWTH_MAX_KIB) {
    out->verdict = FSK_VERDICT_LEAK;
    snprintf(out->stats.why, sizeof(out->stats.why),
             "heap in use grew %ld KiB after warm-up (bound: %d KiB) while the fd count stayed "
             "flat",
             out->heap_growth_kib, FSK_HEAP_GROWTH_MAX_KIB);
  } else if (out->has_rss && out->rss_growth_kib > FSK_RSS_GROWTH_MAX_KIB) {
    out->verdict = FSK_VERDICT_LEAK;
    snprintf(out->stats.why, sizeof(out->stats.why),
             "resident memory grew %ld KiB after warm-up (bound: %d KiB) while the fd count "
             "stayed flat",
             out->rss_growth_kib, FSK_RSS_GROWTH_MAX_KIB);
  }
}

static int run_scenario(const fsk__run_opts_t *o, soak_env_t *e, const scen_def_t *def,
                        fsk_scenario_t *out) {
  fsk__sampler_t smp;
  scen_t s;
  char label[64], pathname[32];
  scen_mem_t mem_warm = {-1, -1, 0};
  int rc, busy_fd = -1, busy_port = 0;
  uint64_t t0 = uv_hrtime();

  scen_init(o, def, &s, pathname, sizeof(pathname), label, sizeof(label));
  fsk_scenario_init(out, pathname, fsk__adapter_names[def->adapter], o->warmup);
  memset(&smp, 0, sizeof(smp)); /* freeing a zeroed sampler is harmless */

  if (def->port_kind == PORT_PEER_REJECT || def->port_kind == PORT_PEER_RESET) {
    if ((rc = peer_start(e, def->port_kind, o->platformd)) != 0)
      return rc;
  }
  if (def->port_kind == PORT_REAL_BUSY && (busy_fd = busy_listener(&busy_port)) < 0) {
    fprintf(stderr, "fdsoak: %s: cannot hold a loopback port: %s\n", label, strerror(-busy_fd));
    return busy_fd;
  }
  /* Taken after the peers and the busy port: those are the scenario's
   * fixtures, not its leftovers. */
  if ((rc = fsk_fd_snapshot(0, e->before, MAX_FDS, &e->nbefore)) != 0)
    goto early;
  if ((rc = scen_open(e, &s, busy_port, label)) != 0) {
    if (s.runner == NULL)
      goto early;
    goto out;
  }
  /* The engine `watch` samples with, on this process alone; fds 0-2 are
   * left out (what they are depends on who started fdsoak). */
  if ((rc = fsk__sampler_init(&smp, 0, 0)) != 0)
    goto out;
  smp.skip_stdio = 1;

  /* The first connect is the startup path, not a reconnect: it runs before
   * cycle 0 and is not sampled. */
  gw_runner_start(s.runner);
  gw_clock_settle(&s.clock, s.quiet_ms);
  if (scen_status(&s).in_flight)
    gw_clock_settle(&s.clock, s.hang_ms);

  if ((rc = scen_cycles(o, &s, &smp, out, label, &mem_warm)) != 0 ||
      (rc = scen_leaks(o, &smp, out, label)) != 0)
    goto out;
  scen_judge(o, out, &mem_warm);

out:
  out->seconds = (double)(uv_hrtime() - t0) / 1e9;
  fsk__sampler_free(&smp);
  scen_teardown(&s);
  if (!o->under_valgrind)
    close_leftovers(e->before, e->nbefore, e->fds);
early:
  if (busy_fd >= 0)
    close(busy_fd);
  if (rc != 0 && out->stats.why[0] == '\0')
    snprintf(out->stats.why, sizeof(out->stats.why), "the scenario could not run: %s",
             strerror(rc < 0 ? -rc : rc));
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

int fsk__soak_run(const fsk__run_opts_t *o, fsk_run_t *run) {
  const scen_def_t *defs;
  soak_env_t e;
  struct rlimit rl;
  size_t ndefs, i;
  int rc = 0;

  memset(&e, 0, sizeof(e));
#if defined(__GLIBC__) && defined(M_TRIM_THRESHOLD)
  /* Every cycle allocates the same ~160 KiB and frees it again (the api
   * adapter, ~68 KiB zeroed by calloc, and SQLite's page cache for the
   * store).  With glibc's default 128 KiB trim threshold, depending only on
   * where those blocks land, free() can hand the top of the heap back to the
   * kernel and the next cycle take it back: three brk() calls, ~7 more
   * page faults and a TLB-flush IPI to the other CPU a cycle (perf: 16% of
   * fatal/api's time in brk, most of it waiting for that IPI, which a busy
   * machine makes worse), the biggest cost that the bare loop does not
   * have.  A soak runs the same cycle forever, so keep the heap at its
   * high-water mark instead.  Leak
   * detection does not depend on it: leaked memory is never free, so it
   * still shows as resident growth after warm-up, and a heap that no longer
   * shrinks and regrows within a cycle makes that figure steadier.  Under
   * ASan or valgrind their own allocator ignores this; nothing to report. */
  (void)mallopt(M_TRIM_THRESHOLD, 64 << 20);
#endif
  if ((rc = fsk__tmpdir("fdsoak-stores", e.dir, sizeof(e.dir))) != 0) {
    fprintf(stderr, "fdsoak: cannot create a store directory: %s\n", strerror(-rc));
    return rc;
  }
  e.fds = calloc(MAX_FDS, sizeof(*e.fds));
  e.before = calloc(MAX_FDS, sizeof(*e.before));
  if (e.fds == NULL || e.before == NULL) {
    rc = -ENOMEM;
    goto out;
  }
  defs = o->matrix ? matrix_defs : soak_defs;
  ndefs = o->matrix ? sizeof(matrix_defs) / sizeof(matrix_defs[0])
                    : sizeof(soak_defs) / sizeof(soak_defs[0]);
  run->scen = calloc(ndefs, sizeof(*run->scen));
  if (run->scen == NULL) {
    rc = -ENOMEM;
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

  /* Api scenarios first, then platform ones: the table's order. */
  for (i = 0; i < ndefs; i++) {
    const scen_def_t *d = &defs[i];
    if (!(o->path_mask >> d->path & 1) || !(o->adapter_mask >> d->adapter & 1))
      continue;
    if (fsk__signal_caught()) {
      run->interrupted = 1;
      break;
    }
    rc = run_scenario(o, &e, d, &run->scen[run->nscen]);
    run->nscen++;
    if (rc != 0)
      goto out;
  }
  if (fsk__signal_caught())
    run->interrupted = 1;
  fsk_run_finish(run);

out:
  for (i = 0; i < sizeof(e.peers) / sizeof(e.peers[0]); i++)
    fsk__peer_stop(&e.peers[i]);
  free(e.fds);
  free(e.before);
  if (fsk__rmtree(e.dir) != 0)
    fprintf(stderr, "fdsoak: warning: could not remove %s\n", e.dir);
  return rc;
}
