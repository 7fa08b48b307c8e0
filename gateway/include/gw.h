/*
 * gw.h - public interface of the fdsoak reference gateway core.
 *
 * The core models the upstream gateway's reconnect machinery ("upstream":
 * the program whose bug fdsoak was born from, docs/architecture.md): adapters
 * created from platform configs, a runner that starts them, and a reconnect
 * watcher that retries failed platforms with exponential backoff.  Every
 * failure path disposes of the adapter it created; the regress build
 * (compiled with GW_REGRESS) can put the original leak back on one path.
 *
 * Conventions (libuv's): functions return 0 or a negative errno (UV_E*
 * values, which are negative errnos on Unix); types that own handles have
 * an init/close pair whose close is asynchronous; callbacks end in _cb.
 */
#ifndef GW_H
#define GW_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GW_NAME_MAX 64
#define GW_HOST_MAX 256
#define GW_SECRET_MAX 256
#define GW_PATH_MAX 1024
#define GW_CODE_MAX 64
#define GW_MSG_MAX 256

/* Error outside errno's range: a config value is wrong (message says which). */
#define GW_ECONFIG (-4200)

typedef struct gw_clock_s gw_clock_t;
typedef struct gw_runner_s gw_runner_t;
typedef struct gw_adapter_s gw_adapter_t;
typedef struct gw_adapter_vtable_s gw_adapter_vtable_t;
/* GW_LOG_OFF is a log_level only (no line has it): nothing is logged. */
typedef enum {
  GW_LOG_DEBUG = 0,
  GW_LOG_INFO,
  GW_LOG_WARN,
  GW_LOG_ERROR,
  GW_LOG_OFF
} gw_log_level_t;

/* ------------------------------------------------------------------ */
/* Clock: real time for the daemon, virtual time for soaks and tests.  */
/* ------------------------------------------------------------------ */

typedef enum { GW_CLOCK_REAL = 0, GW_CLOCK_VIRTUAL = 1 } gw_clock_kind_t;
typedef void (*gw_clock_cb)(gw_clock_t *clock);
typedef void (*gw_close_cb)(void *obj);

/*
 * One deadline at a time: the runner arms the earliest of its deadlines and
 * re-arms after each expiry, so nothing polls.  With the real clock the
 * deadline is a uv timer.  With the virtual clock, deadlines at or before
 * the virtual "now" fire from the loop at once, and later ones fire only when
 * the loop owner calls gw_clock_jump(); real I/O still runs on the loop.
 */
struct gw_clock_s {
  void *data; /* for the loop owner */
  /* private */
  uv_loop_t *loop;
  gw_clock_kind_t kind;
  uint64_t vnow;     /* virtual now, ms */
  uint64_t deadline; /* armed deadline, ms on this clock */
  int armed;
  gw_clock_cb cb;
  void *cb_data;
  uint64_t jumps;
  uv_timer_t timer;
  uv_timer_t guard; /* virtual: bounds gw_clock_settle's quiet wait */
  int guard_fired;
  int closing;
  int pending_close;
  gw_close_cb close_cb;
};

int gw_clock_init(uv_loop_t *loop, gw_clock_t *clock, gw_clock_kind_t kind);
uint64_t gw_clock_now(const gw_clock_t *clock); /* ms, monotonic */
/* Calls cb once at deadline (ms on this clock); replaces any armed deadline. */
void gw_clock_arm(gw_clock_t *clock, uint64_t deadline, gw_clock_cb cb, void *cb_data);
void gw_clock_disarm(gw_clock_t *clock);
void *gw_clock_cb_data(const gw_clock_t *clock);
/* Virtual only: deadline armed in the future, or UV_EAGAIN when none is. */
int gw_clock_next(const gw_clock_t *clock, uint64_t *deadline);
/* Virtual only: move now to the armed deadline (its callback runs on the
 * loop's next turn).  UV_EAGAIN when nothing is armed, UV_EINVAL on a real
 * clock. */
