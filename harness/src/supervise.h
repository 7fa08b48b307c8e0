/* supervise.h - the seccomp engine of `fdsoak watch`: a user-notification
 * supervisor inside fdsoak that applies the shim's rules to programs the
 * shim cannot reach (static binaries, Go).  See supervise.c. */
#ifndef FSK_SUPERVISE_H
#define FSK_SUPERVISE_H

#include <stddef.h>
#include <stdint.h>

#include "inj.h"
#include "inj_sec.h"
#include "proc.h"

typedef enum { FSK_ENGINE_AUTO = 0, FSK_ENGINE_PRELOAD, FSK_ENGINE_SECCOMP } fsk__engine_t;

/* "auto", "preload", "seccomp" -> fsk__engine_t, or -1. */
int fsk__engine_parse(const char *s);

/* What kind of program file is: the bits below, or a negative errno (no
 * such program on PATH, not readable).  A file that is not ELF (a script)
 * is 0: its interpreter is dynamic as far as anyone can tell. */
#define FSK_ELF_IS INJ_ELF_IS         /* an ELF file */
#define FSK_ELF_STATIC INJ_ELF_STATIC /* no PT_INTERP: no LD_PRELOAD */
#define FSK_ELF_GO INJ_ELF_GO         /* .go.buildinfo: Go makes its own syscalls */
int fsk__elf_kind(const char *cmd, char *path, size_t pathlen);

/* Which rule of spec (1-based) the supervisor cannot carry out, with why,
 * or 0 when it can carry out all of them. */
int fsk__sup_unsupported(const inj_spec_t *spec, char *why, size_t len);

/* FDSOAK_BPF: 1 when connects may be decided in the kernel (unset or "1",
 * the default), 0 for "0" (always notified), or -EINVAL for any other value,
 * with why naming it (fdsoak watch and fsk_sup_exec exit 2 on it). */
int fsk__sup_bpf_env(char *why, size_t len);

typedef struct fsk__sup fsk__sup_t;

/* Bring the stats page up to date with the counts of connects decided in
 * the kernel (bpfconn.c copies them every 20 ms on its own): a reader of
 * the page calls this first, e.g. at the end of a run.  A no-op without
 * the eBPF path. */
void fsk__sup_sync(fsk__sup_t *s);

/* A supervisor for spec, counting on the stats page at stats_path (created
 * or attached here, as the shim does).  0 or a negative errno. */
int fsk__sup_new(fsk__sup_t **out, const inj_spec_t *spec, const char *stats_path);
/* Start argv as fsk__target_spawn does (fdsoak's process group and stdio,
 * PR_SET_PDEATHSIG, cgroup or /proc tracking; t from fsk__target_init),
 * with the filter installed last before exec and the listener handed to
 * this process; then serve it in a thread.  0 or a positive errno; err
 * says what failed. */
int fsk__sup_spawn(fsk__sup_t *s, fsk__target_t *t, char *const argv[], char *err, size_t errlen);
/* A supervisor for the hand-overs of --engine auto: the shim (exec.c)
 * installs the filter in a static or Go program it is about to exec and
 * sends the listener here.  The stats page is attached at the first
 * hand-over (the shim of the started program creates it).  0 or -errno. */
int fsk__sup_new_lazy(fsk__sup_t **out, const inj_spec_t *spec, const char *stats_path);
/* Take hand-overs (any number of listeners, each served as a started
 * tree's is) on an abstract unix socket; env gets the value of FDSOAK_SUP
 * for the shim ("NAME:OPMASK").  After fsk__sup_track.  0 or -errno. */
int fsk__sup_listen(fsk__sup_t *s, char *env, size_t envlen);
/* How many listeners were handed over so far. */
unsigned long long fsk__sup_handoffs(const fsk__sup_t *s);
/* Did process pid install a filter this supervisor serves? */
int fsk__sup_served(fsk__sup_t *s, pid_t pid);
/* Record the attempt, the fd and the stack (Go: gosym.h, else C: csym.h)
 * of every open and socket call of the tree that goes through: call before
 * fsk__sup_spawn (it widens the filter). */
void fsk__sup_track(fsk__sup_t *s);
/* The unreachable helper (unreachd.c) listening on name (FDSOAK_UNREACH's
 * value): unreachable(net|host) on an IPv4 connect is then the real event,
 * a socket of the helper's namespace installed over the caller's.  NULL
 * or "": no helper, the model (see supervise.c). */
void fsk__sup_unreach(fsk__sup_t *s, const char *name);
/* Time the serving of each notification (the report's line then says how
 * long it took on average): for the benchmark (go_dial.sh). */
void fsk__sup_profile(fsk__sup_t *s);
/* Before fsk__sup_spawn, for the benchmark's comparisons: ask for the
 * synchronous wake-up (1, the default) or not (0), and the serving
 * thread's nice value relative to fdsoak's (default -10 where permitted;
 * 0: fdsoak's own). */
void fsk__sup_tune(fsk__sup_t *s, int sync_wake, int serve_nice);
/* Where and when fd of process pid (target: its path, or "socket:[...]")
 * was made, as the supervisor saw the call let through. */
typedef struct {
  char frames[520]; /* "by GO-FRAMES", or "opened by OP() at C-FRAMES" */
  uint32_t attempt; /* 1 + the attempts counted before the call */
  uint64_t mono_ns; /* CLOCK_MONOTONIC of the call */
} fsk__sup_origin_t;
#define FSK_SUP_ORIGIN_FRAMES 1 /* frames filled (maybe the last such call's) */
#define FSK_SUP_ORIGIN_WHEN 2   /* the very call that made fd: attempt, mono_ns */
/* The FSK_SUP_ORIGIN_* bits found, or 0. */
int fsk__sup_origin(fsk__sup_t *s, pid_t pid, int fd, const char *target, fsk__sup_origin_t *out);
/* One line on what the supervisor did (for the report). */
void fsk__sup_describe(const fsk__sup_t *s, char *buf, size_t len);
/* Stop serving, wait for the helper threads, free.  NULL is harmless. */
void fsk__sup_free(fsk__sup_t *s);

#endif
