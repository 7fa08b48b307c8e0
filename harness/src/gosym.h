/* gosym.h - Go frames with file:line from a program's .gopclntab (gosym.c),
 * for the origins of fds opened under the seccomp engine. */
#ifndef FSK_GOSYM_H
#define FSK_GOSYM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct fsk__gosym fsk__gosym_t;

/* Read the .gopclntab of the Go program at path.  0, -ENOENT, or -ENOEXEC
 * (not a Go 1.18+ program for amd64 or arm64). */
int fsk__gosym_open(const char *path, fsk__gosym_t **out);
void fsk__gosym_free(fsk__gosym_t *g);

/* The program's own frames of thread tid, stopped at pc with stack pointer
 * sp: "main.openStore (main.go:25) <- main.main (main.go:70)", innermost
 * first, the runtime's and the standard library's frames below the first
 * frame of the program left out.  Returns the number of frames written. */
int fsk__gosym_stack(const fsk__gosym_t *g, pid_t tid, uint64_t pc, uint64_t sp, char *buf,
                     size_t len);

/* The same from pcs the kernel captured (eBPF bpf_get_stack, frame
 * pointers): pcs[0] where the thread entered the kernel, then return
 * addresses.  Returns the number of frames written. */
int fsk__gosym_pcs(const fsk__gosym_t *g, const uint64_t *pcs, int n, char *buf, size_t len);

/* The function and file:line of pc, as `go tool addr2line` prints them:
 * "main.openStore (/src/main.go:25)".  0, or -ENOENT (no function there). */
int fsk__gosym_name(const fsk__gosym_t *g, uint64_t pc, char *buf, size_t len);

/* Copy len bytes at addr out of thread tid (fsk__peek), or into it
 * (fsk__poke): 0 or a negative errno.  process_vm_readv/writev, or
 * /proc/TID/mem once those are refused: a container's seccomp profile
 * (Docker's default without CAP_SYS_PTRACE) fails them with EPERM, while
 * the same ptrace check lets fdsoak open its own child's mem file. */
int fsk__peek(pid_t tid, uint64_t addr, void *buf, size_t len);
int fsk__poke(pid_t tid, uint64_t addr, const void *buf, size_t len);
/* 1 once process_vm_readv/writev were refused and /proc/TID/mem is used. */
int fsk__peek_fallback(void);

#endif