int gw_clock_jump(gw_clock_t *clock);
/*
 * Run the loop until it is quiescent: nothing left alive, or nothing
 * happened for quiet_ms of real time while long-lived I/O (a listener, a
 * connect that hangs) stays open.  The soak runner samples fds here.
 */
int gw_clock_settle(gw_clock_t *clock, unsigned quiet_ms);
void gw_clock_close(gw_clock_t *clock, gw_close_cb cb);

/* ------------------------------------------------------------------ */
/* Platform configuration                                             */
/* ------------------------------------------------------------------ */

typedef struct {
  char name[GW_NAME_MAX];       /* required, unique in a runner */
  char kind[GW_NAME_MAX];       /* required: a registered kind ("api", "platform") */
  char host[GW_HOST_MAX];       /* api: bind host; platform: peer host */
  int port;                     /* 0..65535; api 0 picks an ephemeral port */
  char token[GW_SECRET_MAX];    /* platform: identifies the bot */
  char key[GW_SECRET_MAX];      /* api: bearer key ("" = none) */
  char store_path[GW_PATH_MAX]; /* SQLite file the adapter opens at create */
  int max_responses;            /* api store LRU bound; 0 means 100 */
  double connect_timeout_s;     /* 0 means 30; (0, 3600] */
  double disconnect_timeout_s;  /* 0 means 5;  (0, 600] */
  double header_timeout_s;      /* api: a request's line and headers; 0 means 10 */
  double request_timeout_s;     /* api: a whole request; 0 means 60 */
} gw_platform_config_t;

/* Fill defaults (timeouts, max_responses) into a zeroed config. */
void gw_platform_config_defaults(gw_platform_config_t *cfg);

/* ------------------------------------------------------------------ */
/* Adapters                                                           */
/* ------------------------------------------------------------------ */

typedef struct {
  int has_error;
  int retryable; /* upstream default: retryable */
  char code[GW_CODE_MAX];
  char message[GW_MSG_MAX];
} gw_failure_t;

typedef enum {
  GW_CONNECT_OK = 0,     /* connected */
  GW_CONNECT_FAILED = 1, /* failed; adapter's failure says how (retryable?) */
  GW_CONNECT_ERROR = 2   /* aborted outside classification: exception path */
} gw_connect_result_t;

typedef void (*gw_adapter_connect_cb)(gw_adapter_t *a, gw_connect_result_t result, int err);
typedef void (*gw_adapter_disconnect_cb)(gw_adapter_t *a, int status);

typedef enum {
  GW_ADAPTER_CREATED = 0,
  GW_ADAPTER_OPEN,
  GW_ADAPTER_CONNECTING,
  GW_ADAPTER_CONNECTED,
  GW_ADAPTER_DISCONNECTING,
  GW_ADAPTER_CLOSED
} gw_adapter_state_t;

/*
 * An adapter kind.  Lifecycle, as the runner drives it:
 *   create  - allocate and take the config; no resources.  A failure here is
 *             upstream's "create returned nothing": the platform is dropped.
 *   open    - acquire resources (the api adapter opens its SQLite store).
 *             Called through gw_adapter_open, which owns the state: the
 *             adapter only acquires.  May fail half-way; the runner then
 *             disposes of the adapter, so disconnect must release whatever
 *             open got.
 *   connect - asynchronous.  A non-zero return is the exception path and no
 *             callback follows.  Otherwise cb runs exactly once, unless
 *             disconnect starts first (then it never runs).
 *   disconnect - asynchronous, idempotent, valid in every state.  Releases
 *             every fd and handle; cb runs once everything is closed.  A
 *             second call returns UV_EALREADY and does nothing.
 *   destroy - free memory; only after disconnect's cb (or on an adapter
 *             that was never opened).  gw_adapter_destroy enforces this:
 *             destroying an adapter that may hold fds aborts, because that
 *             is the leak this project exists to catch.
 */
