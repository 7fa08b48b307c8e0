/*
 * fsk.h - the fdsoak harness library: fd sampling and classification,
 * identity tracking, verdicts, and the result files.
 *
 * The soak driver (in-process, `fdsoak run`) and the watcher (any process,
 * `fdsoak watch`) both feed a series of per-cycle samples into this library
 * and get back a verdict, the leaked fds with their origin, and the files of
 * docs/architecture.md.  Functions return 0 or a negative errno.
 */
#ifndef FSK_H
#define FSK_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Exit codes of every fdsoak verb (docs/architecture.md). */
#define FSK_EXIT_FLAT 0
#define FSK_EXIT_LEAK 1
#define FSK_EXIT_USAGE 2
#define FSK_EXIT_INCONCLUSIVE 3

#define FSK_TARGET_MAX 256
#define FSK_ORIGIN_MAX 1536

/* ------------------------------------------------------------------ */
/* The fd table                                                       */
/* ------------------------------------------------------------------ */

typedef enum {
  FSK_FD_FILE = 0,  /* a regular file: its path is the target */
  FSK_FD_SOCKET,    /* socket:[ino] */
  FSK_FD_PIPE,      /* pipe:[ino] */
  FSK_FD_EVENTPOLL, /* anon_inode:[eventpoll] */
  FSK_FD_EVENTFD,   /* anon_inode:[eventfd] */
  FSK_FD_SIGNALFD,
  FSK_FD_TIMERFD,
  FSK_FD_INOTIFY,
  FSK_FD_ANON,   /* any other anon_inode */
  FSK_FD_DEVICE, /* /dev/... */
  FSK_FD_OTHER,
  FSK_FD_CLASS_COUNT
} fsk_fdclass_t;

typedef struct {
  int fd;
  pid_t pid; /* the process whose table it is in */
  fsk_fdclass_t cls;
  uint64_t ino; /* st_ino of the target: with pid, fd and target, the identity */
  char target[FSK_TARGET_MAX];
} fsk_fd_t;

const char *fsk_fdclass_name(fsk_fdclass_t c);
/* Classify a readlink target ("socket:[123]", "/tmp/x.db-wal", ...). */
fsk_fdclass_t fsk_fdclass_of(const char *target);

/* Open fds of pid (0 = self): st_size of /proc/PID/fd where the kernel
 * gives it (Linux >= 6.2, ~2 us), else a directory count. */
int fsk_fd_count(pid_t pid);
/* Every open fd of pid with its target, sorted by fd.  *n gets the count;
 * UV-style UV_ENOBUFS-like -ENOBUFS when max is too small (n holds the need). */
int fsk_fd_snapshot(pid_t pid, fsk_fd_t *out, size_t max, size_t *n);

/* ------------------------------------------------------------------ */
/* Verdicts                                                           */
/* ------------------------------------------------------------------ */

typedef enum {
  FSK_VERDICT_FLAT = 0,
  FSK_VERDICT_LEAK = 1,
  FSK_VERDICT_INCONCLUSIVE = 3
} fsk_verdict_t;

const char *fsk_verdict_name(fsk_verdict_t v);
/* The exit code of a verdict: FSK_EXIT_FLAT, _LEAK or _INCONCLUSIVE. */
int fsk_exit_code(fsk_verdict_t v);

typedef struct {
  double slope;      /* least-squares fds per cycle after warm-up */
  double slope_lo;   /* its lower 99.9 % confidence bound */
  double floor_rise; /* min(last window) - min(first window) */
  size_t n;          /* samples used (after warm-up) */
  char why[256];     /* one sentence: why this verdict */
} fsk_stats_t;

/*
 * Strict rule, for deterministic targets (the reference gateway in-process):
 * after warm-up the count never rises above its first post-warm-up value,
 * and no fd outlives its cycle (survivors counted by the caller).
 * Inconclusive when there are fewer than 2 samples after warm-up.
 */
