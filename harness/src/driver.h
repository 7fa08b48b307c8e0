/* driver.h - private interface between fdsoak's CLI and its soak engines. */
#ifndef FSK_DRIVER_H
#define FSK_DRIVER_H

#include <limits.h>
#include <stdint.h>
#include <sys/types.h>

#include "args.h"
#include "fsk.h"

#define FSK_PATHS 3
#define FSK_ADAPTERS 2

extern const char *const fsk__path_names[FSK_PATHS];
extern const char *const fsk__adapter_names[FSK_ADAPTERS];

typedef struct {
  long cycles;
  long warmup;
  const char *regress; /* NULL, or the path the regress core breaks */
  char out[PATH_MAX];
  int out_given;
  int json;
  int quiet;
  const char *sarif;      /* --sarif FILE, or NULL */
  int progress;           /* a bar on stderr (a terminal, not -q) */
  int color;              /* NO_COLOR unset and a terminal */
  unsigned path_mask;     /* bit i: fsk__path_names[i] */
  unsigned adapter_mask;  /* bit i: fsk__adapter_names[i] */
  unsigned quiet_ms;      /* settle's quiet period for long-lived I/O */
  unsigned hang_ms;       /* real time a connect may stay silent before the
                            virtual clock jumps to its timeout */
  const char *stats_path; /* the shim's counter page */
  const char *platformd;  /* the peer program */
  double cycle_period_s;  /* production cadence for the projection */
  int matrix;             /* the fault matrix instead of the six paths */
  int under_valgrind;     /* no resident-growth bound (valgrind's memory is in it),
                            and leftovers stay open for valgrind's fd report */
} fsk__run_opts_t;

/* The fault spec the soak's scenarios need, for FDSOAK_INJECT. */
const char *fsk__soak_spec(void);
/* Run the selected scenarios in this process (the shim must be preloaded).
 * Fills run; returns 0, or a negative errno with a message on stderr. */
int fsk__soak_run(const fsk__run_opts_t *o, fsk_run_t *run);
/* Release what fsk__soak_run allocated in run. */
void fsk__run_free(fsk_run_t *run);

/* The peer fdsoak-platformd, for the scenarios (and the bench's bare loop)
 * that need a real one: started with its output to /dev/null and without
 * the shim in its environment, on an ephemeral loopback port. */
typedef struct {
  pid_t pid; /* 0: not running */
  int port;
} fsk__peer_t;
/* Start platformd in mode (reject, reset...) publishing its port through
 * portfile; waits up to 5 s for it.  0, or a negative errno with a message
 * on stderr (nothing is left running). */
int fsk__peer_start(const char *platformd, const char *mode, const char *portfile,
                    fsk__peer_t *peer);
/* SIGTERM, up to 2 s to go, then SIGKILL; reaped either way.  Idempotent. */
void fsk__peer_stop(fsk__peer_t *peer);

/* Describe where fd of pid (0: this process) came from using the shim's fd
 * record (a backtrace) in the counter page at stats_path, if any; appends
 * "; opened by OP() at FRAME <- FRAME ..." to buf (frames symbolized with
 * libdwfl, through maps -- a copy of /proc/PID/maps -- when the process is
 * gone; NULL: the live process only).  Returns 1 when the shim had a record, 0 when not (never
 * tracked, or overwritten in its ring). */
int fsk__origin_from_shim(const char *stats_path, pid_t pid, pid_t rec_pid, int fd,
                          const char *maps, char *buf, size_t len);
/* The shim's record of fd of pid: when it was created (CLOCK_MONOTONIC ns)
 * and the attempt in progress then (1-based; 0 when not recorded).  1 when
 * there is a record. */
int fsk__origin_when(const char *stats_path, pid_t pid, int fd, uint64_t *born_ns, long *attempt);
/* Release what symbolizing keeps open (ELF files of the last process). */
void fsk__origin_release(void);

/* Progress bar on stderr. */
void fsk__progress(const fsk__run_opts_t *o, const char *label, long done, long total);

/* Each verb's flags (args.h), for its parser and `fdsoak --help`. */
extern const fsk__verb_t fsk__run_verb, fsk__watch_verb, fsk__bench_verb, fsk__gate_verb,
  fsk__bisect_verb, fsk__report_verb;

/* `fdsoak run`, and its worker (`fdsoak __worker`: its settings come on a
 * descriptor from run, never from argv). */
int fsk__run_main(int argc, char **argv);
int fsk__run_worker_main(int argc, char **argv);
/* `fdsoak watch`. */
int fsk__watch_main(int argc, char **argv);
/* `fdsoak bench`. */
int fsk__bench_main(int argc, char **argv);
/* `fdsoak gate`. */
int fsk__gate_main(int argc, char **argv);
/* `fdsoak bisect`. */
int fsk__bisect_main(int argc, char **argv);

/* `fdsoak report`: the report again from results directories. */
int fsk__report_main(int argc, char **argv);
/* Read DIR/summary.json and DIR/series.csv back into run (released with
 * fsk__results_release): 0, -EBADMSG when it is not a summary, or a
 * negative errno. */
int fsk__results_load(const char *dir, fsk_run_t *run);
void fsk__results_release(fsk_run_t *run);
/* The checkout results are reported against: GITHUB_WORKSPACE, else the
 * git work tree around the working directory; -ENOENT when none. */
int fsk__checkout_root(char *buf, size_t len);
/* SARIF of run, relative to the checkout (fsk__checkout_root). */
int fsk__write_sarif_here(const char *file, const fsk_run_t *run);

/* The directory of this executable (for the shim and sibling binaries). */
int fsk__exe_dir(char *buf, size_t len);
/* The shim's path: FDSOAK_INJECT_LIB, else the install layout from EXE_DIR
 * (bin/../lib/fdsoak/libfdsoak-inject.so.0), else EXE_DIR/../lib/libfdsoak-inject.so. */
int fsk__shim_path(char *buf, size_t len);
/* The installed program `name` (fdsoak-regress, fdsoak-platformd) as seen
 * from this one: beside it, or across bin/ and libexec/fdsoak/.  0, or
 * -ENOENT with buf naming where it was expected. */
int fsk__sibling_path(const char *name, char *buf, size_t len);
/* Put the shim first in LD_PRELOAD, keeping what the caller had there;
 * asan_first: an instrumented fdsoak's own ASan runtime before it. */
int fsk__set_preload(const char *shim, int asan_first);
/* Copy DIR/summary.json to stdout (--json). */
void fsk__print_summary(const char *dir);
/* Create the shim's counter page in TMPDIR (PATH gets its name, from
 * STEM), with its blocks reserved so a full file system is an error now
 * rather than a SIGBUS later.  Returns 0 or -errno (the file removed). */
int fsk__stats_create(char *path, size_t len, const char *stem);
/* Create DIR (and its parents) and check that a file can be made in it:
 * a bad --out is found before the soak, not after.  0 or -errno. */
int fsk__out_probe(const char *dir);
/* UTC timestamp "2026-11-28T01:02:03Z" and a path-safe form. */
void fsk__utc_now(char *iso, size_t isolen, char *compact, size_t compactlen);

#endif