struct gw_adapter_vtable_s {
  const char *kind;
  /* Check kind-specific fields; write a message naming the field. */
  int (*validate)(const gw_platform_config_t *cfg, char *err, size_t errlen);
  int (*create)(gw_runner_t *r, const gw_platform_config_t *cfg, gw_adapter_t **out);
  int (*open)(gw_adapter_t *a);
  int (*connect)(gw_adapter_t *a);
  int (*disconnect)(gw_adapter_t *a);
  void (*destroy)(gw_adapter_t *a);
};

/* The base every adapter embeds first.  Fields are private to adapters. */
struct gw_adapter_s {
  const gw_adapter_vtable_t *vt;
  gw_runner_t *runner;
  uv_loop_t *loop;
  gw_platform_config_t cfg;
  gw_adapter_state_t state;
  gw_failure_t failure;
  gw_adapter_connect_cb connect_cb;
  gw_adapter_disconnect_cb disconnect_cb;
  int disconnect_status;
  unsigned pending_close;
  unsigned disconnect_calls; /* how many times disconnect was asked for */
  int open_called;           /* open ran (even if it failed): may hold fds */
  uv_timer_t done;           /* closed last: makes disconnect's cb async */
  void *data;                /* owner's */
};

const char *gw_adapter_name(const gw_adapter_t *a);
const char *gw_adapter_kind(const gw_adapter_t *a);
gw_adapter_state_t gw_adapter_state(const gw_adapter_t *a);
const gw_failure_t *gw_adapter_failure(const gw_adapter_t *a);
/* Start connecting; see the vtable.  cb must not be NULL. */
int gw_adapter_connect(gw_adapter_t *a, gw_adapter_connect_cb cb);
/* Start disconnecting; cb may be NULL.  Safe on a NULL adapter (returns 0). */
int gw_adapter_disconnect(gw_adapter_t *a, gw_adapter_disconnect_cb cb);
/* Acquire the adapter's resources (vt->open) and move it to OPEN.  Only
 * once, from CREATED; UV_EINVAL otherwise.  On failure the state stays
 * CREATED but the adapter may hold part of what open got: disconnect it. */
int gw_adapter_open(gw_adapter_t *a);
/* Free an adapter that is CLOSED (disconnect's cb ran) or was never opened;
 * anything else aborts with a message naming the adapter.  NULL is a no-op. */
void gw_adapter_destroy(gw_adapter_t *a);

/* Helpers for adapter implementations. */
void gw_adapter_init_base(gw_adapter_t *a, const gw_adapter_vtable_t *vt, gw_runner_t *r,
                          const gw_platform_config_t *cfg);
void gw_adapter_set_failure(gw_adapter_t *a, int retryable, const char *code, const char *fmt, ...)
  __attribute__((format(printf, 4, 5)));
void gw_adapter_clear_failure(gw_adapter_t *a); /* upstream mark_connected */
/* Finish a connect: runs connect_cb once, unless disconnect already began. */
void gw_adapter_connect_done(gw_adapter_t *a, gw_connect_result_t result, int err);
/* Disconnect bookkeeping: close a handle owned by the adapter; the
 * disconnect cb runs after the last one (and the base's own) has closed. */
void gw_adapter_close_handle(gw_adapter_t *a, uv_handle_t *h);
void gw_adapter_disconnect_finish(gw_adapter_t *a, int status);
/* For handles with a close callback of their own (a client connection that
 * frees its memory there): hold before uv_close, release in the callback. */
void gw_adapter_hold(gw_adapter_t *a);
void gw_adapter_release(gw_adapter_t *a);
/* A connected adapter reports a runtime fatal error to its runner. */
void gw_adapter_report_fatal(gw_adapter_t *a);
/* A line "platform NAME: ..." in the log of whoever runs the adapter
 * (dropped when none). */
void gw_adapter_log(gw_adapter_t *a, gw_log_level_t level, const char *fmt, ...)
  __attribute__((format(printf, 3, 4)));