fsk_verdict_t fsk_verdict_strict(const int *counts, size_t n, size_t warmup, size_t survivors,
                                 fsk_stats_t *st);

/* Thresholds of the statistical rule. */
#define FSK_STAT_MIN_SAMPLES 20 /* fewer post-warm-up samples: no verdict */
#define FSK_STAT_MIN_RISE 2     /* fds: the floor, not only the average, must rise */
#define FSK_STAT_MIN_RATE 0.002 /* fd per attempt: below this, no red build */

/* A series to judge: the count at each sample, and where the sample lies
 * on the axis the rate is measured against (cumulative attempts, or
 * seconds in interval mode). */
typedef struct {
  const int *counts;
  const double *x; /* nondecreasing; NULL: the sample index */
  size_t n;
  size_t warmup;      /* leading samples that are warm-up */
  const char *unit;   /* "attempt", "second", "cycle": for the why */
  double min_rate;    /* fds per unit below which nothing is a leak */
  int identity;       /* 1: the survivors below are known */
  const double *born; /* x at which each surviving fd was first seen */
  size_t nsurvivors;  /* fds opened after warm-up, open at the end */
} fsk_series_t;

/*
 * Statistical rule, for programs that are not ours: leak only on unbounded
 * accumulation.  With the post-warm-up samples split in four quarters of
 * the x span and F1..F4 their floors (minimum counts):
 *   - the least-squares slope against x is significant at 99.9 % once its
 *     error is inflated for the residuals' lag-1 autocorrelation, and at
 *     least min_rate;
 *   - the floor rose by at least FSK_STAT_MIN_RISE (F4 - F1);
 *   - it kept growing: each half of the x span, fitted on its own, has a
 *     significant slope (99.75 %, and at least a quarter of the whole
 *     run's slope), and the floor rises across each half (F3 > F1 and
 *     F4 > F2) -- a set that grew and then held grows in one half only;
 *   - with identity, at least two survivors, born in both halves.
 * With identity, survivors first seen at four or more distinct moments,
 * in both halves, stand in for the two significance tests: a leak that strikes
 * at random attempts departs from a line in long runs, like pooled noise,
 * but its fds are kept, not replaced.
 * Inconclusive below FSK_STAT_MIN_SAMPLES samples or when the samples do
 * not cover the span; flat otherwise.
 */
fsk_verdict_t fsk_verdict_stat(const fsk_series_t *s, fsk_stats_t *st);

/* The rate a leak report gives (fds per unit of x): the growth of the
 * count's floor from the first tenth of the samples to the last, over the
 * attempts (or seconds) between.  A leak that strikes at random attempts is
 * a staircase; a least-squares line through it misses the fds that really
 * leaked by 10-20 % over a few hundred attempts, this does not.  NaN when
 * undefined. */
double fsk_realized_rate(const int *y, const double *x, size_t n);

/* ------------------------------------------------------------------ */
/* Identity tracking: fds that outlive their cycle                     */
/* ------------------------------------------------------------------ */

typedef struct {
  int fd;
  pid_t pid;
  fsk_fdclass_t cls;
  uint64_t ino;
  char target[FSK_TARGET_MAX];
  long opened_cycle;           /* the cycle it was opened in (watch: attempt,
                                  or second in interval mode) */
  int opened_exact;            /* 1: opened_cycle is the attempt (second) the
                                  shim saw it created in; 0: the sample it was
                                  first seen in (a fallback, later than the truth) */
  char origin[FSK_ORIGIN_MAX]; /* scenario / adapter step / stack */
} fsk_leak_t;

typedef struct fsk_tracker_s fsk_tracker_t;

/* The baseline is the snapshot at the end of warm-up: its fds are members. */
int fsk_tracker_new(fsk_tracker_t **out);
void fsk_tracker_free(fsk_tracker_t *t);
/* Feed the snapshot taken at the end of cycle `cycle`.  An fd not in the
 * baseline that is still open at a later cycle boundary is a survivor. */
