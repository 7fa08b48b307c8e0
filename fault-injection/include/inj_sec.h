/* inj_sec.h - what the shim and fdsoak's seccomp engine (harness
 * supervise.c) share: which programs LD_PRELOAD cannot reach (from the
 * ELF), the system calls of each op per architecture, and the filter that
 * sends them to the supervisor.  Pure code (sec.c, in inj_spec and in the
 * shim): raw system calls only, no allocation, so the shim can run it just
 * before an exec without its own hooks recursing.  Not installed. */
#ifndef INJ_SEC_H
#define INJ_SEC_H

#include <linux/filter.h>
#include <stddef.h>
#include <stdint.h>

/* What kind of program a file is (bits).  A file that is not ELF (a script)
 * is 0: its interpreter is dynamic as far as anyone can tell. */
#define INJ_ELF_IS 1     /* an ELF file */
#define INJ_ELF_STATIC 2 /* no PT_INTERP: no dynamic loader, so no LD_PRELOAD */
#define INJ_ELF_GO 4     /* a .go.buildinfo section: Go makes its own syscalls */
int inj_sec_elf_kind(int fd);

/* In a filter's op mask (beside the 1 << INJ_OP_* bits): getpeername too
 * (a reset(N) rule: the socket is connected to fdsoak's listener, and its
 * peer must still be the address the program dialled). */
#define INJ_SEC_PEERNAME (1u << 15)
/* And getsockopt (an unreachable rule: SO_ERROR reports the modelled
 * errno for the socket whose fault was made of another kernel error). */
#define INJ_SEC_SOCKOPT (1u << 16)

/* The filter for the ops in opmask into f[cap]: per architecture (x86-64,
 * arm64), each notified number returns USER_NOTIF, io_uring_setup ENOSYS,
 * everything else ALLOW.  The number of instructions, or -ENOSPC. */
int inj_sec_build(uint32_t opmask, struct sock_filter *f, int cap);

/* The op (INJ_OP_*) of a notified call of architecture audit_arch, with
 * *path_arg set to where an open call's path is; INJ_SEC_GETPEERNAME for a
 * getpeername; -1 for anything else or an unknown architecture. */
#define INJ_SEC_GETPEERNAME 100
#define INJ_SEC_GETSOCKOPT 101
int inj_sec_op_of(uint32_t audit_arch, int nr, int *path_arg);

/* Install prog with a new listener, waiting killably where the kernel can
 * (Linux 5.19; *killable is cleared where not), and with no_new_privs where
 * fdsoak lacks CAP_SYS_ADMIN (*nnp is set then: it holds for the whole tree
 * from here on).  The listener fd, or -errno.  Raw system calls only: safe
 * in a vfork or fork child before exec, and never through the shim's own
 * hooks. */
long inj_sec_install(const struct sock_fprog *prog, int *killable, int *nnp);

/* Send len bytes of data on the connected unix socket sock, with fd as
 * SCM_RIGHTS when fd >= 0 (no SIGPIPE).  0 or -errno.  Raw system calls. */
int inj_sec_send(int sock, const void *data, size_t len, int fd);

/* The environment variables of the hand-over through exec (the shim under
 * `--engine auto`): FDSOAK_SUP="NAME:OPMASK" names the abstract unix socket
 * fdsoak takes listeners on and the ops the filter notifies; a process that
 * installed the filter execs with FDSOAK_SUPERVISED=1 in its environment,
 * so a dynamic program below it, where the shim loads again, knows that
 * the supervisor handles its system calls and stands down for them. */
#define INJ_SEC_ENV "FDSOAK_SUP"
#define INJ_SEC_MARK "FDSOAK_SUPERVISED"
/* What the shim sends with the listener (SCM_RIGHTS). */
typedef struct {
  uint32_t magic; /* INJ_SEC_HELLO */
  int32_t pid;    /* the process that installed the filter */
  int32_t nnp;    /* no_new_privs had to be set */
  int32_t killable;
} inj_sec_hello_t;
#define INJ_SEC_HELLO 0x46534b31u

#endif /* INJ_SEC_H */