/* The real adapter kinds (register them with gw_runner_register_kind):
 * "api" - the HTTP API server with its SQLite response store;
 * "platform" - an outbound connection with a JSON-line handshake. */
extern const gw_adapter_vtable_t gw_api_adapter_vtable;
extern const gw_adapter_vtable_t gw_platform_adapter_vtable;

/* The port an api adapter listens on, or a negative errno when it does not
 * (its config may say 0: an ephemeral port). */
int gw_api_adapter_port(gw_adapter_t *a);

/*
 * The checks an api adapter's connect makes before it binds (host an IP
 * address, a key when the host is not loopback, no key shorter than 8
 * characters), for a daemon's --check: 0, or GW_ECONFIG with the reason in
 * err.  Connect still makes them, as fatal outcomes, because the watcher
 * must class a wrong host or key as fatal rather than retry it.
 */
int gw_api_adapter_preflight(const gw_platform_config_t *cfg, char *err, size_t errlen);

/* ------------------------------------------------------------------ */
/* Runner and reconnect watcher                                       */
/* ------------------------------------------------------------------ */

typedef enum {
  GW_PLATFORM_PENDING = 0, /* not started yet */
  GW_PLATFORM_CONNECTING,  /* first connect in flight */
  GW_PLATFORM_CONNECTED,
  GW_PLATFORM_RETRYING, /* in the retry queue */
  GW_PLATFORM_PAUSED,   /* in the retry queue, paused by an operator */
  GW_PLATFORM_FATAL,    /* not retried */
  GW_PLATFORM_STOPPED
} gw_platform_state_t;

typedef enum {
  GW_OUTCOME_SUCCESS = 0,
  GW_OUTCOME_FATAL,
  GW_OUTCOME_RETRYABLE,
  GW_OUTCOME_EXCEPTION,
  GW_OUTCOME_DROPPED, /* create failed: platform removed */
  GW_OUTCOME_COUNT
} gw_outcome_t;

typedef struct {
  char name[GW_NAME_MAX];
  char kind[GW_NAME_MAX];
  gw_platform_state_t state;
  int queued;
  int paused;
  char pause_reason[GW_MSG_MAX];
  unsigned attempts;   /* the retry entry's attempts */
  int in_flight;       /* an attempt is connecting */
  int has_next_retry;  /* queued, not paused */
  uint64_t next_retry; /* ms on the runner's clock */
  char last_error_code[GW_CODE_MAX];
  char last_error_message[GW_MSG_MAX];
  uint64_t outcomes[GW_OUTCOME_COUNT]; /* reconnect attempts by outcome */
  uint64_t attempts_total;
} gw_platform_status_t;

typedef enum {
  GW_EV_ATTEMPT = 0,   /* an attempt starts (first connect or retry) */
  GW_EV_OUTCOME,       /* an attempt ended; outcome, err */
  GW_EV_DISPOSED,      /* a failed attempt's adapter finished disconnecting */
  GW_EV_RUNTIME_ERROR, /* a connected adapter reported a fatal error */
  GW_EV_STOPPED        /* nothing connected, nothing queued: gateway fails */
} gw_event_type_t;

typedef struct {
  gw_event_type_t type;
  const char *platform;
  unsigned attempt; /* 1-based attempt number of this entry */
  int startup;      /* the first connect, not a retry */
  gw_outcome_t outcome;
  int err;      /* negative errno for exception outcomes */
  uint64_t now; /* clock ms */
} gw_event_t;

typedef void (*gw_log_cb)(void *data, gw_log_level_t level, const char *msg);
typedef void (*gw_event_cb)(void *data, const gw_event_t *ev);
typedef void (*gw_runner_close_cb)(gw_runner_t *r);

typedef struct {
  gw_log_cb log; /* NULL: to stderr */
  /* Lines below it are dropped before they are formatted, whether they
   * would go to log or to stderr; GW_LOG_OFF drops all. */
  gw_log_level_t log_level;
  gw_event_cb event;
  void *data;
} gw_runner_options_t;