int fsk_tracker_baseline(fsk_tracker_t *t, const fsk_fd_t *fds, size_t n, long cycle);
int fsk_tracker_feed(fsk_tracker_t *t, const fsk_fd_t *fds, size_t n, long cycle);
/* Survivors: fds opened after the baseline and still open at the last feed,
 * opened at least one cycle before it. */
size_t fsk_tracker_survivors(const fsk_tracker_t *t, fsk_leak_t *out, size_t max);

/* ------------------------------------------------------------------ */
/* Results                                                            */
/* ------------------------------------------------------------------ */

typedef struct {
  char path[32];    /* fatal | retryable | exception, "path:fault" in the
                       fault matrix, or "watch" */
  char adapter[32]; /* api | platform (or the program's name) */
  long cycles;
  long warmup;
  /* per cycle: total count, and per class counts */
  int *counts;
  int (*class_counts)[FSK_FD_CLASS_COUNT];
  size_t nsamples;
  size_t cap;
  fsk_leak_t *leaked;
  size_t nleaked;
  fsk_stats_t stats;
  fsk_verdict_t verdict;
  double seconds; /* wall time of the scenario */
  int has_rss;
  long rss_growth_kib; /* resident growth from the end of warm-up to the end */
  int has_heap;
  long heap_growth_kib; /* heap in use (malloc's), the same span */
  /* watch: where each sample lies (cumulative attempts, or seconds in
   * interval mode), NULL for `run`, whose samples are its cycles. */
  double *xs;
  const char *unit; /* the rate's unit: "cycle", "attempt" or "hour" */
  double rate;      /* fds per unit (the verdict's rate), NaN if none */
  double attempts;  /* attempts after warm-up (watch) */
  double warmup_x;  /* watch: the warm-up as given (attempts or samples);
                          s->warmup is then the first judged sample */
  size_t no_origin; /* leaked fds whose origin the shim no longer held */
} fsk_scenario_t;

/* Resident growth, and growth of the heap in use, after warm-up that
 * fails a scenario of `fdsoak run`. */
#define FSK_RSS_GROWTH_MAX_KIB 1024
#define FSK_HEAP_GROWTH_MAX_KIB 1024

void fsk_scenario_init(fsk_scenario_t *s, const char *path, const char *adapter, long warmup);
/* Append one cycle's sample (class_counts may be NULL: all zero); sets
 * s->cycles to the samples after warm-up (override it afterwards if a
 * cycle is not a sample).  -ENOMEM leaves the scenario as it was. */
int fsk_scenario_push(fsk_scenario_t *s, int count, const int *class_counts);
/* The same, with the sample's place on the rate's axis (s->xs). */
int fsk_scenario_push_x(fsk_scenario_t *s, int count, const int *class_counts, double x);
/* s->leaked is owned by the scenario (malloc'd, freed by
 * fsk_scenario_free): this copies n leaks in, replacing any before. */
int fsk_scenario_set_leaked(fsk_scenario_t *s, const fsk_leak_t *leaked, size_t n);
/* s->verdict, s->stats and s->rate from the samples, with s->nleaked
 * survivors: the strict rule when strict is non-zero, else the statistical
 * one (against s->xs when set, survivors born at their opened_cycle).
 * The one judging path of `run` and `watch`. */
fsk_verdict_t fsk_scenario_judge(fsk_scenario_t *s, int strict);
void fsk_scenario_free(fsk_scenario_t *s);

/* One process of a watched tree. */
typedef struct {
  pid_t pid, ppid;
  char comm[32];
  int fd_first, fd_last, fd_max;
  int rlimit_nofile;        /* its soft limit, from /proc/PID/limits */
  unsigned long long start; /* its start time: tells it from a reused pid */
  char engine[8];           /* who applied the rules to it: "shim", "seccomp", "none" */
} fsk_proc_info_t;

