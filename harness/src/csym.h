/* csym.h - native (C) frames with file:line of a thread stopped in the
 * kernel, unwound from the program's DWARF call frame information
 * (csym.c), for the origins of fds opened under the seccomp engine by
 * programs that are not Go (static C programs above all). */
#ifndef FSK_CSYM_H
#define FSK_CSYM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct fsk__csym fsk__csym_t;

/* The modules of process pid (its maps, read now) and their unwind
 * tables.  0, or a negative errno (-ENOENT: the process is gone, -ENOEXEC:
 * elfutils cannot unwind this architecture). */
int fsk__csym_open(pid_t pid, fsk__csym_t **out);
void fsk__csym_free(fsk__csym_t *c);

/* The frames of thread tid of that process, stopped at pc with stack
 * pointer sp (from /proc/TID/syscall; no other register is known):
 * "store_open (/src/store.c:25) <- attempt (/src/loop.c:40) <- main
 * (/src/loop.c:70)", innermost first.  The C library's frames above the
 * program's first frame with a source line are left out; without any line
 * (no -g) from the first frame whose name is not the library's; without
 * symbols (stripped) "prog+0x1a2b", and *named is 0.  Returns the number of
 * frames written (0: the unwind found nothing). */
int fsk__csym_stack(fsk__csym_t *c, pid_t tid, uint64_t pc, uint64_t sp, char *buf, size_t len,
                    int *named);

#endif