#define GW_RUNNER_MAX_PLATFORMS 32
#define GW_RUNNER_MAX_KINDS 8

int gw_runner_init(uv_loop_t *loop, gw_clock_t *clock, const gw_runner_options_t *opts,
                   gw_runner_t **out);
/* Add an adapter kind.  A runner starts with none. */
int gw_runner_register_kind(gw_runner_t *r, const gw_adapter_vtable_t *vt);
/* Validate and add a platform; on error writes a message naming the field. */
int gw_runner_add_platform(gw_runner_t *r, const gw_platform_config_t *cfg, char *err,
                           size_t errlen);
/* First connect of every platform. */
int gw_runner_start(gw_runner_t *r);
int gw_runner_pause(gw_runner_t *r, const char *name, const char *reason);
int gw_runner_resume(gw_runner_t *r, const char *name);
/* Operator retry of a platform that left the queue (fatal or dropped): it is
 * queued again with attempts 0, due now.  The soak uses it to repeat the
 * fatal path; UV_EINVAL while the platform is connected or queued. */
int gw_runner_retry(gw_runner_t *r, const char *name);
int gw_runner_status(gw_runner_t *r, const char *name, gw_platform_status_t *out);
int gw_runner_status_at(gw_runner_t *r, size_t i, gw_platform_status_t *out);
size_t gw_runner_platform_count(const gw_runner_t *r);
/* The installed adapter of a connected platform, or NULL. */
gw_adapter_t *gw_runner_adapter(gw_runner_t *r, const char *name);
gw_clock_t *gw_runner_clock(gw_runner_t *r);
uv_loop_t *gw_runner_loop(gw_runner_t *r);
/* 1 once the runner stopped because nothing was connected or queued. */
int gw_runner_failed(const gw_runner_t *r);
/* Adapters being disposed of right now. */
unsigned gw_runner_disposing(const gw_runner_t *r);
void gw_runner_log(gw_runner_t *r, gw_log_level_t level, const char *fmt, ...)
  __attribute__((format(printf, 3, 4)));
void *gw_runner_data(const gw_runner_t *r);
/* Disconnect everything, wait for it (bounded by each disconnect timeout),
 * free the runner, then call cb. */
void gw_runner_close(gw_runner_t *r, gw_runner_close_cb cb);

const char *gw_platform_state_name(gw_platform_state_t s);
const char *gw_outcome_name(gw_outcome_t o);
/* Backoff before attempt+1 after attempt failed: min(30*2^(attempt-1), 300) s. */
uint64_t gw_backoff_ms(unsigned attempt);

/* Open fds of this process: stat("/proc/self/fd").st_size, or a directory
 * count where the kernel reports 0 (before Linux 6.2). */
int gw_fd_count(void);

/* ------------------------------------------------------------------ */
/* Regress build (only in libgw_regress, compiled with GW_REGRESS)     */
/* ------------------------------------------------------------------ */
#ifdef GW_REGRESS
typedef enum {
  GW_REGRESS_NONE = 0,
  GW_REGRESS_FATAL,      /* fatal path drops the adapter undisposed */
  GW_REGRESS_RETRYABLE,  /* retryable path drops the adapter undisposed */
  GW_REGRESS_EXCEPTION,  /* exception path drops the adapter undisposed */
  GW_REGRESS_STORE_CLOSE /* api adapter's disconnect forgets its store */
} gw_regress_t;
/* Accepts "fatal", "retryable", "exception", "store-close", "none". */
int gw_regress_set(const char *path);
gw_regress_t gw_regress_get(void);
/* The store-close regress leaves stores open after disconnect; this closes
 * them so a test that saw the leak can end clean.  Returns how many. */
int gw_api_reap_leaked_stores(void);
#endif

#ifdef __cplusplus
}
#endif
#endif /* GW_H */