/* The watched program's life (watch). */
typedef struct {
  int has; /* 1 for watch */
  pid_t pid;
  char cmd[256];
  char source[24];         /* cycle source: "faults", "observed", "faults+observed", "interval" */
  int ended;               /* it ended by itself before fdsoak stopped it */
  int exit_code;           /* -1 unless it exited */
  int signal;              /* 0 unless a signal ended it */
  double seconds;          /* its life (so far, if fdsoak stopped it) */
  char end[256];           /* "exited 127 after 0.02 s", "stopped by fdsoak at the end" */
  char death[256];         /* evidence that it died of fd exhaustion, or "" */
  char origins[8];         /* "off", "native" or "lang" */
  char lang_note[256];     /* why some leaked fds have no language frames, or "" */
  char engine[8];          /* "preload", "seccomp", "auto" (the shim, and the supervisor for
                              the programs it handed over through exec), or "none" (no rules) */
  char engine_note[640];   /* what the engine did, or what it missed, or "" */
  char origin_note[256];   /* why some leaked fds have no origin, or "" */
  size_t uninstrumented;   /* processes that ran without the shim's page */
  char uninstr_first[200]; /* "process 12 (id)": the first of them */
  char tree_tracking[240]; /* "cgroup", or "/proc scanning: <why>" */
  double attempts;         /* attempts in all */
  double attempts_per_sample;
  fsk_proc_info_t *procs;
  size_t nprocs;
  size_t nprocs_folded; /* ended processes counted, not listed (a bound) */
  int folded_fd_max;    /* the most fds one of those held */
} fsk_target_info_t;

/* watch --speed: the program's own (virtual) time, which runs `speed`
 * times faster than fdsoak's.  speed 0: the run was in real time and the
 * rest is unused. */
typedef struct {
  double speed;
  const double *vt;          /* virtual seconds of each sample of scen[0] since
                                the program started, or NULL */
  double virtual_s;          /* the program's virtual age at the end */
  double per_vhour;          /* fds per virtual hour (NaN: no rate) */
  double attempt_vs;         /* virtual seconds per attempt over the judged
                                window, from its own schedule (0: interval mode) */
  double exhausted_vh;       /* virtual hour it ran out of fds, < 0 if it did not */
  double exhausted_attempts; /* attempts by then */
  int exhausted_limit;       /* the limit it hit */
  char exhausted_text[200];  /* "ran out of its 1024 fds at virtual hour 27.4, after
                                331 attempts", or "" */
} fsk_vtime_t;

typedef struct {
  const char *mode;     /* "run" or "watch" */
  char started_utc[32]; /* 2026-11-28T00:00:00Z */
  fsk_scenario_t *scen;
  size_t nscen;
  fsk_verdict_t verdict; /* leak if any leaks, else inconclusive if any, else flat */
  int rlimit_nofile;     /* soft limit of the target */
  double cycle_period_s; /* production cadence: 300 s at the backoff cap */
  int has_projection;
  double projection_hours; /* to RLIMIT_NOFILE at the worst scenario's rate */
  char projection_text[320];
  int interrupted; /* SIGINT/SIGTERM stopped it: partial results */
  fsk_target_info_t target;
  fsk_vtime_t vtime; /* watch --speed */
} fsk_run_t;

/* Hours until the soft fd limit at `per_cycle` fds a cycle, one cycle every
 * period_s seconds, from fd_now open; < 0 when per_cycle <= 0.  A rate per
 * hour projects with period_s = 3600. */
double fsk_projection_hours(double per_cycle, int fd_now, int rlimit, double period_s);
/* Overall verdict, projection (worst leaking scenario) and its sentence. */
void fsk_run_finish(fsk_run_t *run);

/* The files of docs/architecture.md in dir (created if missing), each written to a
 * temporary name and renamed, so a reader never sees half a file:
 * summary.json, series.csv, junit.xml, fd-soak.svg. */
