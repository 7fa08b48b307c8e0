/* supervise.h - the seccomp engine of `fdsoak watch`: a user-notification
 * supervisor inside fdsoak that applies the shim's rules to programs the
 * shim cannot reach (static binaries, Go).  See supervise.c. */
#ifndef FSK_SUPERVISE_H
#define FSK_SUPERVISE_H

#include <stddef.h>
#include <stdint.h>

#include "inj.h"
#include "proc.h"

typedef enum { FSK_ENGINE_AUTO = 0, FSK_ENGINE_PRELOAD, FSK_ENGINE_SECCOMP } fsk__engine_t;

/* "auto", "preload", "seccomp" -> fsk__engine_t, or -1. */
int fsk__engine_parse(const char *s);

/* What kind of program file is: the bits below, or a negative errno (no
 * such program on PATH, not readable).  A file that is not ELF (a script)
 * is 0: its interpreter is dynamic as far as anyone can tell. */
#define FSK_ELF_IS 1     /* an ELF file */
#define FSK_ELF_STATIC 2 /* no PT_INTERP: no dynamic loader, so no LD_PRELOAD */
#define FSK_ELF_GO 4     /* a .go.buildinfo section: Go makes its own syscalls */
int fsk__elf_kind(const char *cmd, char *path, size_t pathlen);

/* Which rule of spec (1-based) the supervisor cannot carry out, with why,
 * or 0 when it can carry out all of them. */
int fsk__sup_unsupported(const inj_spec_t *spec, char *why, size_t len);

/* The seccomp filter for the ops in opmask (bits 1 << INJ_OP_*) into f
 * (cap instructions): its length, or -ENOSPC.  For x86-64 and arm64 callers:
 * the notified calls return SECCOMP_RET_USER_NOTIF, io_uring_setup
 * ENOSYS, everything else (and every other ABI) ALLOW. */
struct sock_filter;
int fsk__sup_filter(uint32_t opmask, struct sock_filter *f, int cap);

typedef struct fsk__sup fsk__sup_t;

/* A supervisor for spec, counting on the stats page at stats_path (created
 * or attached here, as the shim does).  0 or a negative errno. */
int fsk__sup_new(fsk__sup_t **out, const inj_spec_t *spec, const char *stats_path);
/* Start argv as fsk__target_spawn does (fdsoak's process group and stdio,
 * PR_SET_PDEATHSIG, cgroup or /proc tracking; t from fsk__target_init),
 * with the filter installed last before exec and the listener handed to
 * this process; then serve it in a thread.  0 or a positive errno; err
 * says what failed. */
int fsk__sup_spawn(fsk__sup_t *s, fsk__target_t *t, char *const argv[], char *err, size_t errlen);
/* Record the attempt, the fd and the stack (Go: gosym.h, else C: csym.h)
 * of every open and socket call of the tree that goes through: call before
 * fsk__sup_spawn (it widens the filter). */
void fsk__sup_track(fsk__sup_t *s);
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
