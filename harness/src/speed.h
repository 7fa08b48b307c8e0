/* speed.h - `fdsoak watch --speed N`: the target's clocks run N times
 * faster, fdsoak's own do not (speed.c; docs: README "Virtual time"). */
#ifndef FSK_SPEED_H
#define FSK_SPEED_H

#include <stddef.h>
#include <sys/types.h>

/* The largest factor accepted: beyond it a microsecond of real work is
 * a virtual second and no verdict stays right. */
#define FSK_SPEED_MAX 1e6

/* Parse --speed's value into *out (> 1, <= FSK_SPEED_MAX).  0, or -EINVAL
 * with why in err. */
int fsk__speed_parse(const char *v, double *out, char *err, size_t len);
/* Where libfaketime's multi-threaded library is (FDSOAK_FAKETIME_LIB
 * overrides).  0, or -ENOENT with the paths tried in buf. */
int fsk__speed_faketime_path(char *buf, size_t len);
/* 1 when fdsoak itself runs under libfaketime (its LD_PRELOAD names it and
 * FAKETIME is set): its own clocks would then race with the target's. */
int fsk__speed_self_faked(void);
/* 1 when cmd (found on PATH, or a script's interpreter) is a statically
 * linked ELF (no PT_INTERP): no preload reaches it.  why gets one line. */
int fsk__speed_static(const char *cmd, char *why, size_t len);
/* The child's environment: the current one (whose LD_PRELOAD already
 * holds the shim) with libfaketime after the shim, FAKETIME="+0 xN" and
 * FDSOAK_SPEED=N.  NULL when out of memory; free with fsk__speed_envp_free. */
char **fsk__speed_envp(double speed, const char *faketime_lib);
void fsk__speed_envp_free(char **envp);
/* Remove the shared memory libfaketime's first process (root) made for
 * the tree's common clock, which it leaves behind when it is killed. */
void fsk__speed_cleanup(pid_t root);

#endif /* FSK_SPEED_H */