int fsk_results_write(const char *dir, const fsk_run_t *run);
int fsk_write_summary_json(const char *file, const fsk_run_t *run);
int fsk_write_series_csv(const char *file, const fsk_run_t *run);
int fsk_write_junit(const char *file, const fsk_run_t *run);
int fsk_write_svg(const char *file, const fsk_run_t *run);
/* Point root/latest (a symlink) at dir, atomically. */
int fsk_results_link_latest(const char *root, const char *dir);
/* The table of `fdsoak run` on stdout: path, adapter, cycles, fd first/last,
 * slope, verdict. */
void fsk_print_table(FILE *out, const fsk_run_t *run);

/* ------------------------------------------------------------------ */
/* Findings: leaked fds grouped by the place that opened them          */
/* ------------------------------------------------------------------ */

#define FSK_FRAME_FN_MAX 160
#define FSK_FRAME_FILE_MAX 512

/* One frame of a leaked fd's stack, parsed from its origin. */
typedef struct {
  char fn[FSK_FRAME_FN_MAX];     /* function, or "object+0xoffset" */
  char file[FSK_FRAME_FILE_MAX]; /* source file as recorded, "" if none */
  int line;                      /* 0: none */
  int lang;                      /* 1: a Python/JavaScript frame, 0: native */
  int user;                      /* 1: the program's own code (not the runtime,
                                    libc, the interpreter or a library) */
} fsk_frame_t;

/* Every frame of an origin ("...; by F <- F; opened by OP() at F <- F"),
 * language frames first, innermost first.  *n gets the count (at most max). */
void fsk_origin_frames(const char *origin, fsk_frame_t *out, size_t max, size_t *n);

/* One finding: the leaked fds opened at one place of the program's own
 * code, of one class and target (the way LeakSanitizer groups leaks). */
typedef struct {
  fsk_fdclass_t cls;
  char target[FSK_TARGET_MAX]; /* sockets and pipes without their inode; when
                                  the fds' names differ by numbers only
                                  (store-3.db, store-6.db), each run of digits
                                  is a '*' (store-*.db) */
  char key[FSK_TARGET_MAX];    /* the target with each digit run as '*' */
  fsk_frame_t where;           /* the first frame in the program's code;
                                  fn "" when no frame is known */
  size_t count;
  long first, last; /* attempts (cycles, seconds) the first and last were opened in */
  int exact;        /* 1: every fd's attempt is exact (see fsk_leak_t) */
  pid_t pid;        /* a process it leaked in; */
  int pids;         /* how many processes (1, or 2 for "several") */
  size_t sample;    /* index in the scenario's leaked[] of one of them: its
                       origin is the group's full stack */
} fsk_group_t;

/* The groups of s->leaked, largest first (ties: the earliest first), as a
 * malloc'd array in *out (NULL when none).  0 or -ENOMEM. */
int fsk_group_leaks(const fsk_scenario_t *s, fsk_group_t **out, size_t *n);
/* The findings of a leaking scenario for a terminal: a line per group
 * (count, class, target, place, attempts) and its trimmed stack, at most
 * max_groups of them.  Control characters and bytes that are not UTF-8
 * are shown escaped (\x1b), never sent to the terminal. */
void fsk_findings_print(FILE *out, const fsk_scenario_t *s, size_t max_groups);
/* The same as GitHub-flavoured markdown, every name escaped so nothing in
 * a file name or a stack can become markup, a link, HTML or a mention. */
void fsk_findings_markdown(FILE *out, const fsk_scenario_t *s, size_t max_groups);
/* SARIF 2.1.0: one result per group of every leaking scenario; its location
 * is the group's frame, relative to root when under it (root: the checkout,
 * NULL or "" for none); codeFlows hold the full stack. */
int fsk_write_sarif(const char *file, const fsk_run_t *run, const char *root);

#ifdef __cplusplus
}
#endif
#endif /* FSK_H */
